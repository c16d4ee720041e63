"""REFI-QDA export of a project: ``coder export qdc|qdpx``.

The current codebook, the transcripts, accepted codings (one ``PlainTextSelection`` per coded
sentence, with a ``Coding`` per coder and code), memos and notes on rejected codes as notes, and participants as
cases. GUIDs
are derived from what they name, so exporting twice gives the same GUIDs, and an export → import
→ export round trip gives the same file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coder import refi
from coder.app.common import current_codebook, require_coders
from coder.store import Store, now
from coder.transcripts import sha256

MACHINE_USER = "coder-machine"


def export_qdc(store: Store) -> bytes:

    return refi.codebook_xml(current_codebook(store))


@dataclass(frozen=True)
class ExportResult:
    documents: int
    selections: int
    codings: int
    users: list[str]
    notes: int
    cases: int
    rejection_notes: int = 0
    """Of ``notes``: notes on rejected codes, written as notes on their sentence (REFI-QDA has no rejections)."""


@dataclass(frozen=True)
class _Memo:
    coder: str
    text: str
    created_at: str


def export_qdpx(
    store: Store, path: Path, *, coders: Sequence[str] = (), include_suggested: bool = False
) -> ExportResult:
    """Write the project as a ``.qdpx`` (validated against the official schema before it is written)."""
    from lxml import etree

    book = current_codebook(store)
    by_path = book.by_path()
    require_coders(store, coders)
    ns = refi.PROJECT_NS

    def E(parent: Any, tag: str, **attrs: str) -> Any:
        return etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attrs.items() if v is not None})

    docs = store.documents()
    doc_id_of = {d.name: d.id for d in docs}
    segs = {s.id: (doc_id_of[s.document], s.start, s.end) for s in store.segments()}
    # codings: (document id, start, end) -> [(code path, user, time, memo)]
    selections: dict[tuple[int, int, int], list[tuple[str, str, str, str | None]]] = defaultdict(list)
    for r in store.decisions():
        if r.answer != "accept" or (coders and r.coder not in coders) or r.code_path not in by_path:
            continue
        selections[segs[r.segment_id]].append((r.code_path, r.coder, r.decided_at, r.memo))
    if include_suggested:
        # unreviewed = no exported coder answered it (as in the reports): a rejection is never exported as a coding
        decided = {(r.segment_id, r.code_path) for r in store.decisions() if not coders or r.coder in coders}
        # the runs the exported coders see: zero-shot, and learned only from one of them
        seen = list(coders) if coders else store.coders()
        finished = {(r.suggester, r.learned_from): r.finished_at or now() for r in store.active_runs(seen)}
        for s in store.suggestions(for_coders=seen):
            if (s.segment_id, s.code_path) in decided or s.code_path not in by_path:
                continue
            items = selections[segs[s.segment_id]]
            if not any(p == s.code_path and u == MACHINE_USER for p, u, _, _ in items):  # one per code
                items.append((s.code_path, MACHINE_USER, finished[(s.suggester, s.learned_from)], None))
    memos: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for m in store.all_memos():
        memos[(m.document_id, m.start, m.end)].append(m)
    # REFI-QDA has no rejections, so a rejection's note would be lost: it goes out as a note on the sentence,
    # naming the code (imported back, it is a memo there)
    rejected = 0
    for r in store.decisions():
        if r.answer == "reject" and r.memo and (not coders or r.coder in coders):
            text = f"Rejected {r.code_path}: {r.memo}"
            here = memos[segs[r.segment_id]]
            if any(m.coder == r.coder and m.text == text for m in here):  # imported back before: a memo already
                continue
            here.append(_Memo(r.coder, text, r.decided_at))
            rejected += 1

    users = sorted(
        {u for items in selections.values() for _, u, _, _ in items} | {m.coder for ms in memos.values() for m in ms}
    )
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns}, name=store.path.stem, origin=refi.origin_of(book))
    if users:
        us = E(root, "Users")
        for u in users:
            E(us, "User", guid=refi.guid("user", u), name=refi.xml_safe(u))
    codes_el = E(E(root, "CodeBook"), "Codes")
    refi.codes_xml(codes_el, book, ns)  # times: coder's ISO strings are valid xsd:dateTime

    attributes = store.attributes()
    by_participant: dict[str, list[str]] = defaultdict(list)
    texts = {d.id: store.document_text(d.id) for d in docs}
    source_guid = {d.id: refi.guid("source", d.name, sha256(texts[d.id])) for d in docs}
    for d in docs:
        by_participant[d.participant].append(source_guid[d.id])
    names = sorted({n for values in attributes.values() for n in values})
    if names:
        vs = E(root, "Variables")
        for n in names:
            E(vs, "Variable", guid=refi.guid("variable", n), name=refi.xml_safe(n), typeOfVariable="Text")
    participants = sorted(by_participant)
    if participants:
        cs = E(root, "Cases")
        for p in participants:
            case = E(cs, "Case", guid=refi.guid("case", p), name=refi.xml_safe(p))
            for n in names:
                if n in attributes.get(p, {}):
                    vv = E(case, "VariableValue")
                    E(vv, "VariableRef", targetGUID=refi.guid("variable", n))
                    E(vv, "TextValue").text = refi.xml_safe(attributes[p][n])
            for g in by_participant[p]:
                E(case, "SourceRef", targetGUID=g)

    notes: list[tuple[str, str, str, str]] = []  # guid, text, user, time
    n_sel = n_cod = 0
    files: dict[str, str] = {}
    if docs:
        ss = E(root, "Sources")
        for d in docs:
            g = source_guid[d.id]
            files[f"{g}.txt"] = texts[d.id]
            src = E(ss, "TextSource", guid=g, name=refi.xml_safe(d.name), plainTextPath=f"internal://{g}.txt")
            spans = sorted({k for k in selections if k[0] == d.id} | {k for k in memos if k[0] == d.id})
            for _, start, end in spans:
                sel_guid = refi.guid("selection", g, start, end)
                items = sorted(selections.get((d.id, start, end), []))
                sel = E(src, "PlainTextSelection", guid=sel_guid, name=_name(texts[d.id][start:end]))
                sel.set("startPosition", str(start))
                sel.set("endPosition", str(end))
                if items:
                    sel.set("creatingUser", refi.guid("user", items[0][1]))
                    sel.set("creationDateTime", min(i[2] for i in items))
                for code_path, user, when, memo in items:
                    code = by_path[code_path]
                    cg = refi.guid("coding", sel_guid, refi.code_guid(code), user)
                    coding = E(
                        sel,
                        "Coding",
                        guid=cg,
                        creatingUser=refi.guid("user", user),
                        creationDateTime=when,
                    )
                    E(coding, "CodeRef", targetGUID=refi.code_guid(code))
                    if memo:
                        note = refi.guid("note", cg)
                        notes.append((note, memo, user, when))
                        E(coding, "NoteRef", targetGUID=note)
                    n_cod += 1
                for m in memos.get((d.id, start, end), []):
                    note = refi.guid("memo", sel_guid, m.coder, m.text, m.created_at)
                    notes.append((note, m.text, m.coder, m.created_at))
                    E(sel, "NoteRef", targetGUID=note)
                n_sel += 1
    if notes:
        nn = E(root, "Notes")
        for g, text, user, when in notes:
            note = E(
                nn,
                "Note",
                guid=g,
                name=_name(text),
                creatingUser=refi.guid("user", user),
                creationDateTime=when,
            )
            E(note, "PlainTextContent").text = refi.xml_safe(text)
    # never write a file other tools would refuse
    refi.check_unique_guids(root, f"{path}/project.qde")
    refi.validate_project(root, f"{path}/project.qde", hint=refi.WRITER_BUG)
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    refi.write_archive(path, data, files)
    return ExportResult(len(docs), n_sel, n_cod, users, len(notes), len(participants), rejected)


def _name(text: str, width: int = 60) -> str:
    flat = " ".join(refi.xml_safe(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
