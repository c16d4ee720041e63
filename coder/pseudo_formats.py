"""Reading identifiers out of, and writing pseudonymised copies of, each transcript format. Pure: bytes
in, bytes out.

A copy keeps everything but the words the key replaces: a caption file's numbering and timings, a
Word file's paragraphs, runs, tables and styles, a CSV's header, columns and separator, and a text
file's line endings and byte-order mark. Only speech, speaker names, notes and cell values change.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

from coder.captions import TIMING_LINE
from coder.errors import InputError
from coder.pseudonym_key import Key
from coder.pseudonymise import Piece
from coder.transcripts import csv_dialect, csv_records, decode

_TAGS = re.compile(r"<[^>]*>")
_CORE = ("author", "last_modified_by", "title", "subject", "comments", "keywords", "category")


def pieces(name: str, fmt: str, data: bytes) -> list[Piece]:
    """The text to search, one piece per line (text), cue line (captions), paragraph (Word) or cell (CSV)."""
    if fmt == "docx":
        return [Piece(f"{name}:{i}", p) for i, p in enumerate(_docx_texts(data, name), start=1) if p.strip()]
    text = decode(data, name)
    if fmt == "csv":
        rows = _csv_rows(text, name)[0]
        return [Piece(f"{name}:{r}", cell) for r, row in enumerate(rows[1:], start=2) for cell in row if cell.strip()]
    out = []
    lines = text.split("\n")
    frames = _frames(lines) if fmt in ("vtt", "srt") else set()
    for i, line in enumerate(lines, start=1):
        if line.strip() and i not in frames:  # voice tags go: speaker names are found from the turns
            out.append(Piece(f"{name}:{i}", _TAGS.sub(" ", line) if fmt == "vtt" else line))
    return out


def rewrite(name: str, fmt: str, data: bytes, key: Key, counts: dict[str, int] | None = None) -> bytes:
    """The file with every original in ``key`` replaced; ``counts`` gets the replacements per original."""
    if fmt == "docx":
        return _docx_rewrite(data, name, lambda s: key.apply(s, counts), lambda s: key.spans(s, counts))
    bom = data.startswith(b"\xef\xbb\xbf")
    text = decode(data, name, newlines=False)
    if fmt == "csv":
        out = _csv_rewrite(text, name, lambda s: key.apply(s, counts))
    elif fmt in ("vtt", "srt"):
        lines = text.splitlines(keepends=True)
        frames = _frames(lines)
        out = "".join(line if i in frames else key.apply(line, counts) for i, line in enumerate(lines, start=1))
    else:
        out = key.apply(text, counts)
    return ("\ufeff" if bom else "").encode("utf-8") + out.encode("utf-8")


def _frames(lines: list[str]) -> set[int]:
    """Line numbers of a caption file that carry no words: the header, cue numbers or identifiers (the
    line before a timing line), and timing lines."""
    out = {1} if lines and lines[0].lstrip("\ufeff").startswith("WEBVTT") else set()
    for i, line in enumerate(lines, start=1):
        if TIMING_LINE.match(line):  # a number elsewhere is words: a phone number alone on a line is replaced
            out.add(i)
            if i > 1 and lines[i - 2].strip():
                out.add(i - 1)
    return out


# -- CSV ----------------------------------------------------------------------------------------------------
def _csv_rows(text: str, name: str) -> tuple[list[list[str]], Any]:
    """The rows, split on the separator (',' ';' or tab) that gives the header the most columns."""
    dialect: Any = csv_dialect(text)
    return csv_records(text, dialect, name), dialect


def _csv_rewrite(text: str, name: str, swap: Callable[[str], str]) -> str:
    """Every cell but the header's, written back with the file's separator, quote and line ending."""
    rows, dialect = _csv_rows(text, name)
    ending = "\r\n" if "\r\n" in text else "\n"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=dialect.delimiter, quotechar=dialect.quotechar or '"', lineterminator=ending)
    for i, row in enumerate(rows):
        writer.writerow(row if i == 0 else [swap(cell) for cell in row])
    result = out.getvalue()
    return result if text.endswith(("\n", "\r")) else result[: -len(ending)]


# -- Word ---------------------------------------------------------------------------------------------------
def _document(data: bytes, name: str) -> Any:
    import zipfile

    try:
        import docx  # python-docx

        return docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises assorted errors on damaged parts
        why = type(e).__name__ if isinstance(e, (zipfile.BadZipFile, KeyError, ValueError)) else e
        hint = "open it in Word or LibreOffice and save it again as .docx"
        raise InputError(f"not a readable .docx file ({why})", path=name, hint=hint) from None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _word_parts(document: Any) -> Iterator[Any]:
    """Every part with paragraphs: the body, all headers and footers (first-page and even-page ones too),
    footnotes, endnotes and comments."""
    seen = set()
    for part in document.part.package.iter_parts():
        element = getattr(part, "_element", None)
        if element is not None and id(part) not in seen:
            seen.add(id(part))
            yield part


def _paragraph_texts(element: Any) -> Iterator[list[Any]]:
    """For each paragraph, its text elements in order: runs, hyperlinks, tracked insertions and deletions."""
    for paragraph in element.iter(f"{_W}p"):
        texts = [t for t in paragraph.iter(f"{_W}t", f"{_W}delText") if _own(t, paragraph)]
        if texts:
            yield texts


def _own(text: Any, paragraph: Any) -> bool:
    """Whether a text element belongs to this paragraph, not to one nested in it (a text box)."""
    parent = text.getparent()
    while parent is not None and parent.tag != f"{_W}p":
        parent = parent.getparent()
    return parent is paragraph


def _hyperlinks(part: Any) -> list[Any]:
    return [r for r in part.rels.values() if r.is_external and r.reltype.endswith("/hyperlink")]


def _docx_texts(data: bytes, name: str) -> list[str]:
    document = _document(data, name)
    out = []
    for part in _word_parts(document):
        out += ["".join(t.text or "" for t in texts) for texts in _paragraph_texts(part._element)]
        out += [r.target_ref for r in _hyperlinks(part)]
    core = document.core_properties
    return out + [str(getattr(core, f) or "") for f in _CORE]


def _docx_rewrite(
    data: bytes, name: str, swap: Callable[[str], str], find: Callable[[str], list[tuple[int, int, str]]]
) -> bytes:
    document = _document(data, name)
    for part in _word_parts(document):
        for texts in _paragraph_texts(part._element):
            _swap_texts(texts, find)
        for rel in _hyperlinks(part):  # "mailto:kaz@…" behind a link
            rel._target = swap(rel.target_ref)
    core = document.core_properties
    for field in _CORE:
        value = getattr(core, field)
        if value:
            setattr(core, field, swap(value))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _swap_texts(texts: list[Any], find: Callable[[str], list[tuple[int, int, str]]]) -> None:
    """Replace across a paragraph's text elements: text outside a match stays in its element (its run's
    formatting, breaks and fields untouched); a name split over runs ("Karen" plain, "Whitfield" bold) is
    written into the element it starts in and cut from the others."""
    values = [t.text or "" for t in texts]
    whole = "".join(values)
    matches = find(whole)
    if not matches:
        return
    start = 0
    for element, text in zip(texts, values, strict=True):
        end = start + len(text)
        parts: list[str] = []
        pos = start
        for a, b, pseudonym in matches:
            if b <= start or a >= end:
                continue
            if a > pos:
                parts.append(whole[pos:a])
            if a >= start:
                parts.append(pseudonym)
            pos = max(pos, min(b, end))
        parts.append(whole[pos:end])
        new = "".join(parts)
        if new != text:
            element.text = new
            element.set(_XML_SPACE, "preserve")
        start = end


def leaks(name: str, fmt: str, data: bytes, key: Key) -> list[str]:
    """Where a key's original is still in a copy (``name:line``): none, or the copy is not written."""
    if not key.entries:
        return []
    return [p.where for p in pieces(name, fmt, data) if key.pattern().search(p.text)]
