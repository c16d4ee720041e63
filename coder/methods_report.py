"""A methods paragraph for a paper, from a project's audit trail: the facts and their wording. Pure.

:func:`coder.app.methods.methods` fills a :class:`MethodsReport` from the project (every number in
it is read there, nothing is assumed); this module words it as past-tense prose
(:func:`paragraphs`) and adds the figures behind each number so a reader can check them
(:func:`figures`, :func:`tables`); :mod:`coder.methods_render` lays them out as text, Markdown or a Word file.
The dataclasses live here, with their wording, so that this module needs nothing above the compute layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from coder.agreement import Summary
from coder.suggest import contrast_of

FORMATS = ("text", "md")
LEARNED = "learned."
"""The prefix of every learned suggester (learned.v1, learned.v2)."""
_LEARNER_WORDS = {
    "learned.v1": "moved each code's prototype toward the sentences a coder had accepted for it and away from "
    "those they had rejected",
    "learned.v2": "fitted, for each code a coder had answered at least eight times each way (a sentence coded "
    "otherwise counting as a no), a logistic model on the sentence embeddings anchored on the zero-shot score and "
    "trained on that coder's answers and the codebook's examples; a code kept its zero-shot score when it had fewer "
    "answers, when they came from a single transcript, or when the model did not beat the zero-shot suggestions on "
    "the coder's answers held out a third of the transcripts at a time; each learned code was suggested from the "
    "probability with the best F1 on the coder's answers held out the same way (0.5 or more while its yes answers "
    "came from fewer than five transcripts, counting only the part of each answered in full from its start); "
    "the codes not learned had their prototypes (centroids) moved toward the "
    "sentences that coder gave them and away from those rejected, where that did at least as well as the zero-shot "
    "suggestions on transcripts held out the same way, and shared one threshold chosen the same way, both from the "
    "answers in the part of each transcript answered in full",
}
POOLED = "*"
"""``learned_from`` of a learned run fitted on every coder's decisions at once (older versions)."""

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FILE_KINDS = {
    "txt": "plain-text",
    "md": "Markdown",
    "docx": "Word",
    "vtt": "WebVTT",
    "srt": "SubRip",
    "csv": "CSV",
}
_UNIT = {
    "segment": "participant sentence",
    "turn": "speaker turn",
    "document": "transcript",
    "participant": "participant",
}
_UNITS = {"segment": "sentences", "turn": "speaker turns", "document": "transcripts", "participant": "participants"}
_SPLITTER = re.compile(r"^(?P<lang>[a-z]{2,3})_(?P<name>.+)-(?P<version>\d[\w.]*)$")
_METHOD = {
    "centroid": "its cosine similarity to the mean of the code's embedded definition and examples",
    "max": "its cosine similarity to the closest of the code's embedded definition and examples",
    "blend": "the mean of its cosine similarities to the mean and to the closest of the code's embedded "
    "definition and examples",
}


# -- the facts --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segmentation:
    """How some of the documents were cut into units (as stored on each document at import)."""

    unit: str  # sentence | turn
    splitter: str  # e.g. en_core_web_sm-3.8.0, en_pipeline-0.0.0 (spaCy's sentencizer), turn
    documents: int


@dataclass(frozen=True)
class Corpus:
    documents: int
    participants: int
    turns: int
    sentences: int
    """Participant sentences: the coded units."""
    context: int
    """Other sentences (the interviewer's), shown as context and not coded."""
    formats: tuple[tuple[str, int], ...]  # (file format, documents), most first
    segmentation: tuple[Segmentation, ...]


@dataclass(frozen=True)
class CodebookFacts:
    name: str
    version: str
    hash: str
    codes: int
    themes: int
    """Top-level codes."""

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class Run:
    """An active suggestion run."""

    id: int
    suggester: str
    model: str
    method: str
    threshold: float
    top_k: int
    learned_from: str | None
    """None for zero-shot; a coder's name; ``*`` for a legacy run fitted on everyone's decisions."""
    decisions: int
    description: str
    """The run in one line (:func:`coder.app.reliability.describe_run`)."""


@dataclass(frozen=True)
class CoderCounts:
    """A person's standing answers, summed over every code of the current codebook."""

    name: str
    accepted: int
    rejected: int
    added: int
    """Codes applied by hand where no suggestion proposed them."""
    pending: int
    """Suggestions still waiting for their answer."""
    rejected_unsuggested: int = 0
    """Codes rejected where no suggestion proposed them (near misses of ``--order uncertain``, codes overruled)."""
    via: tuple[tuple[str, int], ...] = ()
    """Standing decisions by how they were reached (:data:`coder.types.VIA`; "": not recorded)."""

    @property
    def answered(self) -> int:
        return self.accepted + self.rejected


@dataclass(frozen=True)
class Agreement:
    coders: tuple[str, ...]
    machine: str | None
    """With a single coder: the zero-shot run compared with them (its description), else None."""
    unit: str
    coverage: str
    units_total: int
    units_counted: int
    codes: int
    """Codes given in the units counted (the pooled row's codes)."""
    pooled: Summary | None
    """Every (unit, code) pair as one rating; None when no code was given in the units counted."""
    exact: Summary
    """The set of codes per unit, matched exactly."""
    n_boot: int
    seed: int
    unanswered: tuple[tuple[str, int], ...] = ()
    """Coders with unanswered suggestions inside the units counted (their sentences count as not coded)."""


@dataclass(frozen=True)
class Consensus:
    """The decisions recorded as coder ``consensus`` (standing ones)."""

    agreed: int
    """Codings every coder had accepted, copied over (reason ``agreed``)."""
    accepted: int
    """Disagreements decided in reconciliation: the code applies."""
    rejected: int
    """… the code does not apply."""
    other: int
    """Consensus decisions recorded some other way (imported, reviewed as 'consensus')."""
    recorded_by: tuple[str, ...]
    remaining: int | None
    """Disagreements still undecided, when they could be worked out."""


@dataclass(frozen=True)
class MethodsReport:
    version: str
    """coder's own version."""
    corpus: Corpus
    codebook: CodebookFacts
    runs: tuple[Run, ...]
    coders: tuple[CoderCounts, ...]
    """People only (not ``consensus``)."""
    not_blind: tuple[str, ...]
    """Why a person's coding was not blind (:func:`coder.app.reliability.blindness`); empty when it was."""
    agreement: Agreement | None
    agreement_missing: str | None
    """Why agreement was not computed (when ``agreement`` is None and someone coded)."""
    consensus: Consensus | None

    @property
    def learned_runs(self) -> tuple[Run, ...]:
        return tuple(r for r in self.runs if r.suggester.startswith(LEARNED))

    @property
    def zero_shot(self) -> Run | None:
        return next((r for r in self.runs if r.learned_from is None), None)


# -- wording ----------------------------------------------------------------------------------------------------


def _n(n: int) -> str:
    """A count in prose: words under ten, digits from ten on."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n:,}"


def _none(n: int) -> str:
    return "none" if n == 0 else _n(n)


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{_n(n)} {word if n == 1 else plural or word + 's'}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _f(x: float) -> str:
    return "undefined" if math.isnan(x) else f"{x:.3f}"


def _pct(x: float) -> str:
    return "undefined" if math.isnan(x) else f"{100 * x:.1f}%"


def _ci(ci: tuple[float, float]) -> str:
    return "undefined" if math.isnan(ci[0]) else f"{ci[0]:.3f} to {ci[1]:.3f}"


def _kappa(s: Summary) -> str:
    return "Fleiss' κ" if s.kappa_name == "Fleiss" else f"{s.kappa_name}'s κ"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def splitter_words(splitter: str) -> str:
    """A stored splitter name as a methods section names it."""
    m = _SPLITTER.match(splitter)
    if m is None:
        return f"the splitter {splitter}"
    if m["name"] == "pipeline":  # spacy.blank(lang) with a sentencizer: no trained model
        return "spaCy's rule-based sentencizer"
    return f"the parser of spaCy's {m['lang']}_{m['name']} pipeline (version {m['version']})"


def _corpus(r: MethodsReport) -> str:
    c = r.corpus
    kinds = [f"{_n(n)} {_FILE_KINDS.get(fmt, fmt.upper())}" for fmt, n in c.formats]
    files = f" ({_and(kinds)} {'file' if c.documents == 1 else 'files'})" if kinds else ""
    out = (
        f"The corpus comprised {_count(c.documents, 'transcript')} from {_count(c.participants, 'participant')}"
        f"{files}, {_count(c.turns, 'speaker turn')} in all. "
    )
    ways = [
        ("kept whole as one unit" if s.unit == "turn" else f"split into sentences with {splitter_words(s.splitter)}", s)
        for s in c.segmentation
    ]
    if len(ways) == 1:
        out += f"Each speaker turn was {ways[0][0]}, so that no unit spanned two speakers. "
    elif ways:
        parts = [f"{how} in {_count(s.documents, 'transcript')}" for how, s in ways]
        out += f"Speaker turns were {_and(parts)}, so that no unit spanned two speakers. "
    unit = "sentences" if all(s.unit == "sentence" for s in c.segmentation) else "units"
    out += f"The {_n(c.sentences)} participant {unit} were the units of coding"
    if c.context:
        out += f"; the other {_n(c.context)} (the interviewer's speech) were shown as context and not coded"
    return out + "."


def _codebook(r: MethodsReport) -> str:
    b = r.codebook
    out = f"Codes were applied from the codebook “{b.name}”, version {b.version} (hash {b.short_hash}), with "
    if b.themes == b.codes:
        return out + f"{_count(b.codes, 'code')} and no subcodes."
    return out + f"{_count(b.codes, 'code')} ({_count(b.themes, 'top-level theme')} and their subcodes)."


def _whose(run: Run) -> str:
    if run.learned_from == POOLED:
        return f"{_n(run.decisions)} decisions of all coders pooled"
    if run.learned_from == "consensus":
        return f"the consensus coding's {_n(run.decisions)} decisions"
    return f"{run.learned_from}'s {_n(run.decisions)} decisions"


def _suggestions(r: MethodsReport) -> str:
    z = r.zero_shot
    out = f"Coding was assisted by coder {r.version}, a thematic coding assistant that runs on the researcher's own "
    out += "computer. "
    if z is None and not r.runs:
        return out + "No suggestion run was active at the time of this report; codes were applied by hand."
    if z is not None:
        how = _METHOD.get(z.method, f"the {z.method} method")
        pull = contrast_of(z.suggester)
        if pull:
            how += (
                f", less {pull:g} times its cosine similarity to the mean of the code's embedded exclusion "
                "criteria and counterexamples (for codes that have them)"
            )
        out += (
            f"Its zero-shot suggester ({z.suggester}, run {z.id}) embedded every participant sentence and each "
            f"code's name, definition and examples with the sentence-embedding model {z.model}, scored each sentence "
            f"for each code by {how}, and suggested up to {_count(z.top_k, 'code')} per sentence scoring at least "
            f"{z.threshold:g}. "
        )
    learned = r.learned_runs
    if learned:
        same = len({x.threshold for x in learned}) == 1
        runs = [
            f"run {x.id}, learned from {_whose(x)}" + ("" if same else f" (threshold {x.threshold:g})") for x in learned
        ]
        kinds = sorted({x.suggester for x in learned})
        how = "; ".join(f"{k} {_LEARNER_WORDS.get(k, 'learned from the coder’s answers')}" for k in kinds)
        out += (
            f"As coding went on, each coder's learned suggester ({', '.join(kinds)}) was fitted from that coder's "
            f"answers only: {how}"
            + (
                f", and suggested codes scoring at least {learned[0].threshold:g}"
                if same and kinds == ["learned.v1"]
                else ", each code suggested from a cut chosen on that coder's answers"
                if kinds == ["learned.v2"]
                else ""
            )
            + f"; {_count(len(learned), 'learned run')} {'was' if len(learned) == 1 else 'were'} active at the time "
            f"of this report ({'; '.join(runs)})."
        )
    for x in r.runs:
        if x is not z and x not in learned:
            out += f" Another active run was used: {x.description}."
    return out.strip()


_WAY = {  # coder.types.VIA ("reconcile" is consensus's, which this paragraph does not count)
    "document": "answered {} reading through the transcripts (in document order, or on a transcript's page)",
    "score": "answered {} in order of the suggestions' scores",
    "uncertain": "answered {} in the order of the learned model's uncertainty",
    "sample": "answered {} in a random sample of sentences within that order",
    "hand": "picked {} from the codebook themselves",
    "": "had {} whose route was not recorded (given before the project kept it, or imported)",
}


def _coding(r: MethodsReport) -> str:
    people = r.coders
    if not people:
        return "No coder had recorded a decision at the time of this report."
    names = _and([p.name for p in people])
    who = f"A single coder, {names}," if len(people) == 1 else f"{_cap(_n(len(people)))} coders, {names},"
    out = (
        f"{who} reviewed the suggestions{' independently' if len(people) > 1 else ''}, accepting or rejecting each "
        "suggested code and adding codes the suggester had missed. "
    )
    each = [
        f"{p.name} answered {_count(p.answered, 'suggestion')} ({_none(p.accepted)} accepted, {_none(p.rejected)} "
        f"rejected), added {_count(p.added, 'code')} by hand"
        + (
            f", rejected {_count(p.rejected_unsuggested, 'code')} no suggestion had proposed"
            if p.rejected_unsuggested
            else ""
        )
        + f" and left {_none(p.pending)} unanswered"
        for p in people
    ]
    out += ("In the review, " if len(people) == 1 else "Individually, ") + "; ".join(each) + "."
    ways = [f"{p.name} {_and([_WAY.get(k, _WAY['']).format(_n(n)) for k, n in p.via])}" for p in people if p.via]
    out += f" How the answers were reached: {'; '.join(ways)}." if any(k for p in people for k, _ in p.via) else ""
    if r.not_blind:
        out += " Coding was not fully blind: " + "; ".join(r.not_blind) + "."
    elif len(people) > 1:
        shown = (
            "only the zero-shot suggestions and the suggestions of a model learned from their own decisions"
            if r.learned_runs
            else "only the zero-shot suggestions"
        )
        out += f" Coding was blind: each coder was shown {shown}, never another coder's answers."
    return out


def _agreement(r: MethodsReport) -> str:
    a = r.agreement
    if a is None:
        return f"Agreement was not computed: {r.agreement_missing}." if r.agreement_missing else ""
    unit, units = _UNIT[a.unit], _UNITS[a.unit]
    counted, total = _n(a.units_counted), _n(a.units_total)
    share = f"all {total} {units}" if a.units_counted == a.units_total else f"the {counted} of {total} {units}"
    if a.machine is not None:
        person = a.coders[0]
        out = (
            f"As only {person} coded, agreement was measured between {person} and the zero-shot suggester "
            f"({a.machine}) on whether each code was present in each {unit}, over {share} that {person} had reviewed"
        )
    else:
        both = "both coders" if len(a.coders) == 2 else f"all {_n(len(a.coders))} coders"
        out = (
            f"Inter-coder agreement was measured on whether each code was present in each {unit}, over {share} "
            f"that {both} had reviewed"
        )
    if a.coverage == "documents":
        out += " (a coder had reviewed every participant sentence of each transcript in which they recorded a decision)"
    else:
        on = "it" if a.unit == "segment" else "one of its sentences"
        out += f" (a {unit} counted only where each coder had answered on {on})"
    out += ". "
    if a.n_boot:
        boot = f"95% bootstrap interval {{ci}}; {a.n_boot:,} resamples of the {units}, seed {a.seed}"
    else:
        boot = "no bootstrap interval"
    short = "95% interval {ci}" if a.n_boot else boot
    given = "either coder gave" if len(a.coders) < 3 else "any coder gave"
    if a.pooled is None:
        out += f"No code was given in the {units} counted, so agreement on codes could not be computed. "
    else:
        s = a.pooled
        out += (
            f"Pooled over the {_count(a.codes, 'code')} {given} (each {unit}–code pair one rating), percent "
            "agreement was "
            f"{_pct(s.percent)}, {_kappa(s)} was {_f(s.kappa)}, Krippendorff's α (nominal) was {_f(s.alpha)} "
            f"({boot.format(ci=_ci(s.alpha_ci))}) and Gwet's AC1 was {_f(s.ac1)}. "
        )
    e = a.exact
    out += (
        f"The set of codes given to each {unit} matched exactly in {_pct(e.percent)} of {units} "
        f"({_kappa(e)} {_f(e.kappa)}; α {_f(e.alpha)}, {short.format(ci=_ci(e.alpha_ci))}; AC1 {_f(e.ac1)})."
    )
    if a.unanswered:
        left = _and([f"{_n(n)} by {name}" for name, n in a.unanswered])
        out += f" Suggestions still unanswered in those transcripts ({left}) were counted as codes not given."
    return out


def _reconciliation(r: MethodsReport) -> str:
    c = r.consensus
    people = list(r.agreement.coders) if r.agreement is not None else [p.name for p in r.coders]
    if c is None:
        return "Disagreements between coders have not been reconciled." if len(people) > 1 else ""
    by = f" by {_and(list(c.recorded_by))}" if c.recorded_by else ""
    all_ = "both coders" if len(people) == 2 else "every coder"
    out = f"Disagreements were then discussed, and the team's decisions were recorded{by} as a consensus coding"
    parts = []
    if c.agreed:
        parts.append(
            f"the {_count(c.agreed, 'coding')} {all_} had accepted {'was' if c.agreed == 1 else 'were'} carried over"
        )
    decided = c.accepted + c.rejected
    if decided:
        parts.append(
            f"{_count(decided, 'disagreement')} {'was' if decided == 1 else 'were'} decided "
            f"({_n(c.accepted)} applying the code, {_n(c.rejected)} not)"
        )
    elif not c.agreed:
        parts.append("no disagreement was decided")
    out += ": " + _and(parts) + "."
    if c.other:
        out += f" In addition, {_count(c.other, 'consensus decision')} came from elsewhere (an import or a review)."
    if c.remaining:
        were = "was" if c.remaining == 1 else "were"
        out += f" At the time of this report, {_count(c.remaining, 'disagreement')} {were} still undecided."
    elif c.remaining == 0:
        out += " No disagreement was left undecided."
    return out


def paragraphs(r: MethodsReport) -> list[str]:
    """The methods text, a paragraph per topic: corpus, codebook and suggestions, coding, agreement, reconciling."""
    out = [
        _corpus(r),
        _codebook(r) + " " + _suggestions(r),
        _coding(r),
        " ".join(x for x in (_agreement(r), _reconciliation(r)) if x),
    ]
    return [p for p in out if p]


# -- the figures behind the text --------------------------------------------------------------------------------


def figures(r: MethodsReport) -> list[tuple[str, str]]:
    """(label, value) for each fact the paragraphs state, so a reader can check them."""
    c, b = r.corpus, r.codebook
    out = [
        ("coder version", r.version),
        ("Transcripts", f"{c.documents:,} (" + ", ".join(f"{fmt}: {n:,}" for fmt, n in c.formats) + ")"),
        ("Participants", f"{c.participants:,}"),
        ("Speaker turns", f"{c.turns:,}"),
        ("Participant sentences (coded units)", f"{c.sentences:,}"),
        ("Other sentences (context, not coded)", f"{c.context:,}"),
        *(("Segmentation", f"{s.unit} by {s.splitter}: {s.documents:,} transcript(s)") for s in c.segmentation),
        ("Codebook", f"{b.name}, version {b.version}, hash {b.hash}"),
        ("Codes", f"{b.codes:,} ({b.themes:,} top-level)"),
        *(("Active run", x.description) for x in r.runs),
        *(("Not blind", why) for why in r.not_blind),
    ]
    a = r.agreement
    if a is not None:
        compared = [*a.coders, *([f"machine ({a.machine})"] if a.machine else [])]
        out += [
            ("Agreement between", ", ".join(compared)),
            ("Agreement unit", f"{a.unit}: {a.units_counted:,} of {a.units_total:,} counted (coverage: {a.coverage})"),
            ("Bootstrap", f"{a.n_boot:,} resamples, seed {a.seed}" if a.n_boot else "none"),
            *((f"Unanswered in units counted ({name})", f"{n:,}") for name, n in a.unanswered),
        ]
    elif r.agreement_missing:
        out.append(("Agreement", f"not computed: {r.agreement_missing}"))
    k = r.consensus
    if k is not None:
        out += [
            ("Consensus: codings carried over (agreed)", f"{k.agreed:,}"),
            ("Consensus: disagreements decided, code applies", f"{k.accepted:,}"),
            ("Consensus: disagreements decided, code does not apply", f"{k.rejected:,}"),
            *([("Consensus: other decisions", f"{k.other:,}")] if k.other else []),
            ("Consensus recorded by", ", ".join(k.recorded_by) or "not recorded"),
            *([("Disagreements still undecided", f"{k.remaining:,}")] if k.remaining is not None else []),
        ]
    return out


Table = tuple[str, list[str], list[list[str]]]


def tables(r: MethodsReport) -> list[Table]:
    """(title, header, rows): each coder's answers, and the agreement coefficients."""
    out: list[Table] = []
    if r.coders:
        other = any(p.rejected_unsuggested for p in r.coders)  # a column only where someone has such answers
        rows = [
            [p.name, f"{p.answered:,}", f"{p.accepted:,}", f"{p.rejected:,}", f"{p.added:,}"]
            + ([f"{p.rejected_unsuggested:,}"] if other else [])
            + [f"{p.pending:,}"]
            for p in r.coders
        ]
        header = ["Coder", "Answered", "Accepted", "Rejected", "Added by hand"]
        out.append(("Answers per coder", [*header, *(["Rejected, not suggested"] if other else []), "Pending"], rows))
    a = r.agreement
    if a is not None:
        kappa = f"κ ({a.exact.kappa_name})"
        rows = []
        for label, s in ((f"{_count(a.codes, 'code')} given, pooled", a.pooled), ("code set, exact match", a.exact)):
            if s is not None:
                alpha = _f(s.alpha) + (
                    "" if math.isnan(s.alpha_ci[0]) else f" [{s.alpha_ci[0]:.3f}, {s.alpha_ci[1]:.3f}]"
                )
                rows.append([label, f"{s.units:,}", _pct(s.percent), _f(s.kappa), alpha, _f(s.ac1)])
        header = ["Agreement", "Ratings", "% agreement", kappa, "α nominal [95% CI]", "Gwet's AC1"]
        out.append((f"Agreement per {_UNIT[a.unit]}", header, rows))
    return out
