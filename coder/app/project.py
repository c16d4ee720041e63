"""The project: one method per thing a researcher does, over one SQLite file.

Both faces (the ``coder`` CLI and the ``coder serve`` page) and the tests call this object, never
the store. Each method forwards to the module that owns the action and returns its dataclass::

    with Project("study.db", create=True) as p:
        p.import_files(["P01.txt"])
        p.load_codebook("codebooks/resilience.yaml")
        p.suggest(embedder)
        session = p.review("ana")
        item = session.next()
        session.accept(item)
        p.tally(coders=["ana"])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from coder import segment as seg
from coder import suggest as sg
from coder.app import (
    common,
    ingest,
    learning,
    methods,
    reconciling,
    refi_export,
    refi_import,
    reliability,
    reports,
    suggesting,
    views,
)
from coder.app import decisions as dm
from coder.app import review as rv
from coder.app.session import ReviewSession
from coder.embed import Embedder
from coder.errors import InputError
from coder.store import DocumentInfo, Store
from coder.transcripts import ReadOptions
from coder.types import Codebook

Splitter = seg.SentenceSplitter | Callable[[], seg.SentenceSplitter] | None
"""A sentence splitter, or a function that loads one only when a new file needs it (spaCy loads in seconds)."""


@dataclass(frozen=True)
class Counts:
    documents: int
    participants: int
    segments: int
    coded_segments: int
    suggestions: int
    """In every active run: the zero-shot run and each coder's learned run."""
    decisions: int
    """Standing answers (an undone one is kept in the audit trail, not counted)."""
    runs: int = 0
    """Active suggestion runs."""


@dataclass(frozen=True)
class RemovedDocument:
    name: str
    sentences: int
    """Participant sentences (the units of coding) it held."""
    decisions: int
    memos: int


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Sentence:
    """A participant sentence as a person names it: document and number (``coder show`` prints #N)."""

    id: int
    document: str
    participant: str
    number: int
    text: str


@dataclass(frozen=True)
class SentenceRef:
    """Any sentence by its id (the page names sentences by id): its document, and whether it is coded."""

    id: int
    document_id: int
    document: str
    coded: bool
    """Participant speech; interviewer sentences are shown, not coded."""


class Project:
    """A coder project file (``create=True`` makes a new one; opening applies pending migrations)."""

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self._store = Store(path, create=create)
        self.path = self._store.path

    @staticmethod
    def demo_inputs() -> tuple[list[Path], Path, Path]:
        """The bundled demo transcripts, participants file and codebook."""
        return ingest.demo_inputs()

    def close(self) -> None:
        """Checkpoint the WAL: the project is one self-contained file again."""
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the project -------------------------------------------------------------------------

    def migrations(self) -> list[str]:
        return self._store.migrations_applied()

    def counts(self) -> Counts:
        c = self._store.counts()
        return Counts(
            c["documents"],
            c["participants"],
            c["segments"],
            c["coded_segments"],
            c["suggestions"],
            c["decisions"],
            c["runs"],
        )

    def setting(self, key: str) -> str | None:
        return self._store.get_setting(key)

    def set_setting(self, key: str, value: str) -> None:
        self._store.set_setting(key, value.strip())

    def coder_name(self, given: str | None) -> str:
        """Who is coding: ``given``, else the project's ``coder`` setting; an error says how to name one."""
        return common.require_coder(given, self._store)

    def coders(self) -> list[str]:
        """Everyone with decisions here (people and ``consensus``)."""
        return self._store.coders()

    # -- material ------------------------------------------------------------------------------

    def import_files(
        self,
        paths: Sequence[str | Path],
        *,
        options: ReadOptions | None = None,
        unit: str = "sentence",
        splitter: Splitter = None,
        attributes: str | Path | None = None,
        participant_column: str | None = None,
        update_attributes: bool = False,
        progress: common.ProgressFn = common.noop,
        pseudonymiser: ingest.Pseudonymiser | None = None,
    ) -> ingest.ImportResult:
        return ingest.import_files(
            self._store,
            paths,
            options=options,
            unit=unit,
            splitter=splitter,
            attributes=attributes,
            participant_column=participant_column,
            update_attributes=update_attributes,
            progress=progress,
            pseudonymiser=pseudonymiser,
        )

    def import_refi(
        self, path: Path, *, options: ReadOptions | None = None, unit: str = "sentence", splitter: Splitter = None
    ) -> refi_import.ImportResult:
        """A REFI-QDA codebook (.qdc) or project (.qdpx)."""
        if path.suffix.lower() == ".qdc":
            return refi_import.import_qdc(self._store, path)
        return refi_import.import_qdpx(
            self._store, path, options=options or ReadOptions(), unit=unit, splitter=splitter
        )

    def documents(self) -> list[DocumentInfo]:
        return self._store.documents()

    def document(self, ref: str) -> DocumentInfo:
        """A document by name, file stem or participant id."""
        doc_id = common.find_document(self._store, ref)
        return next(d for d in self._store.documents() if d.id == doc_id)

    def remove_document(self, ref: str, *, with_answers: bool = False) -> RemovedDocument:
        """Take a document out of the project (to import a corrected version): refused while coders' decisions or
        memos are on it, unless ``with_answers``, so no answer goes without the researcher saying so."""
        exact = [d for d in self.documents() if ref in (d.name, Path(d.name).stem, d.participant)]
        if len(exact) != 1:  # no prefix match here, as 'show' allows: 'P2' must never remove P20.txt
            self.document(ref)  # its error: no such document, or several, with "did you mean"
            raise InputError(
                f"no document named exactly '{ref}'", hint="give its full name, as 'coder documents' lists it"
            )
        doc = exact[0]
        decisions, memos = self._store.document_answers(doc.id)
        if (decisions or memos) and not with_answers:
            held = " and ".join(_plural(n, w) for n, w in ((decisions, "decision"), (memos, "memo")) if n)
            raise InputError(
                f"'{doc.name}' holds {held}: nothing was removed",
                hint="keep them with 'coder decisions export -o answers.csv', then pass --with-answers to remove them",
            )
        self._store.write(lambda: self._store.delete_document(doc.id))
        return RemovedDocument(doc.name, doc.coded_segments, decisions, memos)

    def sentence(self, document: str, number: int) -> Sentence:
        """Sentence #``number`` (1-based, as ``coder show`` prints it) of a document."""
        doc = self.document(document)
        row = self._store.segment_by_index(doc.id, number - 1)
        if row is None:
            n = len(self._store.segments(doc.id))
            raise InputError(
                f"no sentence #{number} in '{document}' (it has {n})", hint="'coder show DOCUMENT' prints the numbers"
            )
        return Sentence(row.id, row.document, row.participant, number, row.text)

    def load_codebook(self, path: str | Path, *, orphan_ok: bool = False) -> ingest.CodebookLoadResult:
        return ingest.load_codebook(self._store, path, orphan_ok=orphan_ok)

    def diff_codebooks(self, old: str | Path, new: str | Path) -> ingest.CodebookDiffResult:
        """What loading ``new`` over ``old`` would change, with this project's decisions per code."""
        return ingest.diff_codebooks(self._store, old, new)

    @staticmethod
    def diff_codebook_files(old: str | Path, new: str | Path) -> ingest.CodebookDiffResult:
        """What loading ``new`` over ``old`` would change (no project: no decision counts)."""
        return ingest.diff_codebooks(None, old, new)

    def codebook(self) -> Codebook:
        """The current codebook (an error says how to load one)."""
        return common.current_codebook(self._store)

    def resolve_code(self, ref: str) -> str:
        """A code's path from a path or name in any case; an error names the closest codes."""
        return common.resolve_code(self.codebook(), ref)

    # -- suggestions ---------------------------------------------------------------------------

    def to_embed(self, model_id: str) -> int:
        """Participant sentences whose text has no cached vector for this model."""
        return suggesting.count_to_embed(self._store, model_id)

    def has_suggestions(self) -> bool:
        return bool(self._store.active_runs())

    def suggest(self, embedder: Embedder, **options: Any) -> suggesting.SuggestResult:
        """A zero-shot run (``threshold``, ``top_k``, ``method``, ``progress``, ``suggester``: similarity.v2 unless
        told)."""
        return suggesting.suggest(self._store, embedder, **options)

    def learn(
        self, *, coder: str | None = None, learner: str = learning.DEFAULT_LEARNER, top_k: int | None = None
    ) -> list[learning.LearnResult]:
        """Fit a learned run (``learner``: learned.v1 or learned.v2) for one coder (a person, or ``consensus``
        after reconciling), or one for each coder with decisions, each from their own decisions only; re-score."""
        k = top_k or sg.DEFAULT_TOP_K
        if coder is not None:
            return [learning.learn(self._store, coder=coder, learner=learner, top_k=k)]
        return learning.learn_all(self._store, learner=learner, top_k=k)

    # -- review ----------------------------------------------------------------------------------

    def review(self, coder: str, **options: Any) -> ReviewSession:
        """A review session for one coder (``document`` or ``document_id``, ``code``, ``order``, ``learn_every``;
        the page passes the coder's ``state`` kept between requests)."""
        return ReviewSession(self._store, coder, **options)

    def code_sentence(self, coder: str, sentence: Sentence, code: str, *, memo: str | None = None) -> str:
        """Code a sentence by hand; returns the code's path."""
        return rv.apply_code(self._store, coder, sentence.id, code, note=memo)

    def sentence_context(self, segment_id: int) -> rv.Context:
        return rv.sentence_context(self._store, segment_id)

    def locate(self, segment_id: int) -> SentenceRef | None:
        """A sentence by its id, whoever spoke it; None when the project has no such sentence."""
        row = self._store.segment_row(segment_id)
        if row is None:
            return None
        return SentenceRef(row.id, row.document_id, row.document, bool(row.coded))

    def memos(self, coder: str, document_id: int) -> dict[int, list[str]]:
        """A coder's memos on one document, oldest first, by sentence id."""
        out: dict[int, list[str]] = {}
        for m in self._store.document_memos(document_id, coder):
            out.setdefault(m.segment_id, []).append(m.text)
        return out

    def answer_counts(self, coder: str) -> rv.Progress:
        """A coder's standing answers to suggestions (``remaining`` left at 0: status rows hold ``pending``)."""
        return rv.answer_counts(self._store, coder)

    def search_codes(self, query: str, limit: int = 9) -> list[str]:
        """Codes for a query: name, path, definition, then close spellings."""
        return rv.search_codes(self.codebook(), query, limit)

    def status(self, coders: Sequence[str] | None = None, *, all_codes: bool = False) -> list[views.StatusRow]:
        """Per coder and code: suggested, accepted, rejected, pending, recall estimate."""
        return views.status(self._store, coders, all_codes=all_codes)

    def show(self, document: str, *, coder: str | None = None) -> views.ShownDocument:
        """A transcript with every run's suggestions and everyone's answers, or only what ``coder`` sees."""
        return views.show(self._store, document, coder)

    def document_view(self, document_id: int) -> views.DocumentView:
        return views.document_view(self._store, document_id)

    def chips(self, coder: str, document_id: int) -> dict[int, list[views.Chip]]:
        return views.chips(self._store, coder, document_id)

    def documents_progress(self, coder: str) -> list[views.DocumentProgress]:
        """Every document with the suggestions ``coder`` sees and how many they answered (nobody else's)."""
        return views.documents_progress(self._store, coder)

    # -- reports ---------------------------------------------------------------------------------

    def tally(self, **selection: Any) -> reports.TallyResult:
        """Theme frequencies (``coders``, ``mode``, ``include_suggested``, ``documents``, ``participants``, ``by``)."""
        return reports.tally_codings(self._store, **selection)

    def presence(self, **options: Any) -> reports.MatrixResult:
        return reports.presence_table(self._store, **options)

    def cooccurrence(self, **options: Any) -> reports.MatrixResult:
        return reports.cooccurrence_table(self._store, **options)

    def quotes(self, code: str, *, n: int = 5, **selection: Any) -> list[reports.Quote]:
        return reports.quotes(self._store, code, n=n, **selection)

    def saturation(self, **options: Any) -> reports.SaturationResult:
        return reports.saturation(self._store, **options)

    def methods(self, **options: Any) -> methods.MethodsReport:
        """The facts of a methods section, from the audit trail (``unit``, ``n_boot``, ``seed`` for agreement)."""
        return methods.methods(self._store, **options)

    def export_codings(self, out: TextIO, fmt: str = "csv", *, code: str | None = None) -> int:
        return reports.export_codings(self._store, out, fmt, code=code)

    def export_qdc(self) -> bytes:
        return refi_export.export_qdc(self._store)

    def export_qdpx(
        self, path: Path, *, coders: Sequence[str] = (), include_suggested: bool = False
    ) -> refi_export.ExportResult:
        return refi_export.export_qdpx(self._store, path, coders=coders, include_suggested=include_suggested)

    # -- agreement and team work -----------------------------------------------------------------

    def agree(self, coders: Sequence[str], **options: Any) -> reliability.AgreeResult:
        return reliability.agree(self._store, coders, **options)

    def reconcile_plan(self, coders: Sequence[str], *, coverage: str = "documents") -> reconciling.ReconcilePlan:
        return reconciling.reconcile_plan(self._store, coders, coverage=coverage)

    def record_agreed(self, plan: reconciling.ReconcilePlan, coders: Sequence[str], *, by: str) -> int:
        return reconciling.record_agreed(self._store, plan, coders, by=by)

    def reconcile(self, item: reconciling.ReconcileItem, answer: str, *, by: str, note: str | None = None) -> int:
        """Record the team's decision on one disagreement as coder ``consensus``."""
        return reconciling.decide(self._store, item, answer, by=by, note=note)

    def export_decisions(self, out: TextIO, fmt: str = "csv", *, coder: str | None = None) -> int:
        return dm.export(self._store, out, fmt, coder=coder)

    def import_decisions(self, path: str | Path) -> dm.ImportResult:
        return dm.import_file(self._store, path)

    def merge(self, other: str | Path) -> dm.MergeResult:
        return dm.merge(self._store, other)
