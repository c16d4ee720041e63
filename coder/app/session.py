"""One coder's review session, the same for both faces.

The terminal review (``coder review``) keeps one :class:`ReviewSession` for its whole run; the page
(``coder serve``) builds one per request over that coder's :class:`ReviewState`, which it keeps
between requests. Either way the rules are these: answers are stored before anything moves on,
skipped items come back next session, ``--limit`` counts answers that still stand (an undone
answer no longer counts), the queue is fetched again only when this session changed it (an undo, a
re-fit; a code given adds or drops the codes carried over from it), and learning is due after every
``learn_every`` answers.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field

from coder.app import learning
from coder.app import review as rv
from coder.app.common import current_codebook, find_document, resolve_code
from coder.errors import InputError
from coder.store import Store
from coder.types import Codebook


@dataclass
class ReviewState:
    """What a review session remembers between answers (the page keeps one per coder)."""

    skipped: set[tuple[int, str]] = field(default_factory=set)
    answered: int = 0
    """Answers given in this session that still stand (an undo takes one back)."""
    since_learn: int = 0
    mine: list[int] = field(default_factory=list)
    """Decision ids this session recorded, newest last (so an undo of one of them is known)."""
    since_sample: int = 0
    """``--order uncertain``: the model's items answered or skipped since the last sentence of the random sample."""
    sampling: int | None = None
    """``--order uncertain``: the random sample's sentence being answered (its other items come next)."""
    due_by: int | None = None
    """The decision whose answer made the last re-fit due (undoing it takes the re-fit back too)."""
    sample_read: bool = False
    """``since_sample`` was read from the project, where the coder's last session left it."""


@dataclass(frozen=True)
class Answered:
    decision_id: int
    item: rv.Item
    answer: str
    """``accept``, ``reject``, or ``no code`` (every suggestion on the sentence rejected as :data:`rv.NO_CODE`)."""
    sentence_done: bool
    """No suggestion is left pending on this sentence for this coder: the last chance to add a code here."""
    learn_due: bool
    """``learn_every`` answers since the last re-fit: the face calls :meth:`ReviewSession.learn` (or in the
    background)."""
    count: int = 1
    """Decisions this answer recorded: one, or one per suggestion on the sentence for ``no code``."""
    skipped: int = 0
    """Suggestions on this sentence the coder skipped in this session: still pending (they come back next session)
    although ``sentence_done``; for ``no code``, how many of its rejections were of skipped ones."""


class ReviewSession:
    """Pending suggestions for one coder, and every action on them."""

    def __init__(
        self,
        store: Store,
        coder: str,
        *,
        document: str | None = None,
        document_id: int | None = None,
        code: str | None = None,
        order: str = "document",
        learn_every: int = learning.LEARN_EVERY,
        state: ReviewState | None = None,
    ) -> None:
        if order not in rv.ORDERS:
            raise ValueError(f"order must be one of {rv.ORDERS}")
        self._store = store
        self.coder = coder
        self.codebook: Codebook = current_codebook(store)
        self.document_id = find_document(store, document) if document else document_id
        self.code = resolve_code(self.codebook, code) if code else None
        self.order = order
        self.learn_every = learn_every
        self.state = state if state is not None else ReviewState()
        self._pending: list[rv.Item] | None = None
        self._done: set[tuple[int, str]] = set()
        if self.samples and not self.state.sample_read:  # the rhythm goes on from the coder's last session
            self.state.since_sample = int(store.get_setting(self._sample_key) or 0)
            self.state.sample_read = True

    @property
    def _sample_key(self) -> str:
        return f"review.since_sample.{self.coder}"

    # -- the stream ------------------------------------------------------------------------

    def _queue(self) -> list[rv.Item]:
        if self._pending is None:
            self._pending = rv.queue(
                self._store, self.coder, document_id=self.document_id, code=self.code, order=self.order, sample=False
            )
            self._done.clear()
        gone = self.state.skipped | self._done
        items = [i for i in self._pending if (i.segment_id, i.code_path) not in gone]
        if self.samples:  # as rv.queue gives it, with the count kept across re-reads
            items = rv.with_sample(items, since=self.state.since_sample, current=self.state.sampling)
        return items

    @property
    def samples(self) -> bool:
        """This queue shows the random sample's sentences (:func:`coder.app.review.samples`)."""
        return rv.samples(self.codebook, self.order, self.code)

    def pending(self) -> list[rv.Item]:
        """What is left to answer in this session, in order (skipped items excluded)."""
        return self._queue()

    def next(self, prefer: tuple[int, str] | None = None) -> rv.Item | None:
        """The next item to answer (``prefer``: this (segment, code) if it is pending)."""
        items = self._queue()
        if not items:
            return None
        return next((i for i in items if (i.segment_id, i.code_path) == prefer), items[0])

    def progress(self) -> rv.Progress:
        """All of this coder's answers so far, and what remains here (skipped items not counted)."""
        p = rv.answer_counts(self._store, self.coder)
        p.remaining = len(self._queue())
        return p

    def item_for(self, segment_id: int, code_path: str) -> rv.Item | None:
        """The active suggestion of a code on a sentence (the page answers by sentence and code)."""
        return rv.item_for(self._store, self.coder, segment_id, code_path)

    # -- answers ---------------------------------------------------------------------------

    def accept(self, item: rv.Item) -> Answered:
        return self._answer(item, "accept", None, None)

    def reject(self, item: rv.Item, *, reason: str | None = None, note: str | None = None) -> Answered:
        if reason is not None and reason not in rv.REASONS.values():
            raise ValueError(f"reason must be one of {sorted(rv.REASONS.values())}")
        return self._answer(item, "reject", reason, note)

    def _answer(self, item: rv.Item, answer: str, reason: str | None, note: str | None) -> Answered:
        decision = rv.answer(self._store, self.coder, item, answer, reason=reason, note=note, via=self._via(item))
        key = (item.segment_id, item.code_path)
        self._done.add(key)
        self.state.skipped.discard(key)
        self.state.answered += 1
        self.state.mine.append(decision)
        due = self._tick(decision)
        self._count_sample(item)
        if answer == "accept":  # first: a carried code on this sentence may give way to the code just given
            self._carry_on(item.segment_id)
        done = not any(i.segment_id == item.segment_id for i in self._queue())
        return Answered(decision, item, answer, done, due, skipped=self.skipped_on(item.segment_id))

    def skipped_on(self, segment_id: int) -> int:
        """Suggestions on a sentence skipped in this session and pending still (not answered since, not dropped by
        a re-fit or a carried code's update): they come back next session."""
        self._queue()  # read afresh after an undo or a re-fit
        gone = self._done
        return sum(
            (i.segment_id, i.code_path) in self.state.skipped and (i.segment_id, i.code_path) not in gone
            for i in self._pending or []
            if i.segment_id == segment_id
        )

    def _via(self, item: rv.Item) -> str:
        """How the coder reached ``item`` (recorded with the answer): the queue's order, or the random sample."""
        return "sample" if item.sampled else self.order

    def _carry_on(self, segment_id: int) -> None:
        """A code given to a sentence changes what is carried: onto the next sentence (added to the queue), and
        on this one (a carried code whose exclusive sibling was just given is dropped). The queue then holds
        what a fresh one would. Nothing happens when her learned run carries nothing."""
        if self._pending is None:
            return  # fetched afresh, carried codes included, when next asked
        run = self._store.learned_run(self.coder)
        if run is None or not run.carry:
            return
        from coder.app.carrying import carried_items

        def carried_on(seg: int) -> list[rv.Item]:
            offered = [i for i in self._pending or [] if i.offered and not (i.carried and i.segment_id == seg)]
            return carried_items(
                self._store, self.coder, self.codebook, code=self.code, segment_id=seg, pending=offered
            )

        still = {(i.segment_id, i.code_path) for i in carried_on(segment_id)}
        items = [
            i
            for i in self._pending
            if not (i.carried and i.segment_id == segment_id) or (i.segment_id, i.code_path) in still
        ]
        nxt = self._store.next_segment(segment_id)
        if nxt is not None and (self.document_id is None or nxt[1] == self.document_id):
            new = carried_on(nxt[0])
            fresh = {(i.segment_id, i.code_path) for i in new}
            # the next sentence's carried codes are replaced by the new ones, and a near miss (--order uncertain)
            # on a carried code gives way to it, as in a fresh queue
            items = [
                i
                for i in items
                if not (
                    i.segment_id == nxt[0] and (i.carried or ((i.segment_id, i.code_path) in fresh and not i.offered))
                )
            ] + new
        self._pending = sorted(items, key=rv.sort_key(self.order))

    def _count_sample(self, item: rv.Item) -> None:
        """Where the random sample's next sentence falls (``--order uncertain``): after ``SAMPLE_EVERY - 1`` of the
        model's items answered or skipped, counted across re-reads of the queue (a re-fit, an undo, a carried code)
        and across sessions (kept in the project file per coder: a coder who stops after two answers each time still
        meets the sample)."""
        if item.sampled:
            self.state.since_sample, self.state.sampling = 0, item.segment_id
        elif self.samples:
            self.state.since_sample += 1
            self.state.sampling = None
        else:
            return
        # for the next session; this one counts in memory, so a busy or full disk costs nothing more
        with contextlib.suppress(sqlite3.OperationalError):
            self._store.write(lambda: self._store.put_setting(self._sample_key, str(self.state.since_sample)))

    def _tick(self, decision: int) -> bool:
        if not self.learn_every:
            return False
        self.state.since_learn += 1
        if self.state.since_learn < self.learn_every:
            return False
        self.state.since_learn, self.state.due_by = 0, decision
        return True

    def no_code(self, item: rv.Item) -> Answered:
        """No code of the codebook applies to ``item``'s sentence: every suggestion pending on it for this
        coder (skipped ones too) is rejected as :data:`rv.NO_CODE`, in one step that one undo takes back."""
        if self._pending is None:
            self._queue()
        assert self._pending is not None
        on = [  # suggestions and carried codes: a near miss (--order uncertain) was never suggested
            i
            for i in self._pending
            if i.offered and i.segment_id == item.segment_id and (i.segment_id, i.code_path) not in self._done
        ]
        if item.offered and not any(i.code_path == item.code_path for i in on):
            on.append(item)
        on.sort(key=lambda i: i.code_path == item.code_path)  # the item shown last: an undo shows it again first
        skipped = sum(1 for i in on if (i.segment_id, i.code_path) in self.state.skipped)
        if not on:
            raise InputError(
                "no suggestion is pending on this sentence", hint="code it with c, or reject the code shown"
            )
        ids = rv.no_code(self._store, self.coder, on, via=self._via(item))
        due = False
        for i, decision in zip(on, ids, strict=True):
            key = (i.segment_id, i.code_path)
            self._done.add(key)
            self.state.skipped.discard(key)
            due = self._tick(decision) or due
        self.state.answered += len(on)
        self.state.mine.extend(ids)
        self._count_sample(item)
        return Answered(ids[-1], item, "no code", True, due, len(ids), skipped)

    def skip(self, item: rv.Item) -> None:
        """Not now: shown again in the next session."""
        self.state.skipped.add((item.segment_id, item.code_path))
        self._count_sample(item)

    def undo(self) -> rv.Undone | None:
        """Withdraw this coder's latest standing answer; it comes back to the front of the queue."""
        undone = rv.undo(self._store, self.coder)
        if undone is None:
            return None
        ids = []  # this session's answers taken back (a 'no code' answer: all its rejections)
        for decision_id, code_path in ((undone.decision_id, undone.code_path), *undone.also):
            if decision_id in self.state.mine:
                self.state.mine.remove(decision_id)
                ids.append(decision_id)
            self.state.skipped.discard((undone.segment_id, code_path))
        self.state.answered = max(0, self.state.answered - len(ids))
        due = self.state.due_by
        if due in ids:  # it made a re-fit due, which is due no more: the count goes back to where it was before it
            before = sum(d < due for d in ids)  # of the same answer, counted before the re-fit fell due
            self.state.since_learn, self.state.due_by = max(0, self.learn_every - 1 - before), None
        else:  # an undone answer is no answer
            self.state.since_learn = max(0, self.state.since_learn - len(ids))
        self._pending = None
        return undone

    def apply_code(self, segment_id: int, code: str, *, note: str | None = None) -> str:
        """Code a sentence by hand; returns the code's path (``code`` may be a name in any case)."""
        path = rv.apply_code(self._store, self.coder, segment_id, code, note=note)
        self._done.add((segment_id, path))
        self.state.skipped.discard((segment_id, path))  # answered now: it does not come back
        self._carry_on(segment_id)
        return path

    def memo(self, segment_id: int, text: str) -> int:
        return rv.memo(self._store, self.coder, segment_id, text)

    # -- what the coder reads --------------------------------------------------------------

    def context(self, item: rv.Item) -> rv.Context:
        return rv.context(self._store, item)

    def explain(self, item: rv.Item) -> rv.Explanation:
        """Why it was suggested, from the codebook or this coder's own acceptances only (blind)."""
        return rv.explain(self._store, item, self.coder)

    def search_codes(self, query: str, limit: int = 9) -> list[str]:
        return rv.search_codes(self.codebook, query, limit)

    def code_matches(self, query: str, limit: int = 9) -> list[tuple[str, str]]:
        """:meth:`search_codes` with where each code matched (:data:`coder.app.review.MATCHED`)."""
        return rv.code_matches(self.codebook, query, limit)

    # -- learning --------------------------------------------------------------------------

    def learn(self) -> learning.LearnResult | str:
        """Re-fit now (when an answer said ``learn_due``); the result, or why it was skipped."""
        result = learning.refit(self._store, self.coder)
        if not isinstance(result, str):
            self._pending = None
        return result

    def reload(self) -> None:
        """Read the queue again from the project: a re-fit elsewhere (:mod:`coder.app.refitting`) replaced the
        coder's learned run."""
        self._pending = None
