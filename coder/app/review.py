"""The review stream as data: pending suggestions for one coder and the functions that answer them.

Both faces reach these through :class:`coder.app.session.ReviewSession`. Every answer is written in
its own transaction (``Store.decide``) before the caller moves on, so a killed process loses at
most the item on screen.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from coder import learn as lr
from coder import suggest as sg
from coder.app.common import current_codebook, find_document, resolve_code
from coder.embed import text_hash
from coder.errors import InputError
from coder.sample import SAMPLE_EVERY, sample_rank
from coder.store import Store, now
from coder.store.rows import PendingRow, RunRow
from coder.types import PATH_SEP, Code, Codebook

ORDERS = ("document", "score", "uncertain")


REASONS = {
    "1": "meets an exclusion criterion",
    "2": "wrong code",
    "3": "too vague",
    "4": "other",
}
NO_CODE = "no code applies"
"""The reason every rejection of a "no code" answer carries: none of the codebook's codes fits the sentence."""


NEAR_MISS = 0.35
"""``--order uncertain`` also offers a code nobody suggested on a sentence where the coder's learned model,
calibrated for that code, gives it at least this probability (about one chance in three)."""


@dataclass(frozen=True)
class Item:
    suggestion_id: int | None
    """None for a near miss: a code not suggested on the sentence (see :data:`NEAR_MISS`)."""
    segment_id: int
    code_path: str
    score: float
    probability: float
    suggester: str
    model: str
    evidence: str
    document: str
    document_id: int
    participant: str
    segment_idx: int
    turn_idx: int
    text: str
    calibrated: bool = False
    """``probability`` was calibrated on this coder's answers for this code; otherwise it is only the
    similarity mapped to 0–1, and faces show the similarity and say "not yet calibrated"."""
    carried: bool = False
    """A code the coder gave the sentence before, offered here by her carry model (:mod:`coder.app.carrying`);
    not a stored suggestion, like a near miss, but shown and answered as one."""
    sampled: bool = False
    """Under ``--order uncertain``: shown because its sentence is next in the random sample
    (:mod:`coder.sample`), not because the model is unsure of it."""

    @property
    def suggested(self) -> bool:
        """False for a near miss, which ``--order uncertain`` shows though it was not suggested, and for a
        carried code (see :attr:`carried`)."""
        return self.suggestion_id is not None

    @property
    def offered(self) -> bool:
        """A suggestion or a carried code: what "no code" rejects and faces show as suggested."""
        return self.suggested or self.carried


def queue(
    store: Store,
    coder: str,
    *,
    document: str | None = None,
    code: str | None = None,
    order: str = "document",
    limit: int | None = None,
    document_id: int | None = None,
    sample: bool = True,
) -> list[Item]:
    """Pending suggestions for ``coder``, one per (segment, code), in the chosen order (``uncertain``: with the
    random sample's sentences interleaved where :func:`samples` says so, unless ``sample`` is false)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    doc_id = find_document(store, document) if document else document_id
    book = current_codebook(store)
    current = book.by_path()
    if code is not None:
        code = resolve_code(book, code)
    # suggestions for codes a newer codebook version dropped are not shown
    rows = [r for r in store.pending_suggestions(coder, document_id=doc_id, code=code) if r.code_path in current]
    items = _items(store, coder, rows)
    from coder.app.carrying import carried_items  # it reads Item from here

    items += carried_items(store, coder, book, document_id=doc_id, code=code, pending=items)
    if order == "uncertain":
        items += near_misses(store, coder, book, document_id=doc_id, code=code, pending=items)
    items.sort(key=sort_key(order))
    if sample and samples(book, order, code):
        items = with_sample(items)
    return items[:limit] if limit else items


def samples(book: Codebook, order: str, code: str | None) -> bool:
    """Whether the queue shows the random sample's sentences (:func:`with_sample`): uncertain first, not narrowed
    to one code (a sample of one code's suggestions is no sample), and a codebook with a mutually exclusive set,
    the one learner whose gate the sample feeds (single codes count transcripts read from their start; measured
    on NHS survey answers, which have no set, the sample only took the place of the model's picks: NHS κ after
    5 % of decisions 0.28 against 0.31, benchmarks/NOTES.md)."""
    return order == "uncertain" and code is None and bool(book.exclusive_groups())


def with_sample(
    items: Sequence[Item], every: int = SAMPLE_EVERY, *, since: int = 0, current: int | None = None
) -> list[Item]:
    """``items`` in their order, but after every ``every - 1`` of them, the suggestions and carried codes on the
    next sentence of the random sample (:mod:`coder.sample`: the sentences with a suggestion here, in the sample's
    order; a near miss there stays the model's pick), marked :attr:`Item.sampled`. The gate of an exclusive set
    counts the sample answered from its start as answered in full, as it does a transcript read in order, so
    reviewing uncertain first still gives it rows that represent the project. ``since``: the model's items
    already answered or skipped since the last sample sentence (a session keeps the count across re-reads of its
    queue); ``current``: the sample sentence being answered, whose other items come first."""
    items = [replace(i, sampled=False) if i.sampled else i for i in items]
    if every < 2 or not items:
        return items
    on: dict[int, list[Item]] = defaultdict(list)
    for i in items:
        on[i.segment_id].append(i)
    drawn = [s for s in on if any(i.suggested for i in on[s])]  # a near miss or a carried code alone: no sentence
    sample = iter(sorted(drawn, key=lambda s: (sample_rank(on[s][0].document, on[s][0].segment_idx), s)))
    out: list[Item] = []
    done: set[tuple[int, str]] = set()

    def left(seg: int | None) -> list[Item]:  # its suggestions and carried codes: a near miss stays the model's pick
        mine = on[seg] if seg is not None and seg in on else []
        return [i for i in mine if i.offered and (i.segment_id, i.code_path) not in done]

    def take(seg: int | None) -> None:
        for i in left(seg):
            done.add((i.segment_id, i.code_path))
            out.append(replace(i, sampled=True))

    take(current)
    for item in items:
        if since >= every - 1:
            since = 0
            take(next((s for s in sample if left(s)), None))
        if (item.segment_id, item.code_path) in done:
            continue
        done.add((item.segment_id, item.code_path))
        out.append(item)
        since += 1
    return out


def sort_key(order: str) -> Callable[[Item], tuple[Any, ...]]:
    """How :func:`queue` orders its items; ties broken by sentence and code, never by row ids, so the same
    answers give the same order."""
    if order == "score":
        return lambda i: (-i.probability, i.document, i.segment_idx, i.code_path)
    if order == "uncertain":
        return lambda i: (abs(i.probability - 0.5), i.document, i.segment_idx, i.code_path)
    return lambda i: (i.document, i.segment_idx, -i.probability, i.code_path)


def _items(store: Store, coder: str, rows: Sequence[PendingRow]) -> list[Item]:
    """Suggestion rows as review items, one per (segment, code): the coder's own learned run's when it has one.

    The probability is the coder's learned run's where it scored the segment, else the
    prior map of the similarity threshold. Nothing here reads another coder's run or answers.
    """
    few = {int(r.segment_id) for r in rows} if len(rows) <= 500 else None  # a document's worth: fetch only those
    learned_run = store.learned_run(coder)
    learned: dict[int, np.ndarray] = dict(store.run_scores(learned_run, segment_ids=few))
    learned_index = {p: i for i, p in enumerate(_paths(learned_run))}
    calibrated = learned_run.calibrated_codes() if learned_run is not None else frozenset()
    sim_run = store.zero_shot_run()
    prior = lr.Prior(float(sim_run.threshold)) if sim_run is not None else lr.Prior(sg.DEFAULT_THRESHOLD)
    by_prior = prior(np.array([float(r.score) for r in rows], dtype=np.float64)) if rows else np.zeros(0)
    best: dict[tuple[int, str], Item] = {}
    for n, r in enumerate(rows):
        key = (r.segment_id, r.code_path)
        mine = r.segment_id in learned and r.code_path in learned_index
        p = float(learned[r.segment_id][learned_index[r.code_path]]) if mine else float(by_prior[n])
        item = Item(
            r.id,
            r.segment_id,
            r.code_path,
            float(r.score),
            p,
            r.suggester,
            r.model,
            r.evidence,
            r.document,
            r.document_id,
            r.participant,
            r.segment_idx,
            r.turn_idx,
            r.text,
            mine and r.code_path in calibrated,
        )
        old = best.get(key)
        if old is None or (not _learned(old.suggester) and _learned(item.suggester)):
            best[key] = item
    return list(best.values())


def near_misses(
    store: Store,
    coder: str,
    book: Codebook,
    *,
    document_id: int | None = None,
    code: str | None = None,
    pending: Sequence[Item] = (),
) -> list[Item]:
    """Codes nobody suggested on a sentence that the coder's learned model, calibrated for the code, still
    gives at least :data:`NEAR_MISS` (under the cut it suggests from, or the losing member of an exclusive
    set), where the coder has not answered that code on that sentence. Answering one is answering the
    model where it is least sure: accept codes the sentence, reject says it is not this code."""
    run = store.learned_run(coder)
    calibrated = run.calibrated_codes() if run is not None else frozenset()
    current = book.by_path()
    paths = _paths(run)
    cols = [
        (j, p)
        for j, p in enumerate(paths)
        if p in calibrated and p in current and (code is None or p == code or p.startswith(code + PATH_SEP))
    ]
    if run is None or not cols:
        return []
    segs = {s.id: s for s in store.segment_keys()}
    if document_id is not None:
        names = {d.id: d.name for d in store.documents()}
        segs = {i: s for i, s in segs.items() if s.document == names.get(document_id)}
    taken = {(i.segment_id, i.code_path) for i in pending}
    taken |= {(d.segment_id, d.code_path) for d in store.decisions(coder=coder)}
    found = [
        (seg, p, float(row[j]))
        for seg, row in store.run_scores(run, segment_ids=segs if document_id is not None else None)
        if seg in segs
        for j, p in cols
        if row[j] >= NEAR_MISS and (seg, p) not in taken
    ]
    if not found:
        return []
    sim_run = store.zero_shot_run()
    sim_cols = {p: j for j, p in enumerate(_paths(sim_run))}
    sims = dict(store.run_scores(sim_run, segment_ids={seg for seg, _, _ in found}))
    doc_ids = {d.name: d.id for d in store.documents()}
    texts = store.segment_texts(seg for seg, _, _ in found)
    evidence = _nearest_examples(store, run.model, [(texts[seg], current[path]) for seg, path, _ in found])
    out = []
    for (seg, path, prob), example in zip(found, evidence, strict=True):
        s = segs[seg]
        row = sims.get(seg)
        similarity = float(row[sim_cols[path]]) if row is not None and path in sim_cols else float("nan")
        out.append(
            Item(
                None,
                seg,
                path,
                similarity,
                prob,
                run.suggester,
                run.model,
                example,
                s.document,
                doc_ids[s.document],
                s.participant,
                s.idx,
                s.turn,
                texts[seg],
                True,
            )
        )
    return out


def _nearest_examples(store: Store, model: str, pairs: Sequence[tuple[str, Code]]) -> list[str]:
    """For each (sentence, code), the code's exemplar text (description or example) closest to the sentence,
    as a suggestion's evidence (the first exemplar where vectors are missing). One read of the vectors."""
    texts = {c.path: sg.exemplar_texts(c.name, c.definition, c.include, c.examples) for _, c in pairs}
    wanted = {text_hash(t) for t, _ in pairs} | {text_hash(t) for ts in texts.values() for t in ts}
    vecs = store.get_embeddings(model, sorted(wanted))
    out = []
    for sentence, code in pairs:
        me = vecs.get(text_hash(sentence))
        scored = [
            (float(me @ vecs[text_hash(t)]), t) for t in texts[code.path] if me is not None and text_hash(t) in vecs
        ]
        out.append(max(scored)[1] if scored else texts[code.path][0])
    return out


def _learned(suggester: str) -> bool:
    return suggester.startswith("learned.")


def item_for(store: Store, coder: str, segment_id: int, code_path: str) -> Item | None:
    """The active suggestion of ``code_path`` for a sentence as ``coder`` sees it, answered or not (None if
    none, or if the current codebook has no such code: what ``queue`` would not show cannot be answered)."""
    if code_path not in current_codebook(store).by_path():
        return None
    rows = [
        r
        for r in store.pending_suggestions(coder, answered_too=True, segment_id=segment_id)
        if r.code_path == code_path
    ]
    items = _items(store, coder, rows)
    if not items:
        from coder.app.carrying import carried_items

        book = current_codebook(store)
        found = carried_items(store, coder, book, segment_id=segment_id, answered_too=True)
        items = [i for i in found if i.code_path == code_path]
    return items[0] if items else None


def _paths(run: RunRow | None) -> list[str]:
    return list(json.loads(run.code_paths)) if run is not None else []


def _codebook_hash(store: Store) -> str | None:
    row = store.current_codebook_row()
    return None if row is None else str(row.hash)


def answer(
    store: Store,
    coder: str,
    item: Item,
    answer: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    via: str | None = None,
) -> int:
    """Record accept/reject of a suggestion in its own transaction; returns the decision id. ``via``: how the
    coder reached it (:data:`coder.types.VIA`)."""
    if answer not in ("accept", "reject"):
        raise ValueError("answer must be 'accept' or 'reject'")
    return store.decide(
        segment_id=item.segment_id,
        code_path=item.code_path,
        coder=coder,
        answer=answer,
        reason=reason,
        memo=note,
        suggestion_id=item.suggestion_id,
        codebook_hash=_codebook_hash(store),
        carried=item.carried,
        via=via,
    ).decision_id


def apply_code(store: Store, coder: str, segment_id: int, code: str, *, note: str | None = None) -> str:
    """Code a segment by hand (a code the suggester missed, or a different one); returns the code's path
    (``code`` may be a path or a name in any case)."""
    book = current_codebook(store)
    path = resolve_code(book, code)
    store.decide(
        segment_id=segment_id,
        code_path=path,
        coder=coder,
        answer="accept",
        memo=note,
        codebook_hash=book.hash,
        via="hand",
    )
    return path


def no_code(store: Store, coder: str, items: Sequence[Item], *, via: str | None = None) -> list[int]:
    """ "No code applies" to one sentence: reject each of its pending suggestions ``items``, with the reason
    :data:`NO_CODE`, all in one transaction (one undo takes them all back). Returns the decision ids.
    Refused (InputError) when the coder has coded the sentence already."""
    if len({i.segment_id for i in items}) > 1:
        raise ValueError("a 'no code' answer is about one sentence")
    coded = sorted(
        d.code_path for i in items[:1] for d in store.decisions_on(coder, i.segment_id) if d.answer == "accept"
    )
    if coded:
        raise InputError(
            f"you coded this sentence '{coded[0]}'" + (f" and {len(coded) - 1} more" if len(coded) > 1 else ""),
            hint="'no code' would contradict it: reject the other suggestions one by one, or undo that code first",
        )
    book_hash = _codebook_hash(store)
    at = now()  # one moment for the whole answer: undo finds its rejections by it

    def go() -> list[int]:
        return [
            store.record_decision(
                segment_id=i.segment_id,
                code_path=i.code_path,
                coder=coder,
                answer="reject",
                reason=NO_CODE,
                suggestion_id=i.suggestion_id,
                codebook_hash=book_hash,
                decided_at=at,
                carried=i.carried,
                via=via,
            ).decision_id
            for i in items
        ]

    ids: list[int] = store.write(go)
    return ids


@dataclass(frozen=True)
class Undone:
    decision_id: int
    segment_id: int
    code_path: str
    answer: str
    also: tuple[tuple[int, str], ...] = ()
    """(decision id, code) of the other rejections that one "no code" answer recorded, withdrawn with it."""
    by_hand: bool = False
    """The answer was to no suggestion: a code added by hand (or a near miss of ``--order uncertain``)."""


def undo(store: Store, coder: str) -> Undone | None:
    """Withdraw the coder's latest standing decision (kept in the audit trail as undone); for a "no code"
    answer, every rejection it recorded on the sentence."""

    def go() -> Undone | None:
        row = store.last_decision(coder)
        if row is None:
            return None
        store.mark_undone(row.id)
        also: list[tuple[int, str]] = []
        if row.reason == NO_CODE:  # the same answer: same sentence, same reason, same moment
            for other in store.decisions_on(coder, row.segment_id):
                if other.reason == NO_CODE and other.decided_at == row.decided_at:
                    store.mark_undone(other.id)
                    also.append((other.id, other.code_path))
        by_hand = row.suggestion_id is None and not row.carried
        return Undone(row.id, row.segment_id, row.code_path, row.answer, tuple(also), by_hand)

    result: Undone | None = store.write(go)
    return result


def memo(store: Store, coder: str, segment_id: int, text: str) -> int:
    if not text.strip():
        raise InputError("empty memo", hint="type some text, or press Enter on an empty line to cancel")
    return int(store.write(lambda: store.add_memo(segment_id, coder, text.strip())))


@dataclass(frozen=True)
class Context:
    position: str  # "P07 · turn 14 of 83"
    turns: list[tuple[str, str, bool, tuple[int, int] | None]]
    """(speaker, speech, is_the_item's_turn, (start, end) of the segment inside speech or None)."""


def context(store: Store, item: Item) -> Context:
    return sentence_context(store, item.segment_id)


def sentence_context(store: Store, segment_id: int) -> Context:
    """A sentence with the turns around it (the terminal review and reconciliation show this)."""
    seg = store.segment_row(segment_id)
    if seg is None:
        raise InputError(f"no sentence with id {segment_id}", hint="open the document again")
    document_id, turn_idx = seg.document_id, seg.turn_idx
    n = store.turn_count(document_id)
    out = []
    for t in store.turns_around(document_id, turn_idx):
        mine = t.idx == turn_idx
        span = (seg.start - t.speech_start, seg.end - t.speech_start) if mine else None
        out.append((t.speaker, t.speech, mine, span))
    return Context(f"{seg.participant} · turn {turn_idx + 1} of {n}", out)


@dataclass(frozen=True)
class Explanation:
    kind: str  # "example", "accepted" or "carried" (the text is the sentence before, which the coder gave the code)
    text: str
    similarity: float | None
    participant: str | None = None


def explain(store: Store, item: Item, coder: str) -> Explanation:
    """Why this was suggested: the codebook example, or a segment ``coder`` accepted, it is closest to.

    Only the reviewing coder's own acceptances are shown, so double coding stays blind. A carried code's
    reason is the sentence before, which she gave it.
    """
    if item.carried:
        return Explanation("carried", item.evidence, None, item.participant)
    accepted = [r for r in store.accepted_segments(item.code_path, coder=coder) if r.id != item.segment_id]
    if accepted:
        vecs = store.get_embeddings(item.model, [text_hash(item.text)] + [r.text_hash for r in accepted])
        me = vecs.get(text_hash(item.text))
        if me is not None:
            sims = [(float(me @ vecs[r.text_hash]), r) for r in accepted if r.text_hash in vecs]
            ex = vecs.get(text_hash(item.evidence))
            ex_sim = float(me @ ex) if ex is not None else -1.0
            if sims:
                s, r = max(sims, key=lambda x: x[0])
                if s > ex_sim:
                    return Explanation("accepted", r.text, s, r.participant)
            return Explanation("example", item.evidence, ex_sim if ex_sim > -1 else None)
    return Explanation("example", item.evidence, None)


@dataclass
class Progress:
    reviewed: int = 0
    accepted: int = 0
    rejected: int = 0
    remaining: int = 0

    @property
    def acceptance(self) -> float:
        done = self.accepted + self.rejected
        return self.accepted / done if done else 0.0


def progress(
    store: Store, coder: str, *, document: str | None = None, code: str | None = None, document_id: int | None = None
) -> Progress:
    """Answers so far (all of the coder's) and what remains in the queue (with the same filters)."""
    p = answer_counts(store, coder)
    p.remaining = len(queue(store, coder, document=document, code=code, document_id=document_id))
    return p


def answer_counts(store: Store, coder: str) -> Progress:
    """The coder's standing answers to suggestions and carried codes (``remaining`` left at 0)."""
    counts = Counter(r.answer for r in store.decisions(coder=coder) if r.suggestion_id is not None or r.carried)
    return Progress(counts["accept"] + counts["reject"], counts["accept"], counts["reject"], 0)


def search_codes(book: Codebook, query: str, limit: int = 9) -> list[str]:
    """Codes for a query: name matches first, then path, then definition/criteria/examples, then fuzzy."""
    return [path for path, _ in code_matches(book, query, limit)]


MATCHED = ("name", "path", "text", "typo")
"""Where :func:`code_matches` found a query: in a code's name, its path, its definition, criteria or examples, or
close to a word of its name (a typo)."""


def code_matches(book: Codebook, query: str, limit: int = 9) -> list[tuple[str, str]]:
    """(code path, where it matched: one of :data:`MATCHED`) for a query, best first (:func:`search_codes`)."""
    q = query.strip().lower()
    if not q:
        return []
    words = q.split()
    tiers: list[list[str]] = [[], [], [], []]
    for c in book.codes:
        body = " ".join([c.definition, c.include, *c.examples]).lower()
        if q in c.name.lower():
            tiers[0].append(c.path)
        elif q in c.path.lower() or all(w in c.path.lower() for w in words):
            tiers[1].append(c.path)
        elif all(w in body for w in words):
            tiers[2].append(c.path)
    taken = {p for t in tiers for p in t}
    for c in book.codes:  # typos: each query word close to some word of the name
        name_words = c.name.lower().replace("/", " ").split()
        if c.path not in taken and all(difflib.get_close_matches(w, name_words, n=1, cutoff=0.75) for w in words):
            tiers[3].append(c.path)
    return [(p, how) for t, how in zip(tiers, MATCHED, strict=True) for p in t][:limit]
