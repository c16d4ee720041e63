"""Read and validate YAML codebooks (pure: text in, :class:`~coder.types.Codebook` out).

Validation collects *every* problem with its line before failing, so a researcher fixes a
codebook in one pass. Format::

    name: resilience
    version: "1.0"
    description: ...
    exclusive: true             # optional: exactly one top-level code applies to every unit
    codes:
      - name: Spirituality / faith
        definition: ...
        include: ...            # optional: when to use
        exclude: ...            # optional: when not to use
        examples: [...]         # optional: utterances that should get the code
        counterexamples: [...]  # optional: near misses
        source: ...             # optional: the study it comes from
        guid: ...               # optional: its REFI-QDA GUID (kept from .qdc/.qdpx imports)
        exclusive: true         # optional: exactly one child applies per unit (needs two or more)
        formerly: [...]         # optional: its old names (or old paths 'A > B'); their decisions follow it
        children: [...]         # optional: subcodes, any depth

``formerly`` is how a codebook evolves without orphaning codings: a renamed code lists its old name,
a code that merges others lists each of theirs (see :mod:`coder.codebook_evolution`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from coder.errors import CodebookError, InputError, Problem
from coder.types import PATH_SEP, Code, Codebook

TOP_KEYS = {"name", "version", "description", "codes", "references", "exclusive"}
CODE_KEYS = {
    "name",
    "definition",
    "include",
    "exclude",
    "examples",
    "counterexamples",
    "source",
    "guid",
    "exclusive",
    "formerly",
    "children",
}
TEXT_KEYS = ("definition", "include", "exclude", "source", "guid")
LIST_KEYS = ("examples", "counterexamples")


def read_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook file; raises :class:`CodebookError` listing every problem."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("codebook file not found", path=p, hint="check the path") from None
    except OSError as e:
        raise InputError(f"cannot read codebook ({e.strerror})", path=p) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError("codebook is not UTF-8 text", path=p, line=line, hint="re-save it as UTF-8") from None
    return parse_codebook(text, source=str(p))


def validate(text: str, source: str = "<codebook>") -> list[Problem]:
    """Every problem in a codebook text (empty list when it is valid)."""
    try:
        parse_codebook(text, source=source)
    except CodebookError as e:
        return e.problems
    return []


def plain_yaml_error(e: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(line, what is wrong in plain words) for a YAML syntax error, instead of the parser's jargon."""
    problem = str(getattr(e, "problem", None) or str(e).splitlines()[0])
    context = str(getattr(e, "context", None) or "")
    mark = getattr(e, "problem_mark", None)
    opened = getattr(e, "context_mark", None)  # where a quote or bracket that never closed began
    line = mark.line + 1 if mark is not None else None
    lines = text.splitlines()
    src = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    before = src[: mark.column] if mark is not None else ""
    started = opened.line + 1 if opened is not None else line
    if "'\\t'" in problem or "tab" in problem:
        return line, "a tab character; indent with spaces"
    quote = _open_quote(lines, mark.line) if mark is not None else None
    if quote is not None and quote < (line or 0):  # a string ran on past its line: the error shows up later
        return quote, "a quote opened on this line is never closed"
    if problem.startswith("expected <block end>"):
        if "<block sequence start>" in problem:
            return line, (
                "this list item ('-') is indented differently from the items above it; "
                "start it in the same column as theirs"
            )
        return line, (
            "this line is indented differently from the lines above it; "
            "start its key in the same column as the keys of the same code"
        )
    if problem == "mapping values are not allowed here":
        if ": " in before:
            return line, (
                "a second ': ' on this line; put the text after the first ':' in quotes, e.g. "
                'definition: "Faith: prayer and church"'
            )
        return line, "this line is indented more than the line above it; line its key up with the keys above"
    if "end of stream" in problem and "quoted" in context:
        return started, "a quote opened on this line is never closed"
    if "could not find expected ':'" in problem:
        return started, "this line has no ':' after its key (or a quote on it is never closed)"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem or "flow" in context:
        upto = mark.line if mark is not None else len(lines) - 1
        for opener, closer in (("[", "]"), ("{", "}")):
            at = _unclosed(lines, upto, opener, closer)
            if at is not None:
                return at, f"a '{opener}' opened on this line is never closed with '{closer}'"
    if "undefined alias" in problem:
        return line, "a value starting with '*' is read as a reference to an anchor; put the text in quotes"
    if "unknown escape character" in problem:
        return line, "a backslash inside double quotes; use single quotes, or write two backslashes"
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return line, f"a value cannot start with {char!r}; put the text in quotes"
    if "while scanning an alias" in context or "while scanning an anchor" in context:
        return line, "a value starting with '*' or '&' needs quotes"
    return line, f"this is not valid YAML here ({problem}); check the indentation and quotes on this line"


def _unknown_key(key: str, allowed: Iterable[str]) -> str:
    """An unknown key, with the allowed one it most looks like ("did you mean 'definition'?")."""
    close = difflib.get_close_matches(str(key).lower(), sorted(allowed), n=1, cutoff=0.7)
    mean = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}' ({mean}allowed: {', '.join(sorted(allowed))})"


def _open_quote(lines: list[str], upto: int) -> int | None:
    """The 1-based line where a double-quoted string still open at line ``upto`` (0-based) began, if any: each line
    with an odd number of unescaped double quotes opens or closes one."""
    start = None
    for i, ln in enumerate(lines[: upto + 1]):
        if (ln.count('"') - ln.count('\\"')) % 2:
            start = i + 1 if start is None else None
    return start


def _unclosed(lines: list[str], upto: int, opener: str, closer: str) -> int | None:
    """The 1-based line of the last ``opener`` not closed by line ``upto`` (0-based), if any."""
    depth, last = 0, None
    for i, ln in enumerate(lines[: upto + 1]):
        for ch in ln:
            if ch == opener:
                depth, last = depth + 1, i + 1
            elif ch == closer and depth:
                depth -= 1
    return last if depth else None


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_codebook(text: str, source: str = "<codebook>") -> Codebook:
    problems: list[Problem] = []

    def problem(node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        problems.append(Problem(source, line, message))

    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)  # libyaml where installed: ~10x faster
    except yaml.YAMLError:
        try:  # the pure-Python parser's messages are the ones plain_yaml_error words
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            line, what = plain_yaml_error(e, text)
            raise CodebookError([Problem(source, line, what)]) from None
    if not isinstance(root, yaml.MappingNode):
        raise CodebookError([Problem(source, 1, "a codebook is a YAML mapping with 'name', 'version' and 'codes'")])

    top = _mapping(root, problem)
    for key, (knode, _) in top.items():
        if key not in TOP_KEYS:
            problem(knode, _unknown_key(key, TOP_KEYS))
    name = _scalar(top, "name", problem, root, required=True)
    version = _scalar(top, "version", problem, root, required=True)
    description = _scalar(top, "description", problem, root) or ""
    references = tuple(_string_list(top, "references", problem))
    exclusive = _boolean(top, "exclusive", problem)

    codes: list[Code] = []
    if "codes" not in top:
        problem(root, "missing 'codes' list")
    else:
        cnode = top["codes"][1]
        if not isinstance(cnode, yaml.SequenceNode) or not cnode.value:
            problem(cnode, "'codes' must be a non-empty list of codes")
        else:
            claims: list[tuple[str, str, int]] = []
            _walk(cnode, None, 0, codes, problem, ancestors=(), stack=frozenset({id(cnode)}), claims=claims)
            problems.extend(_claim_problems(claims, codes, source))
            if exclusive and sum(c.parent is None for c in codes) < 2:
                problem(
                    top["exclusive"][0],
                    "the codebook is exclusive but has only one top-level code; "
                    "'exclusive: true' needs at least two codes to choose between",
                )

    if problems:
        raise CodebookError(problems)
    hashed: dict[str, Any] = {"name": name, "version": version, "codes": [_hashed_fields(c) for c in codes]}
    if exclusive:  # only when used: a codebook without the key keeps the hash it had before the key existed
        hashed["exclusive"] = True
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
    return Codebook(
        name=name or "",
        version=version or "",
        description=description,
        codes=tuple(codes),
        hash=digest[:16],
        source=source,
        references=references,
        exclusive=exclusive,
    )


def _claim_problems(claims: list[tuple[str, str, int]], codes: list[Code], source: str) -> list[Problem]:
    """Old paths (from ``formerly``) that are still codes here, or that two codes claim."""
    lines = {c.path: c.line for c in codes}
    owner: dict[str, tuple[str, int]] = {}
    out: list[Problem] = []
    for old, path, line in claims:
        if old in lines:
            out.append(
                Problem(
                    source,
                    line,
                    f"'formerly' of '{path}' names '{old}', which is still a code in this codebook (line "
                    f"{lines[old]}); remove it from 'formerly', or remove or rename that code",
                )
            )
        elif old in owner and owner[old][0] == path:
            out.append(Problem(source, line, f"'formerly' of '{path}' lists '{old}' twice; keep one"))
        elif old in owner:
            first, at = owner[old]
            out.append(
                Problem(
                    source,
                    line,
                    f"two codes claim the old path '{old}': '{first}' (line {at}) and '{path}' (line {line}); "
                    "keep it under one code (to split a code, give it to neither and recode its codings)",
                )
            )
        else:
            owner[old] = (path, line)
    return out


def _formerly(m: dict[str, tuple[yaml.Node, yaml.Node]], parent: str | None, problem: Any) -> list[tuple[str, int]]:
    """(full old path, line) for each entry of a code's ``formerly``: a bare name is an old name under the
    same parent, a value with '>' a whole old path ('> Name' a top-level code: see :func:`formerly_entries`)."""
    if "formerly" not in m:
        return []
    knode, node = m["formerly"]
    if isinstance(node, yaml.SequenceNode):
        items = list(node.value)
    elif isinstance(node, yaml.ScalarNode):
        items = [node]
    else:
        problem(node, "'formerly' must be a code's old name or path, or a list of them")
        return []
    out = []
    for item in items:
        at = knode if item is node else item  # an empty value has no line of its own
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            problem(
                at, "empty entry in 'formerly'; write the code's old name (or old path 'Parent > Name'), or remove it"
            )
            continue
        value = str(item.value).strip()
        names = [x.strip() for x in value.removeprefix(">").split(">")]  # '> Name': a top-level code
        if not all(names):
            problem(at, f"'formerly' entry '{value}' has an empty name in its path")
            continue
        if len(names) == 1 and parent is not None and not value.startswith(">"):
            names.insert(0, parent)
        out.append((PATH_SEP.join(names), at.start_mark.line + 1))
    return out


def formerly_entries(c: Code) -> list[str]:
    """A code's old paths as ``formerly`` is written: an old name under the same parent bare, as a researcher
    would, another path whole, and under a subcode an old top-level code as ``> Name``."""
    prefix = "" if c.parent is None else c.parent + PATH_SEP
    out = []
    for old in c.formerly:
        if c.parent is not None and old.startswith(prefix) and PATH_SEP not in old[len(prefix) :]:
            out.append(old[len(prefix) :])
        elif c.parent is not None and PATH_SEP not in old:
            out.append(f"> {old}")
        else:
            out.append(old)
    return out


def code_fields(c: Code) -> dict[str, Any]:
    """A code's path, definition, criteria, examples, source, ``exclusive`` and ``formerly`` (what the codebook
    hash covers)."""
    return {
        "path": c.path,
        "definition": c.definition,
        "include": c.include,
        "exclude": c.exclude,
        "examples": list(c.examples),
        "counterexamples": list(c.counterexamples),
        "source": c.source,
        "exclusive": c.exclusive,
        "formerly": list(c.formerly),
    }


def _hashed_fields(c: Code) -> dict[str, Any]:
    d = code_fields(c)
    for key in ("exclusive", "formerly"):
        if not d[key]:
            del d[key]  # so a codebook that does not use it keeps the hash it had before the key existed
    return d


def _mapping(node: yaml.MappingNode, problem: Any) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in node.value:
        key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
        if key in out:
            problem(k, f"duplicate key '{key}'")
        out[key] = (k, v)
    return out


def _scalar(
    m: dict[str, tuple[yaml.Node, yaml.Node]],
    key: str,
    problem: Any,
    parent: yaml.Node,
    required: bool = False,
) -> str | None:
    if key not in m:
        if required:
            problem(parent, f"missing '{key}'")
        return None
    node = m[key][1]
    if not isinstance(node, yaml.ScalarNode):
        problem(node, f"'{key}' must be text")
        return None
    value = str(node.value).strip()
    if required and not value:
        problem(node, f"empty '{key}'")
    return value


def _string_list(m: dict[str, tuple[yaml.Node, yaml.Node]], key: str, problem: Any) -> list[str]:
    if key not in m:
        return []
    node = m[key][1]
    if isinstance(node, yaml.ScalarNode) and node.value in ("", None):
        return []
    if not isinstance(node, yaml.SequenceNode):
        problem(node, f"'{key}' must be a list of texts")
        return []
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            problem(item, f"each item of '{key}' must be non-empty text")
        else:
            out.append(str(item.value).strip())
    return out


def _boolean(m: dict[str, tuple[yaml.Node, yaml.Node]], key: str, problem: Any) -> bool:
    """A YAML boolean (``true``/``false``, and YAML 1.1's ``yes``/``no``/``on``/``off``); False when absent."""
    if key not in m:
        return False
    node = m[key][1]
    if isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG:
        return bool(yaml.SafeLoader.bool_values[str(node.value).lower()])
    shown = f" (not '{node.value}')" if isinstance(node, yaml.ScalarNode) and str(node.value).strip() else ""
    problem(m[key][0], f"'{key}' must be true or false{shown}")  # the key's line: an empty value has none
    return False


BOOL_TAG = "tag:yaml.org,2002:bool"
GUID = re.compile(r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?")


def _walk(
    seq: yaml.SequenceNode,
    parent: str | None,
    depth: int,
    out: list[Code],
    problem: Any,
    ancestors: tuple[str, ...],
    stack: frozenset[int] = frozenset(),
    guids: dict[str, int] | None = None,
    claims: list[tuple[str, str, int]] | None = None,
) -> None:
    guids = {} if guids is None else guids
    claims = [] if claims is None else claims
    seen: dict[str, int] = {}
    for node in seq.value:
        if not isinstance(node, yaml.MappingNode):
            problem(node, "each code must be a mapping with at least 'name' and 'definition'")
            continue
        m = _mapping(node, problem)
        for key, (knode, _) in m.items():
            if key not in CODE_KEYS:
                problem(knode, _unknown_key(key, CODE_KEYS))
        name = _scalar(m, "name", problem, node, required=True) or ""
        line = node.start_mark.line + 1
        if ">" in name:
            problem(m["name"][1], f"code name '{name}' contains '>', which separates codes in a path")
        if name:
            key = name.casefold()
            if key in seen:
                problem(
                    m["name"][1],
                    f"duplicate code name '{name}' among siblings (first at line {seen[key]})",
                )
            seen.setdefault(key, line)
            if name.casefold() in (a.casefold() for a in ancestors):
                problem(
                    m["name"][1],
                    f"code '{name}' repeats an ancestor's name (a cycle in the hierarchy)",
                )
        guid = _scalar(m, "guid", problem, node) or ""
        if guid and not GUID.fullmatch(guid):
            problem(m["guid"][1], f"guid '{guid}' is not a GUID (like 1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294)")
        elif guid:
            key = guid.strip("{}").upper()
            if key in guids:
                problem(m["guid"][1], f"guid '{guid}' is used twice (first at line {guids[key]})")
            guids.setdefault(key, m["guid"][1].start_mark.line + 1)
        definition = _scalar(m, "definition", problem, node) or ""
        if not definition and name:
            problem(node, f"code '{name}' has no definition")
        include, exclude, source = (_scalar(m, k, problem, node) or "" for k in TEXT_KEYS[1:-1])
        examples, counterexamples = (tuple(_string_list(m, k, problem)) for k in LIST_KEYS)
        exclusive = _boolean(m, "exclusive", problem)
        path = name if parent is None else f"{parent}{PATH_SEP}{name}"
        formerly = _formerly(m, parent, problem)
        claims.extend((old, path, at) for old, at in formerly)
        out.append(
            Code(
                path=path,
                name=name,
                definition=definition,
                parent=parent,
                include=include,
                exclude=exclude,
                examples=examples,
                counterexamples=counterexamples,
                source=source,
                depth=depth,
                line=line,
                guid=guid,
                exclusive=exclusive,
                formerly=tuple(dict.fromkeys(old for old, _ in formerly)),
            )
        )
        child = m["children"][1] if "children" in m else None
        empty = child is None or (isinstance(child, yaml.ScalarNode) and child.value in ("", None))
        n_children = len(child.value) if isinstance(child, yaml.SequenceNode) else 0
        if exclusive and n_children < 2 and (empty or isinstance(child, yaml.SequenceNode)):
            problem(
                m["exclusive"][1],
                f"code '{name}' is exclusive but has {'only one subcode' if n_children else 'no subcodes'}; "
                "'exclusive: true' needs at least two children to choose between",
            )
        if child is None or empty:
            continue
        if not isinstance(child, yaml.SequenceNode):
            problem(child, "'children' must be a list of codes")
        elif id(child) in stack:
            problem(
                m["children"][0],
                f"code '{name}' contains itself (a cycle made with a YAML alias)",
            )
        else:
            _walk(child, path, depth + 1, out, problem, (*ancestors, name), stack | {id(child)}, guids, claims)


def to_dict(cb: Codebook) -> dict[str, Any]:
    """The codebook as nested plain data (for ``codebook show --format json``)."""

    def node(c: Code) -> dict[str, Any]:
        d: dict[str, Any] = {"name": c.name, "path": c.path, "definition": c.definition}
        for k in ("include", "exclude", "source"):
            if getattr(c, k):
                d[k] = getattr(c, k)
        for k in ("examples", "counterexamples"):
            if getattr(c, k):
                d[k] = list(getattr(c, k))
        if c.guid:
            d["guid"] = c.guid
        if c.exclusive:
            d["exclusive"] = True
        if c.formerly:
            d["formerly"] = list(c.formerly)
        kids = cb.children(c.path)
        if kids:
            d["children"] = [node(k) for k in kids]
        return d

    return {
        "name": cb.name,
        "version": cb.version,
        "hash": cb.hash,
        "description": cb.description,
        **({"exclusive": True} if cb.exclusive else {}),
        "codes": [node(c) for c in cb.children(None)],
    }


def to_yaml(cb: Codebook) -> str:
    """The codebook in coder's YAML format (what ``parse_codebook`` reads back to the same codebook)."""

    def node(c: Code) -> dict[str, Any]:
        d: dict[str, Any] = {"name": c.name, "definition": c.definition}
        for k in ("include", "exclude"):
            if getattr(c, k):
                d[k] = getattr(c, k)
        for k in LIST_KEYS:
            if getattr(c, k):
                d[k] = list(getattr(c, k))
        for k in ("source", "guid", "exclusive"):
            if getattr(c, k):
                d[k] = getattr(c, k)
        if c.formerly:
            d["formerly"] = formerly_entries(c)
        kids = cb.children(c.path)
        if kids:
            d["children"] = [node(k) for k in kids]
        return d

    data: dict[str, Any] = {"name": cb.name, "version": cb.version}
    if cb.description:
        data["description"] = cb.description
    if cb.references:
        data["references"] = list(cb.references)
    if cb.exclusive:
        data["exclusive"] = True
    data["codes"] = [node(c) for c in cb.children(None)]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
