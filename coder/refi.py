"""REFI-QDA (QDA-XML 1.0) exchange, pure: codebooks and projects to and from XML, and safe reading of
``.qdpx`` archives. No database here; ``coder.app.refi_import`` and ``coder.app.refi_export`` move the
data in and out of a project. Safe XML parsing and the schema check live in ``coder.refi_xml``, the
code ``Description`` layout in ``coder.refi_description``; their names are importable from here too.

A ``.qdc`` is a ``CodeBook`` document; a ``.qdpx`` is a zip with ``project.qde`` (a ``Project``
document) and ``sources/`` (one plain-text file per text source). Positions in a
``PlainTextSelection`` count characters (Unicode code points) of the source's plain text.

Everything read comes from other people's machines, so reading is defensive: no DTDs, entities or
network access in the XML parser, limits on the archive's size and entry count, no entry name that
points outside the archive, and each problem is a one-line :class:`~coder.errors.InputError`
naming the part of the file (``study.qdpx/project.qde:12``).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from coder.errors import InputError
from coder.refi_description import HEADINGS as HEADINGS
from coder.refi_description import describe as describe
from coder.refi_description import parse_description as parse_description
from coder.refi_xml import CODEBOOK_NS as CODEBOOK_NS
from coder.refi_xml import MAX_XML_BYTES as MAX_XML_BYTES
from coder.refi_xml import NAMESPACES as NAMESPACES
from coder.refi_xml import PROJECT_NS as PROJECT_NS
from coder.refi_xml import SCHEMA as SCHEMA
from coder.refi_xml import _local as _local
from coder.refi_xml import _parser as _parser
from coder.refi_xml import check_unique_guids as check_unique_guids
from coder.refi_xml import parse_xml as parse_xml
from coder.refi_xml import validate_codebook as validate_codebook
from coder.refi_xml import validate_project as validate_project
from coder.refi_xml import xml_safe as xml_safe
from coder.types import Code, Codebook

GUID_NS = uuid.UUID("6f1c2a8e-5d0b-4c7e-9a51-3b2f7e0c9d14")  # coder's namespace for stable GUIDs

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 2 * 1024**3  # uncompressed, all entries together


def guid(*parts: object) -> str:
    """A stable GUID for a thing named by ``parts`` (same input, same GUID, on every export)."""
    return str(uuid.uuid5(GUID_NS, "\x1f".join(str(p) for p in parts))).upper()


# -- codebooks ------------------------------------------------------------------------------------------------


def code_guid(code: Code) -> str:
    return code.guid or guid("code", code.path)


def origin_of(book: Codebook) -> str:
    """``origin`` names the tool; coder adds the codebook's name and version, and ``exclusive`` for an
    exclusive codebook (REFI has no field for them)."""
    import json

    from coder import __version__

    name, version = json.dumps(book.name, ensure_ascii=False), json.dumps(book.version, ensure_ascii=False)
    flag = " exclusive" if book.exclusive else ""
    return xml_safe(f"coder {__version__} (codebook {name} version {version}{flag})")


ORIGIN = re.compile(
    r'codebook (?P<name>"(?:[^"\\]|\\.)*") version (?P<version>"(?:[^"\\]|\\.)*")(?P<exclusive> exclusive)?\)$'
)


def codebook_name(origin: str) -> tuple[str, str, bool] | None:
    """The codebook name, version and whether it is exclusive, as coder wrote them into ``origin``, if it did."""
    import json

    m = ORIGIN.search(origin or "")
    if m is None:
        return None
    try:
        return json.loads(m.group("name")), json.loads(m.group("version")), bool(m.group("exclusive"))
    except ValueError:
        return None


def codes_xml(parent: Any, book: Codebook, ns: str, path: str | None = None) -> None:
    from lxml import etree

    for c in book.children(path):
        el = etree.SubElement(parent, f"{{{ns}}}Code", guid=code_guid(c), name=xml_safe(c.name), isCodable="true")
        etree.SubElement(el, f"{{{ns}}}Description").text = xml_safe(describe(c))
        codes_xml(el, book, ns, c.path)


def codebook_xml(book: Codebook) -> bytes:
    """A ``.qdc`` document."""
    from lxml import etree

    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=origin_of(book))
    codes_xml(etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes"), book, CODEBOOK_NS)
    check_unique_guids(root, "the .qdc coder wrote")
    validate_codebook(root, "the .qdc coder wrote", hint=WRITER_BUG)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


WRITER_BUG = "coder wrote something other tools would refuse; nothing was written (please report this)"


@dataclass
class RefiCode:
    guid: str
    name: str
    fields: dict[str, Any]
    line: int | None
    children: list[RefiCode] = field(default_factory=list)


MAX_DEPTH = 50


def read_codes(codes_el: Any, depth: int = 0, where: str = "") -> list[RefiCode]:
    """The code tree under a ``<Codes>`` element (either namespace)."""
    if depth > MAX_DEPTH:
        raise InputError(
            f"codes nested more than {MAX_DEPTH} levels deep",
            path=where or None,
            line=codes_el.sourceline,
            hint="flatten the code tree in its tool and export again",
        )
    out = []
    for el in codes_el:
        if not isinstance(el.tag, str) or _local(el.tag) != "Code":
            continue
        desc = next((d.text or "" for d in el if isinstance(d.tag, str) and _local(d.tag) == "Description"), "")
        out.append(
            RefiCode(
                guid=el.get("guid", "").strip("{}").upper(),
                name=el.get("name", ""),
                fields=parse_description(desc),
                line=el.sourceline,
                children=read_codes(el, depth + 1, where),
            )
        )
    return out


def read_qdc(data: bytes, where: str) -> tuple[list[RefiCode], str]:
    """Parse and validate a ``.qdc``; returns the code tree and the ``origin`` attribute."""
    root = parse_xml(data, where)
    if _local(root.tag) != "CodeBook":
        raise InputError(
            f"the root element is <{_local(root.tag)}>, not <CodeBook>",
            path=where,
            line=root.sourceline,
            hint="a .qdc file holds a REFI-QDA codebook; a whole project is a .qdpx",
        )
    validate_codebook(root, where)
    check_unique_guids(root.find(f"{{{CODEBOOK_NS}}}Codes"), where)
    return read_codes(root.find(f"{{{CODEBOOK_NS}}}Codes"), where=where), root.get("origin", "")


# -- projects -------------------------------------------------------------------------------------------------


@dataclass
class Coding:
    guid: str
    code_guid: str
    user_guid: str | None
    created: str | None
    note_guids: list[str]
    line: int | None


@dataclass
class Selection:
    guid: str
    start: int
    end: int
    user_guid: str | None
    created: str | None
    codings: list[Coding]
    note_guids: list[str]
    line: int | None


@dataclass
class Source:
    guid: str
    name: str
    text: str | None  # None until read from the archive
    plain_path: str | None
    rich_path: str | None
    selections: list[Selection]
    line: int | None


@dataclass
class Note:
    guid: str
    name: str
    text: str
    user_guid: str | None
    created: str | None


@dataclass
class Case:
    guid: str
    name: str
    values: dict[str, str]  # variable name -> value as text
    source_guids: list[str]


@dataclass
class RefiProject:
    name: str
    origin: str
    users: dict[str, str]  # guid -> name
    codes: list[RefiCode]
    sources: list[Source]
    notes: dict[str, Note]
    cases: list[Case]


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str) and _local(c.tag) == name]


def _child(el: Any, name: str) -> Any:
    found = _children(el, name)
    return found[0] if found else None


def _guid(value: str | None) -> str | None:
    return value.strip("{}").upper() if value else None


def _value_text(vv: Any) -> str:
    for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
        v = _child(vv, kind)
        if v is not None:
            return (v.text or "").strip()
    return ""


def read_project_xml(root: Any, where: str = "") -> RefiProject:
    """The parts of a validated ``Project`` that coder uses."""
    users = {}
    if (u := _child(root, "Users")) is not None:
        for user in _children(u, "User"):
            users[_guid(user.get("guid")) or ""] = user.get("name") or user.get("id") or user.get("guid")
    book = _child(root, "CodeBook")
    codes = read_codes(_child(book, "Codes"), where=where) if book is not None else []
    variables = {}
    if (vs := _child(root, "Variables")) is not None:
        variables = {_guid(v.get("guid")): v.get("name", "") for v in _children(vs, "Variable")}
    cases = []
    if (cs := _child(root, "Cases")) is not None:
        for case in _children(cs, "Case"):
            values = {}
            for vv in _children(case, "VariableValue"):
                ref = _child(vv, "VariableRef")
                name = variables.get(_guid(ref.get("targetGUID")) if ref is not None else None)
                if name:
                    values[name] = _value_text(vv)
            cases.append(
                Case(
                    _guid(case.get("guid")) or "",
                    case.get("name") or "",
                    values,
                    [_guid(r.get("targetGUID")) or "" for r in _children(case, "SourceRef")],
                )
            )
    notes = {}
    if (ns := _child(root, "Notes")) is not None:
        for n in _children(ns, "Note"):
            content = _child(n, "PlainTextContent")
            g = _guid(n.get("guid")) or ""
            notes[g] = Note(
                g,
                n.get("name") or "",
                (content.text or "") if content is not None else "",
                _guid(n.get("creatingUser")),
                n.get("creationDateTime"),
            )
    sources = []
    if (ss := _child(root, "Sources")) is not None:
        for s in _children(ss, "TextSource"):
            content = _child(s, "PlainTextContent")
            selections = []
            for sel in _children(s, "PlainTextSelection"):
                codings = [
                    Coding(
                        _guid(c.get("guid")) or "",
                        _guid(_child(c, "CodeRef").get("targetGUID")) or "",
                        _guid(c.get("creatingUser")) or _guid(sel.get("creatingUser")),
                        c.get("creationDateTime") or sel.get("creationDateTime"),
                        [_guid(r.get("targetGUID")) or "" for r in _children(c, "NoteRef")],
                        c.sourceline,
                    )
                    for c in _children(sel, "Coding")
                ]
                selections.append(
                    Selection(
                        _guid(sel.get("guid")) or "",
                        int(sel.get("startPosition")),
                        int(sel.get("endPosition")),
                        _guid(sel.get("creatingUser")),
                        sel.get("creationDateTime"),
                        codings,
                        [_guid(r.get("targetGUID")) or "" for r in _children(sel, "NoteRef")],
                        sel.sourceline,
                    )
                )
            sources.append(
                Source(
                    _guid(s.get("guid")) or "",
                    s.get("name") or "",
                    (content.text or "") if content is not None else None,
                    s.get("plainTextPath"),
                    s.get("richTextPath"),
                    selections,
                    s.sourceline,
                )
            )
    return RefiProject(root.get("name", ""), root.get("origin", ""), users, codes, sources, notes, cases)


# -- archives -------------------------------------------------------------------------------------------------


class Archive:
    """A ``.qdpx`` opened for reading with limits: nothing is extracted to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise InputError("file not found", path=path, hint="check the path") from None
        except (zipfile.BadZipFile, OSError) as e:
            raise InputError(
                f"not a readable zip archive ({e})", path=path, hint="a .qdpx is a zip; the file may be truncated"
            ) from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise InputError(
                f"the archive has {len(infos):,} entries (the limit is {MAX_ENTRIES:,})",
                path=path,
                hint="refused as a possible zip bomb",
            )
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_BYTES:
            raise InputError(
                f"the archive unpacks to {declared / 1024**2:,.0f} MB "
                f"(the limit is {MAX_TOTAL_BYTES / 1024**2:,.0f} MB)",
                path=path,
                hint="refused as a possible zip bomb",
            )
        self.names: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", name):
                raise InputError(
                    f"archive entry '{name}' points outside the archive",
                    path=path,
                    hint="refused for safety (zip-slip); nothing was imported",
                )
            self.names[str(pure)] = info
        self.read_total = 0

    def find(self, name: str) -> str | None:
        """An entry by name, ignoring case and a leading folder (tools differ)."""
        want = name.replace("\\", "/").lower()
        for n in self.names:
            if n.lower() == want or n.lower().endswith("/" + want):
                return n
        return None

    def charge(self, n: int, where: str) -> None:
        """Count ``n`` more unpacked bytes against the limit (also for zips inside the archive, e.g. .docx)."""
        self.read_total += n
        if self.read_total > MAX_TOTAL_BYTES:
            raise InputError(
                f"the archive unpacks to more than {MAX_TOTAL_BYTES / 1024**2:,.0f} MB",
                path=where,
                hint="refused as a possible zip bomb",
            )

    def read(self, name: str) -> bytes:
        """An entry's bytes, counting what is really decompressed (a header can lie about sizes)."""
        info = self.names[name]
        out = io.BytesIO()
        try:
            with self.zip.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    self.charge(len(chunk), f"{self.path}/{name}")
                    out.write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as e:
            raise InputError(
                f"cannot read this part of the archive ({e})",
                path=f"{self.path}/{name}",
                hint="the file may be truncated",
            ) from None
        return out.getvalue()


def source_entry(archive: Archive, source: Source, attr: str) -> str | None:
    """The archive entry a ``plainTextPath`` / ``richTextPath`` points at (``internal://X`` is ``sources/X``)."""
    value = source.plain_path if attr == "plain" else source.rich_path
    if not value:
        return None
    if value.startswith("internal://"):
        return archive.find("sources/" + value[len("internal://") :])
    return None  # an absolute or relative path on the exporter's machine: not in the archive


def write_archive(path: Path, project_xml: bytes, sources: dict[str, str]) -> None:
    """A ``.qdpx``: ``project.qde`` and ``sources/NAME`` (UTF-8 plain text)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", project_xml)
        for name, text in sources.items():
            z.writestr(f"sources/{name}", text.encode("utf-8"))
