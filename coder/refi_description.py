"""The REFI-QDA code ``Description`` layout, pure: coder's definition, criteria, examples, source,
``exclusive`` and ``formerly`` in the one text field QDA-XML has for them, written so that other tools show readable
text and coder reads back the same fields."""

from __future__ import annotations

from typing import Any

from coder.codebook import formerly_entries
from coder.types import Code

HEADINGS = ("Include:", "Exclude:", "Examples:", "Counterexamples:", "Source:", "Exclusive:", "Formerly:")
EXCLUSIVE = "Exclusive: yes (exactly one subcode applies per unit)"


def describe(code: Code) -> str:
    """Definition, criteria, examples, source, ``exclusive`` and ``formerly`` as readable text that
    :func:`parse_description` inverts.

    Layout: the definition; then ``Include: …``, ``Exclude: …``, ``Examples:`` and
    ``Counterexamples:`` with one ``- example`` per line, ``Source: …``, and for an exclusive code
    the line :data:`EXCLUSIVE`, and ``Formerly: a; b`` with the code's old names or paths as
    ``formerly`` writes them. Continuation lines of a value are indented two spaces; a definition line
    that would read as a heading starts with a backslash.
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
    if code.exclusive:
        sections.append([EXCLUSIVE])
    if code.formerly:
        sections.append([f"Formerly: {'; '.join(formerly_entries(code))}"])  # as the YAML writes them
    return "\n".join(out + [""] + [line for s in sections for line in s]) if sections else "\n".join(out)


def parse_description(text: str) -> dict[str, Any]:
    """definition, include, exclude, examples, counterexamples, source from a Description, and
    ``exclusive: True`` when it has the :data:`EXCLUSIVE` line and ``formerly`` (a list of old paths) when it
    has a ``Formerly:`` line (each key is absent otherwise).

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
        if line.startswith("Exclusive:"):
            if line.split(":", 1)[1].split()[:1] != ["yes"]:  # not ours: a definition line from another tool
                return {**parse_description(""), "definition": text.strip()}
            out["exclusive"] = True
            current, target = None, None
        elif line.startswith("Formerly:"):
            out["formerly"] = [x.strip() for x in line.split(":", 1)[1].split(";") if x.strip()]
            current, target = None, None
        elif line.startswith(("Include:", "Exclude:", "Source:")):
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
