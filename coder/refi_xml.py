"""XML for REFI-QDA, pure: parsing untrusted files safely (no DTD, entities or network; namespace
spellings normalised to the standard's), the check against the official Project.xsd, unique GUIDs, and
text that XML can carry. ``coder.refi`` builds the codebook and project documents on these."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from coder.errors import InputError

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
MAX_XML_BYTES = 512 * 1024**2

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Text XML can carry: control characters (a stray backspace or escape in a memo) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


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
