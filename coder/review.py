"""The review loop as data: a stream of pending suggestions and functions that answer them.

Both the terminal review (``coder review``) and any other front end call these; none of them
keeps state of its own beyond the current item. Every answer is written in its own transaction
before the caller moves on, so a killed process loses at most the item on screen.
"""

from __future__ import annotations

import difflib
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coder import learn as lr
from coder import suggest as sg
from coder.embed import text_hash
from coder.errors import CoderError, InputError, ProjectError
from coder.store import Store
from coder.types import PATH_SEP, Codebook

ORDERS = ("document", "score", "uncertain")
REASONS = {
    "1": "meets an exclusion criterion",
    "2": "wrong code",
    "3": "too vague",
    "4": "other",
}
LEARN_EVERY = 25


@dataclass(frozen=True)
class Item:
    suggestion_id: int
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


def _workflows():  # imported late: workflows imports this module's siblings
    from coder import workflows

    return workflows


def require_coder(coder: str | None, store: Store) -> str:
    name = coder or store.get_setting("coder")
    if not name or not name.strip():
        raise CoderError("no coder name", hint="pass --coder NAME (or set CODER_NAME, or 'coder config coder NAME')")
    return name.strip()


def queue(
    store: Store,
    coder: str,
    *,
    document: str | None = None,
    code: str | None = None,
    order: str = "document",
    limit: int | None = None,
    document_id: int | None = None,
) -> list[Item]:
    """Pending suggestions for ``coder``, one per (segment, code), in the chosen order."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    doc_id = _workflows().find_document(store, document) if document else document_id
    current = _workflows().current_codebook(store).by_path()
    if code is not None and code not in current:
        raise InputError(f"no code '{code}' in the codebook", hint="see 'coder codebook show' for the paths")
    # suggestions for codes a newer codebook version dropped are not shown
    rows = [r for r in store.pending_suggestions(coder, document_id=doc_id, code=code) if r["code_path"] in current]
    items = _items(store, rows)
    if order == "score":
        items.sort(key=lambda i: (-i.probability, i.document, i.segment_idx))
    elif order == "uncertain":
        items.sort(key=lambda i: (abs(i.probability - 0.5), i.document, i.segment_idx))
    else:
        items.sort(key=lambda i: (i.document, i.segment_idx, -i.probability))
    return items[:limit] if limit else items


def _items(store: Store, rows: Sequence[sqlite3.Row]) -> list[Item]:
    """Suggestion rows as review items, one per (segment, code): learned.v1's when it has one.

    The probability is learned.v1's calibrated one where it scored the segment, else the prior
    map of the similarity threshold.
    """
    few = {int(r["segment_id"]) for r in rows} if len(rows) <= 500 else None  # a document's worth: fetch only those
    learned_run, learned_rows = store.active_scores(lr.LEARNER, segment_ids=few)
    learned: dict[int, np.ndarray] = dict(learned_rows) if learned_run is not None else {}
    learned_index = {p: i for i, p in enumerate(_paths(learned_run))} if learned_run is not None else {}
    sim_run = next((r for r in store.active_runs() if r["suggester"] == sg.SUGGESTER), None)
    prior = lr.Prior(float(sim_run["threshold"])) if sim_run is not None else lr.Prior(sg.DEFAULT_THRESHOLD)
    by_prior = prior(np.array([float(r["score"]) for r in rows], dtype=np.float64)) if rows else np.zeros(0)
    best: dict[tuple[int, str], Item] = {}
    for n, r in enumerate(rows):
        key = (r["segment_id"], r["code_path"])
        if r["segment_id"] in learned and r["code_path"] in learned_index:
            p = float(learned[r["segment_id"]][learned_index[r["code_path"]]])
        else:
            p = float(by_prior[n])
        item = Item(
            r["suggestion_id"],
            r["segment_id"],
            r["code_path"],
            float(r["score"]),
            p,
            r["suggester"],
            r["model"],
            r["evidence"],
            r["document"],
            r["document_id"],
            r["participant"],
            r["segment_idx"],
            r["turn_idx"],
            r["text"],
        )
        old = best.get(key)
        if old is None or (old.suggester != lr.LEARNER and item.suggester == lr.LEARNER):
            best[key] = item
    return list(best.values())


def item_for(store: Store, segment_id: int, code_path: str) -> Item | None:
    """The active suggestion of ``code_path`` for a sentence, answered or not (None if none, or if the
    current codebook has no such code: what ``queue`` would not show cannot be answered)."""
    if code_path not in _workflows().current_codebook(store).by_path():
        return None
    rows = [r for r in store.pending_suggestions(None, segment_id=segment_id) if r["code_path"] == code_path]
    items = _items(store, rows)
    return items[0] if items else None


def _paths(run: object) -> list[str]:
    import json

    return list(json.loads(run["code_paths"])) if run is not None else []  # type: ignore[index]


def _codebook_hash(store: Store) -> str | None:
    row = store.current_codebook_row()
    return None if row is None else str(row["hash"])


def _decide(
    store: Store,
    coder: str,
    segment_id: int,
    code_path: str,
    answer: str,
    *,
    reason: str | None,
    note: str | None,
    suggestion_id: int | None,
    codebook_hash: str | None,
) -> int:
    """One transaction: keep a coder's single standing answer per (segment, code).

    The same answer again returns the standing decision; a different one marks it undone (it stays
    in the audit trail) and records the new answer.
    """

    def go() -> int:
        old = store.find_decision(coder, segment_id, code_path)
        if old is not None:
            if old["answer"] == answer:
                return int(old["id"])
            store.mark_undone(old["id"])
        return store.add_decision(
            segment_id=segment_id,
            code_path=code_path,
            coder=coder,
            answer=answer,
            reason=reason,
            memo=note,
            suggestion_id=suggestion_id,
            codebook_hash=codebook_hash,
        )

    return int(store.write(go))


def answer(
    store: Store, coder: str, item: Item, answer: str, *, reason: str | None = None, note: str | None = None
) -> int:
    """Record accept/reject of a suggestion in its own transaction; returns the decision id."""
    if answer not in ("accept", "reject"):
        raise ValueError("answer must be 'accept' or 'reject'")
    return _decide(
        store,
        coder,
        item.segment_id,
        item.code_path,
        answer,
        reason=reason,
        note=note,
        suggestion_id=item.suggestion_id,
        codebook_hash=_codebook_hash(store),
    )


def apply_code(store: Store, coder: str, segment_id: int, code_path: str, *, note: str | None = None) -> int:
    """Code a segment by hand (a code the suggester missed, or a different one)."""
    book = _workflows().current_codebook(store)
    if code_path not in book.by_path():
        raise InputError(f"no code '{code_path}' in the codebook", hint="see 'coder codebook show' for the paths")
    return _decide(
        store,
        coder,
        segment_id,
        code_path,
        "accept",
        reason=None,
        note=note,
        suggestion_id=None,
        codebook_hash=book.hash,
    )


@dataclass(frozen=True)
class Undone:
    decision_id: int
    segment_id: int
    code_path: str
    answer: str


def undo(store: Store, coder: str) -> Undone | None:
    """Withdraw the coder's latest standing decision (kept in the audit trail as undone)."""

    def go() -> Undone | None:
        row = store.last_decision(coder)
        if row is None:
            return None
        store.mark_undone(row["id"])
        return Undone(row["id"], row["segment_id"], row["code_path"], row["answer"])

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
    seg = store.segment_row(item.segment_id)
    n = store.turn_count(item.document_id)
    out = []
    for t in store.turns_around(item.document_id, item.turn_idx):
        mine = t["idx"] == item.turn_idx
        span = (seg["start"] - t["speech_start"], seg["end"] - t["speech_start"]) if mine else None
        out.append((t["speaker"], t["speech"], mine, span))
    return Context(f"{item.participant} · turn {item.turn_idx + 1} of {n}", out)


@dataclass(frozen=True)
class Explanation:
    kind: str  # "example" or "accepted"
    text: str
    similarity: float | None
    participant: str | None = None


def explain(store: Store, item: Item, coder: str | None = None) -> Explanation:
    """Why this was suggested: the codebook example, or a segment ``coder`` accepted, it is closest to.

    Only the reviewing coder's own acceptances are shown, so double coding stays blind.
    """
    accepted = [r for r in store.accepted_segments(item.code_path, coder=coder) if r["id"] != item.segment_id]
    if accepted:
        vecs = store.get_embeddings(item.model, [text_hash(item.text)] + [r["text_hash"] for r in accepted])
        me = vecs.get(text_hash(item.text))
        if me is not None:
            sims = [(float(me @ vecs[r["text_hash"]]), r) for r in accepted if r["text_hash"] in vecs]
            ex = vecs.get(text_hash(item.evidence))
            ex_sim = float(me @ ex) if ex is not None else -1.0
            if sims:
                s, r = max(sims, key=lambda x: x[0])
                if s > ex_sim:
                    return Explanation("accepted", r["text"], s, r["participant"])
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


def progress(store: Store, coder: str, *, document: str | None = None, code: str | None = None) -> Progress:
    """Answers so far (all of the coder's) and what remains in the queue (with the same filters)."""
    counts = Counter(r["answer"] for r in store.decisions(coder=coder) if r["suggestion_id"] is not None)
    remaining = len(queue(store, coder, document=document, code=code))
    return Progress(counts["accept"] + counts["reject"], counts["accept"], counts["reject"], remaining)


def search_codes(book: Codebook, query: str, limit: int = 9) -> list[str]:
    """Codes for a query: name matches first, then path, then definition/criteria/examples, then fuzzy."""
    q = query.strip().lower()
    if not q:
        return []
    words = q.split()
    tiers: list[list[str]] = [[], [], [], [], []]
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
    return [p for t in tiers for p in t][:limit]


# -- a document at a time (the browser review page) --------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One code on one sentence, as a coder sees it: a pending suggestion, or their standing answer."""

    segment_id: int
    code_path: str
    state: str  # "pending", "accepted" or "rejected"
    suggested: bool
    """A suggestion (answered or not); False for a code the coder applied by hand."""
    score: float | None = None
    probability: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ViewSegment:
    id: int
    idx: int
    text: str
    coded: bool
    """Participant speech (codable); interviewer sentences are shown, not coded."""


@dataclass(frozen=True)
class ViewTurn:
    idx: int
    speaker: str
    role: str
    time_start: float | None
    segments: list[ViewSegment]


@dataclass(frozen=True)
class DocumentView:
    id: int
    name: str
    participant: str
    turns: list[ViewTurn]


def document_view(store: Store, document_id: int) -> DocumentView:
    """A transcript's turns in order with their sentences (what a coder reads); no codes."""
    doc = next((d for d in store.documents() if d.id == document_id), None)
    if doc is None:
        raise InputError(f"no document with id {document_id}", hint="open the documents list")
    by_turn: dict[int, list[ViewSegment]] = defaultdict(list)
    for s in store.segments(document_id):
        by_turn[s.turn].append(ViewSegment(s.id, s.idx, s.text, s.coded))
    turns = [
        ViewTurn(t["idx"], t["speaker"], t["role"], t["time_start"], by_turn.get(t["idx"], []))
        for t in store.turns(document_id)
    ]
    return DocumentView(doc.id, doc.name, doc.participant, turns)


def chips(store: Store, coder: str, document_id: int) -> dict[int, list[Chip]]:
    """Per sentence of a document: ``coder``'s pending suggestions and standing answers.

    Only the coder's own answers are shown, so double coding stays blind. Within a sentence,
    suggestions come first by score, then codes applied by hand, so the order is stable while the
    coder answers.
    """
    current = _workflows().current_codebook(store).by_path()
    pending = queue(store, coder, document_id=document_id)
    scores: dict[tuple[int, str], float] = {}
    for r in store.suggestions(document_id):
        key = (r["segment_id"], r["code_path"])
        scores[key] = max(scores.get(key, float("-inf")), float(r["score"]))
    out: dict[int, list[Chip]] = defaultdict(list)
    for i in pending:
        out[i.segment_id].append(Chip(i.segment_id, i.code_path, "pending", True, i.score, i.probability))
    name = next((d.name for d in store.documents() if d.id == document_id), None)
    if name is None:
        raise InputError(f"no document with id {document_id}", hint="open the documents list")
    for d in store.decisions(coder=coder):
        if d["document"] != name or d["code_path"] not in current:
            continue
        key = (d["segment_id"], d["code_path"])
        state = "accepted" if d["answer"] == "accept" else "rejected"
        out[d["segment_id"]].append(Chip(key[0], key[1], state, key in scores, scores.get(key), None, d["reason"]))
    for seg in out.values():
        seg.sort(key=lambda c: (not c.suggested, -(c.score if c.score is not None else 0.0), c.code_path))
    return dict(out)


@dataclass(frozen=True)
class DocumentProgress:
    id: int
    name: str
    participant: str
    sentences: int
    """Participant sentences (the codable ones)."""
    suggested: int
    """Distinct (sentence, code) suggestions of the active runs."""
    reviewed: dict[str, int]
    """Per coder: suggestions with a standing answer."""
    coded: dict[str, int]
    """Per coder: sentences with at least one accepted code (suggested or applied by hand)."""

    def pending(self, coder: str) -> int:
        return self.suggested - self.reviewed.get(coder, 0)


def documents_progress(store: Store) -> list[DocumentProgress]:
    """Every document with its suggestions and, per coder, how many of them have an answer."""
    current = _workflows().current_codebook(store).by_path()
    suggested: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for r in store.suggestions():
        if r["code_path"] in current:
            suggested[r["document_id"]].add((r["segment_id"], r["code_path"]))
    docs = store.documents()
    doc_id = {d.name: d.id for d in docs}
    reviewed: dict[int, Counter[str]] = defaultdict(Counter)
    coded: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for d in store.decisions():
        did = doc_id[d["document"]]
        if (d["segment_id"], d["code_path"]) in suggested[did]:
            reviewed[did][d["coder"]] += 1
        if d["answer"] == "accept" and d["code_path"] in current:
            coded[did][d["coder"]].add(d["segment_id"])
    return [
        DocumentProgress(
            d.id,
            d.name,
            d.participant,
            d.coded_segments,
            len(suggested[d.id]),
            dict(reviewed[d.id]),
            {c: len(v) for c, v in coded[d.id].items()},
        )
        for d in docs
    ]


class Learner:
    """Re-fits learned.v1 after every ``every`` answers of one review session (0: never).

    The terminal review and the browser page keep one per coder, so both learn on the same rule.
    """

    def __init__(self, every: int = LEARN_EVERY) -> None:
        self.every = every
        self.since = 0

    def tick(self) -> bool:
        """Count one answer; True when it is time to learn."""
        if not self.every:
            return False
        self.since += 1
        if self.since < self.every:
            return False
        self.since = 0
        return True

    @staticmethod
    def fit(store: Store, coder: str) -> LearnResult | str:
        """Learn now; returns the result, or why learning was skipped (answers are saved either way).

        learned.v1 is one run for the whole project, so a re-fit from one coder's answers would change
        what every other coder is suggested: while others have answers too, it is skipped (double
        coding stays blind; 'coder suggest --learn' still re-fits on purpose).
        """
        from coder.reliability import CONSENSUS

        others = sorted(set(store.coders()) - {coder, CONSENSUS})
        if others:
            return (
                f"learning skipped: {', '.join(others[:3])}{' …' if len(others) > 3 else ''} also answered here, and "
                "learned.v1 is shared; run 'coder suggest --learn' to re-fit on purpose"
            )
        try:
            return learn(store, coder=coder)
        except (CoderError, sqlite3.OperationalError) as e:
            return f"learning skipped: {e}"

    def answered(self, store: Store, coder: str) -> LearnResult | str | None:
        """Count one answer; at every ``every``-th, learn. Returns the result, why it was skipped, or None."""
        return self.fit(store, coder) if self.tick() else None


# -- learning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnResult:
    run_id: int
    models: int
    """Codes whose prototype moved (they have decisions)."""
    decisions: int
    prior_fitted: bool
    suggestions: int
    new_segments: int
    """Segments learned.v1 suggests a code for that similarity.v1 did not."""
    seconds: float
    per_code: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (positives, negatives)


def learn(
    store: Store,
    *,
    coder: str | None = None,
    top_k: int = sg.DEFAULT_TOP_K,
    threshold: float = lr.SUGGEST_THRESHOLD,
    beta: float = lr.BETA,
    gamma: float = lr.GAMMA,
) -> LearnResult:
    """Fit learned.v1 on the decisions so far and re-score every participant segment.

    Uses only embeddings already in the project (no model is loaded). Registers a new active run
    of ``learned.v1`` beside ``similarity.v1``; both stay recorded.
    """
    t0 = time.perf_counter()
    wf = _workflows()
    book = wf.current_codebook(store)
    sim_run = next((r for r in store.active_runs() if r["suggester"] == sg.SUGGESTER), None)
    if sim_run is None:
        raise ProjectError("no similarity suggestions to learn from", path=store.path, hint="run 'coder suggest' first")
    model_id = sim_run["model"]
    paths = [c.path for c in book.codes]
    if _paths(sim_run) != paths:
        raise ProjectError(
            "the codebook changed since the last 'coder suggest'",
            path=store.path,
            hint="run 'coder suggest' again, then learn",
        )

    def cached(texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        got = store.get_embeddings(model_id, hashes)
        if len(got) < len(set(hashes)):
            raise ProjectError("codebook embeddings are missing", path=store.path, hint="run 'coder suggest' first")
        return np.stack([got[h] for h in hashes])

    profile = sg.build_profile(book, cached)
    decisions = [d for d in store.decisions(coder=coder) if d["code_path"] in book.by_path()]

    latest: dict[tuple[str, int, str], str] = {}
    for d in decisions:  # each coder's latest standing answer counts
        latest[(d["coder"], d["segment_id"], d["code_path"])] = d["answer"]
    accepted: dict[str, set[int]] = defaultdict(set)
    rejected: dict[str, set[int]] = defaultdict(set)
    for (_, seg, path), ans in latest.items():
        (accepted if ans == "accept" else rejected)[path].add(seg)
    seg_hash = {r[0]: r[1] for r in store.db.execute("SELECT id, text_hash FROM segments")}
    need = sorted({seg_hash[seg] for (_, seg, _) in latest})
    vec = store.get_embeddings(model_id, need)

    def stack(segs: set[int]) -> np.ndarray:
        rows = [vec[seg_hash[s]] for s in segs if seg_hash[s] in vec]
        return np.vstack(rows) if rows else np.zeros((0, profile.centroids.shape[1]), dtype=np.float32)

    prototypes = profile.centroids.copy()
    per_code: dict[str, tuple[int, int]] = {}
    for j, path in enumerate(paths):
        # a subcode's acceptance is evidence for its parent too
        pos = {s for p, segs in accepted.items() if p == path or p.startswith(path + PATH_SEP) for s in segs}
        neg = rejected.get(path, set()) - pos
        if pos or neg:
            prototypes[j] = lr.rocchio(profile.centroids[j], stack(pos), stack(neg), beta=beta, gamma=gamma)
            per_code[path] = (len(pos), len(neg))

    # score -> probability, fitted on every standing answer scored against the learned prototypes
    col = {p: j for j, p in enumerate(paths)}
    pairs = [
        (float(vec[seg_hash[seg]] @ prototypes[col[path]]), ans == "accept")
        for (_, seg, path), ans in latest.items()
        if seg_hash[seg] in vec
    ]
    prior = lr.fit_prior([x[0] for x in pairs], [x[1] for x in pairs], threshold)

    ancestors = profile.ancestors
    suggested_before = {r["segment_id"] for r in store.suggestions() if r["suggester"] == sg.SUGGESTER}
    n_sugg = 0
    new_segments: set[int] = set()
    with store.transaction():
        run_id = store.start_run(
            suggester=lr.LEARNER,
            model=model_id,
            codebook_hash=book.hash,
            method=f"rocchio(beta={beta:g},gamma={gamma:g})",
            threshold=threshold,
            top_k=top_k,
            code_paths=paths,
        )
        n = 0
        for ids, vecs in store.iter_segment_embeddings(model_id):
            scores = vecs @ prototypes.T
            p = prior(scores).astype(np.float32)
            nearest = sg.score(vecs, profile, "max").nearest  # the codebook example shown as "why"
            picks = sg.select(scores, ancestors, threshold=threshold, top_k=top_k)
            rows = []
            for i, picked in enumerate(picks):
                for c, rank in picked:
                    rows.append((int(ids[i]), paths[c], float(scores[i, c]), rank, profile.texts[int(nearest[i, c])]))
                    if int(ids[i]) not in suggested_before:
                        new_segments.add(int(ids[i]))
            store.add_scores(run_id, ids, p)
            store.add_suggestions(run_id, rows)
            n_sugg += len(rows)
            n += len(ids)
        store.finish_run(run_id, segments=n, embedded=0)
    return LearnResult(
        run_id, len(per_code), len(latest), prior.fitted, n_sugg, len(new_segments), time.perf_counter() - t0, per_code
    )


# -- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    coder: str
    code: str
    suggested: int
    accepted: int
    rejected: int
    pending: int
    expected_unfound: float | None
    """Segments that probably deserve the code but nobody has found (from learned.v1 probabilities)."""
    found: int = 0
    """Segments accepted for the code or any of its subcodes."""

    @property
    def estimated_recall(self) -> float | None:
        if self.expected_unfound is None:
            return None
        total = self.found + self.expected_unfound
        return self.found / total if total else None


def status(store: Store, coders: Sequence[str] | None = None) -> list[StatusRow]:
    """Per coder (all, or the named ones) and code: suggested, accepted, rejected, pending, recall estimate."""
    book = _workflows().current_codebook(store)
    suggested = store.suggestion_counts()
    counts = {(r["coder"], r["code_path"]): (int(r["accepted"]), int(r["rejected"])) for r in store.decision_counts()}
    coders = store.coders() if coders is None else list(coders)
    learned_run, learned_rows = store.active_scores(lr.LEARNER)
    probs: dict[int, np.ndarray] = dict(learned_rows) if learned_run is not None else {}
    index = {p: i for i, p in enumerate(_paths(learned_run))}
    decided: dict[tuple[str, str], set[int]] = defaultdict(set)
    branch_accepted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for d in store.decisions():
        decided[(d["coder"], d["code_path"])].add(d["segment_id"])
        if d["answer"] == "accept":  # a subcode's acceptance is a mention of every ancestor too
            parts = d["code_path"].split(PATH_SEP)
            for i in range(1, len(parts) + 1):
                branch_accepted[(d["coder"], PATH_SEP.join(parts[:i]))].add(d["segment_id"])
    # what queue() would list, counted without building its items: one per (sentence, code)
    pending_by: dict[str, Counter[str]] = {
        c: Counter(path for _, path in {(r["segment_id"], r["code_path"]) for r in store.pending_suggestions(c)})
        for c in coders
    }
    ids = np.array(list(probs)) if probs else np.zeros(0, dtype=np.int64)
    mat = np.stack(list(probs.values())) if probs else None
    rows = []
    for coder in coders:
        for c in book.codes:
            acc, rej = counts.get((coder, c.path), (0, 0))
            unfound = None
            found = branch_accepted[(coder, c.path)]
            if mat is not None and c.path in index:
                reviewed = np.isin(ids, list(decided[(coder, c.path)] | found))
                unfound = lr.expected_unfound(mat[:, index[c.path]], reviewed)
            rows.append(
                StatusRow(
                    coder, c.path, suggested.get(c.path, 0), acc, rej, pending_by[coder][c.path], unfound, len(found)
                )
            )
    return rows
