"""REFI-QDA (QDA-XML 1.0) exchange, pure: codebooks and projects to and from XML, and safe reading of
``.qdpx`` archives. No database here; ``coder.exchange`` moves the data in and out of a project.

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
from coder.types import Code, Codebook

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
# spellings tools actually write, mapped to the standard's
NAMESPACES = {
    PROJECT_NS: PROJECT_NS,
    "urn:QDA-XML:project:1:0": PROJECT_NS,
    CODEBOOK_NS: CODEBOOK_NS,
    "urn:QDA-XML:codebook:1:0": CODEBOOK_NS,
    "urn:QDA-XML:codebook:0:4": CODEBOOK_NS,
}
SCHEMA = Path(__file__).parent / "schemas" / "Project-mrt2019.xsd"
GUID_NS = uuid.UUID("6f1c2a8e-5d0b-4c7e-9a51-3b2f7e0c9d14")  # coder's namespace for stable GUIDs

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 2 * 1024**3  # uncompressed, all entries together
MAX_XML_BYTES = 512 * 1024**2


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Text XML can carry: control characters (a stray backspace or escape in a memo) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def guid(*parts: object) -> str:
    """A stable GUID for a thing named by ``parts`` (same input, same GUID, on every export)."""
    return str(uuid.uuid5(GUID_NS, "\x1f".join(str(p) for p in parts))).upper()


# -- the Description layout: a code's definition and criteria in REFI's one text field ---------------------

HEADINGS = ("Include:", "Exclude:", "Examples:", "Counterexamples:", "Source:")


def describe(code: Code) -> str:
    """Definition, criteria, examples and source as readable text that :func:`parse_description` inverts.

    Layout: the definition; then ``Include: …``, ``Exclude: …``, ``Examples:`` and
    ``Counterexamples:`` with one ``- example`` per line, ``Source: …``. Continuation lines of a value
    are indented two spaces; a definition line that would read as a heading starts with a backslash.
    """

    def block(text: str) -> list[str]:
        lines = text.split("\n")
        return [lines[0], *("  " + x for x in lines[1:])]

    out = []
    for line in code.definition.split("\n"):
        out.append("\\" + line if line.startswith(("\\", "- ", " ", *HEADINGS)) else line)
    sections: list[list[str]] = []
    for heading, value in (("Include:", code.include), ("Exclude:", code.exclude)):
        if value:
            first, *rest = block(value)
            sections.append([f"{heading} {first}", *rest])
    for heading, items in (("Examples:", code.examples), ("Counterexamples:", code.counterexamples)):
        if items:
            lines = [heading]
            for item in items:
                first, *rest = block(item)
                lines += [f"- {first}", *rest]
            sections.append(lines)
    if code.source:
        first, *rest = block(code.source)
        sections.append([f"Source: {first}", *rest])
    return "\n".join(out + [""] + [line for s in sections for line in s]) if sections else "\n".join(out)


def parse_description(text: str) -> dict[str, Any]:
    """definition, include, exclude, examples, counterexamples, source from a Description.

    Text that does not follow the layout (e.g. from another tool) becomes the definition as it is.
    """
    out: dict[str, Any] = {
        "definition": "",
        "include": "",
        "exclude": "",
        "examples": [],
        "counterexamples": [],
        "source": "",
    }
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    definition: list[str] = []
    i = 0
    while i < len(lines) and not lines[i].startswith(HEADINGS):
        line = lines[i]
        definition.append(line[1:] if line.startswith("\\") else line)
        i += 1
    if i < len(lines) and definition and definition[-1] == "":
        definition.pop()  # the blank line before the first heading
    out["definition"] = "\n".join(definition).strip("\n") if i < len(lines) else "\n".join(definition)
    current: str | None = None
    target: list[str] | None = None
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(("Include:", "Exclude:", "Source:")):
            current = line.split(":", 1)[0].lower()
            out[current] = line.split(":", 1)[1][1:] if len(line.split(":", 1)[1]) else ""
            target = None
        elif line in ("Examples:", "Counterexamples:"):
            current = line[:-1].lower()
            target = out[current]
        elif target is not None and line.startswith("- "):
            target.append(line[2:])
        elif line.startswith("  ") and current is not None:
            if target is not None and target:
                target[-1] += "\n" + line[2:]
            elif target is None:
                out[current] += "\n" + line[2:]
        elif line.strip():  # not our layout after all: keep everything as the definition
            return {**parse_description(""), "definition": text.strip()}
    return out


# -- safe XML ------------------------------------------------------------------------------------------------


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=True
    )


def parse_xml(data: bytes, where: str) -> Any:
    """Parse untrusted XML: no DTD (refused), no entities, no network; namespaces normalised.

    ``huge_tree`` only lifts libxml2's limit on one text node (a long inline source); entity
    expansion, which that limit also guards, cannot happen without a DTD.
    """
    from lxml import etree

    if len(data) > MAX_XML_BYTES:
        raise InputError(f"XML larger than {MAX_XML_BYTES // 1024**2} MB", path=where, hint="is this a REFI-QDA file?")
    head = data[:65536]
    if any(m in head for m in (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))):
        raise InputError(
            "the XML declares a DOCTYPE, which REFI-QDA files never need",
            path=where,
            line=1 + head[: head.find(b"<!DOCTYPE")].count(b"\n") if b"<!DOCTYPE" in head else None,
            hint="refused for safety (entities); export the file again from its tool",
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        line = e.lineno if e.lineno else None
        msg = re.sub(r",? line \d+, column \d+", "", str(e.msg or e)).strip()
        raise InputError(f"not well-formed XML ({msg})", path=where, line=line, hint="the file is damaged") from None
    if root.getroottree().docinfo.doctype:  # in an encoding the check above did not read
        raise InputError(
            "the XML declares a DOCTYPE, which REFI-QDA files never need",
            path=where,
            hint="refused for safety (entities); export the file again from its tool",
        )
    _normalise(root)
    return root


def _normalise(root: Any) -> None:
    """Rename the namespace spellings tools write (``…:1:0``, no namespace) to the standard's."""
    target = PROJECT_NS if _local(root.tag) == "Project" else CODEBOOK_NS
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ns, local = _split(el.tag)
        if ns is None or ns in NAMESPACES:
            el.tag = f"{{{target if ns is None else NAMESPACES[ns]}}}{local}"
    from lxml import etree

    etree.cleanup_namespaces(root)


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return None, tag


def _local(tag: str) -> str:
    return _split(tag)[1]


_SCHEMA: Any = None


def _schema() -> Any:
    global _SCHEMA
    if _SCHEMA is None:
        from lxml import etree

        _SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA), _parser()))
    return _SCHEMA


def validate_project(
    root: Any, where: str, hint: str = "the file is damaged or was not written by a REFI-QDA tool"
) -> None:
    """Check a Project element against the official REFI-QDA Project.xsd; one line on failure."""
    schema = _schema()
    if not schema.validate(root):
        err = schema.error_log[0]
        msg = re.sub(r"\{urn:[^}]*\}", "", err.message)
        raise InputError(f"does not follow the REFI-QDA schema: {msg}", path=where, line=err.line or None, hint=hint)


def validate_codebook(
    root: Any, where: str, hint: str = "the file is damaged or was not written by a REFI-QDA tool"
) -> None:
    """Check a CodeBook's codes against the official schema (its CodeBookType, via a Project wrapper).

    The official Codebook.xsd is not available offline; Project.xsd's CodeBookType describes the
    same ``Codes``/``Code`` structure. ``Sets`` (code groups) are read leniently and not validated.
    """
    from copy import deepcopy

    from lxml import etree

    codes = root.find(f"{{{CODEBOOK_NS}}}Codes")
    if codes is None:
        raise InputError("no <Codes> in the codebook", path=where, hint="is this a REFI-QDA codebook (.qdc)?")
    project = etree.Element(f"{{{PROJECT_NS}}}Project", name="codebook", nsmap={None: PROJECT_NS})
    book = etree.SubElement(project, f"{{{PROJECT_NS}}}CodeBook")
    copy = deepcopy(codes)
    for el in copy.iter():
        if isinstance(el.tag, str):
            el.tag = f"{{{PROJECT_NS}}}{_local(el.tag)}"
    book.append(copy)
    schema = _schema()
    if not schema.validate(project):
        err = schema.error_log[0]
        msg = re.sub(r"\{urn:[^}]*\}", "", err.message)
        line = None
        bad = codes.xpath("descendant-or-self::*")  # same order as in the copy
        for original, copied in zip(bad, copy.xpath("descendant-or-self::*"), strict=False):
            if copied.sourceline == err.line:
                line = original.sourceline
                break
        raise InputError(f"does not follow the REFI-QDA schema: {msg}", path=where, line=line, hint=hint)


# -- codebooks ------------------------------------------------------------------------------------------------


def code_guid(code: Code) -> str:
    return code.guid or guid("code", code.path)


def origin_of(book: Codebook) -> str:
    """``origin`` names the tool; coder adds the codebook's name and version (REFI has no field for them)."""
    import json

    from coder import __version__

    name, version = json.dumps(book.name, ensure_ascii=False), json.dumps(book.version, ensure_ascii=False)
    return xml_safe(f"coder {__version__} (codebook {name} version {version})")


ORIGIN = re.compile(r'codebook (?P<name>"(?:[^"\\]|\\.)*") version (?P<version>"(?:[^"\\]|\\.)*")\)$')


def codebook_name(origin: str) -> tuple[str, str] | None:
    """The codebook name and version coder wrote into ``origin``, if it did."""
    import json

    m = ORIGIN.search(origin or "")
    if m is None:
        return None
    try:
        return json.loads(m.group("name")), json.loads(m.group("version"))
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


def check_unique_guids(root: Any, where: str) -> None:
    """Every element's ``guid`` must be unique in a file (the schema cannot say so)."""
    seen: dict[str, int | None] = {}
    for el in root.iter():
        g = el.get("guid") if isinstance(el.tag, str) else None
        if g is None:
            continue
        key = g.strip("{}").upper()
        if key in seen:
            raise InputError(
                f"GUID {g} is used twice (first at line {seen[key]})",
                path=where,
                line=el.sourceline,
                hint="each code, source, selection and coding needs its own GUID",
            )
        seen[key] = el.sourceline


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
