"""coder review (the terminal loop), coder code (a sentence by hand) and coder status.

The loop only reads keys and renders: every rule (what comes next, what an undo takes back, what
--limit counts, when to learn) is :class:`coder.app.ReviewSession`'s, shared with the page.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import click

from coder.cli._common import WIDTH, carries, coder_option, learn_every_option, open_project, plural, wrap
from coder.cli._terminal import echo_definition, echo_turns, interactive, read_command, read_key, read_line, rule
from coder.errors import InputError
from coder.types import PATH_SEP

if TYPE_CHECKING:
    from coder.app import Answered, ReviewSession
    from coder.app.refitting import Outcome, Refits
    from coder.app.review import Explanation, Item, Undone
    from coder.app.views import StatusRow

KEYS = "[a]ccept [r]eject [n]o code [s]kip [u]ndo [c]ode [m]emo [?] [q]uit > "
REASON = "Reason: 1 exclusion criterion · 2 wrong code · 3 too vague · 4 other · Enter none · x cancel > "
SENTENCE_DONE = "No more suggestions on this sentence{}. [c] add a code to it · [u] undo · Enter to go on > "
REVIEW_HELP = """  a  accept the suggested code
  r  reject it (then choose a reason: 1 exclusion criterion, 2 wrong code, 3 too vague, 4 other; Enter = none)
  n  no code applies to this sentence: reject every suggestion on it (one undo takes them all back)
  s  skip for now (shown again next session)
  u  undo your last answer and show that item again
  c  apply a different or additional code to this sentence (search the codebook)
  m  add a memo to this sentence
  ?  this help
  q  quit (every answer is already saved)
  after r: 1–4 a reason, Enter none, x cancel (4 asks you to say why in a line)
  after the last suggestion on a sentence: c adds a code to it, u undoes that answer, Enter goes on, q quits
  "random sample" (--order uncertain, a codebook with an exclusive set): a sentence drawn from a fixed random
  order, not chosen by the model; answering it keeps the model honest, so answer it rather than skip it"""


@click.command()
@coder_option()
@click.option("--document", default=None, help="Only this document (name, stem or participant id).")
@click.option("--code", "code_path", default=None, metavar="PATH", help="Only this code's suggestions (and subcodes').")
@click.option(
    "--order",
    type=click.Choice(["document", "score", "uncertain"]),
    default="document",
    show_default=True,
    help="uncertain = what the model is least sure of first, near misses included (active learning).",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Stop after N answers that still stand (an undo gives one back).",
)
@learn_every_option(
    "Re-fit your own learned model after every N answers (0 = never), at a terminal in the background; it "
    "learns from your answers only, so other coders' suggestions never change."
)
@click.pass_context
def review(
    ctx: click.Context,
    coder: str | None,
    document: str | None,
    code_path: str | None,
    order: str,
    limit: int | None,
    learn_every: int,
) -> None:
    """Accept or reject suggestions one by one, with single keys. Resumable at any point.

    Keys: a accept · r reject · n no code · s skip · u undo · c other code · m memo · ? help · q quit.
    Each answer is saved before the next item is shown. After the last suggestion on a sentence,
    coder offers to add another code to that sentence (c) or undo that last answer (u) before moving
    on (Enter; other keys are refused there). Where colour does not show (piped output, NO_COLOR
    set), the sentence under review is marked between » and «.

    --order uncertain puts first what your learned model is least sure of, and also offers codes
    that were not suggested on a sentence where the model, calibrated on your answers for that code,
    still gives them a probability of 0.35 or more ("Not suggested, but possible"). Only the part
    of a transcript you have answered in full from its start can lower a code's cut-off below 0.5
    or set the threshold the other codes share. Where the codebook has a mutually exclusive set,
    this order also shows, after every three of the model's suggestions, all those on the next
    sentence in a fixed random order of the sentences with a suggestion ("random sample"; not
    with --code; the count goes on from one session to the next). Answers the model did not choose
    can vouch for what the set learned, as a transcript read from its start does: answer them,
    don't skip them.

    Once your learned run has learned how often your codes run on from one sentence to the next, a
    code you gave a sentence is also offered on the next one where that is more likely than not
    ("Carried over"), unless something suggests it there already.

    \b
    Examples:
      coder review --coder ana
      coder review --coder ana --order uncertain --limit 50
      coder review --coder ana --code "Spirituality / faith" --document P04
    """
    project = open_project(ctx)
    name = project.coder_name(coder)
    session = project.review(name, document=document, code=code_path, order=order, learn_every=learn_every)
    waiting = len(session.pending())
    if not waiting:
        click.echo(
            f"Nothing to review for {name}"
            + (" — every suggestion has an answer." if project.has_suggestions() else " (run 'coder suggest' first).")
        )
        return
    click.echo(f"Reviewing as {name}: {waiting} suggestions pending. Press ? for help, q to quit.")
    if order == "uncertain" and not any(i.calibrated for i in session.pending()):
        click.secho(
            "(No code is calibrated on your answers yet: until one is, 'uncertain' puts first the suggestions "
            "whose similarity lies nearest the threshold.)",
            dim=True,
        )
    # at a terminal the re-fit runs beside the answers; keys from a pipe get it in line, so a script's
    # keys always meet the same queue
    from coder.app.refitting import Refits

    refits = Refits(project.path, log_failures=False) if interactive() and learn_every else None
    owed = _loop(session, limit, refits)
    if refits is not None:
        if owed or refits.running(name):
            click.secho("(finishing the re-fit of your learned model …)", dim=True)
        refits.join()
        if owed:  # answers given while the last one ran: one more, so none waits for the next session
            _refitted(session, refits.take(name))
            refits.start(name)
            refits.join()
        _refitted(session, refits.take(name))
    p = session.progress()
    click.echo(
        f"Saved. {name}: {p.reviewed} reviewed ({p.accepted} accepted, {p.rejected} rejected, "
        f"{p.acceptance:.0%} accepted). Run 'coder review' again to continue."
    )


def _loop(session: ReviewSession, limit: int | None, refits: Refits | None = None) -> bool:
    """Show, ask, repeat, until q, the end of the queue, or ``limit`` answers that still stand. ``refits``: re-fit
    in the background (else in line, between two items). True: a re-fit fell due while one was running and is
    still owed."""
    from coder.app import Answered

    prefer: tuple[int, str] | None = None
    owed = False
    while limit is None or session.state.answered < limit:
        if refits is not None:
            _refitted(session, refits.take(session.coder))
            if owed and not refits.running(session.coder):
                owed = _refit(session, refits)
        item = session.next(prefer)
        if item is None:
            if refits is not None and refits.running(session.coder):
                click.secho("(waiting for the re-fit of your learned model: it may suggest more)", dim=True)
                refits.join()
                continue
            click.echo("All done: no pending suggestions left" + (" (some skipped)." if session.state.skipped else "."))
            return owed
        _show_item(session, item)
        outcome = _ask(session, item)
        if outcome == "quit":
            return owed
        prefer = None
        if isinstance(outcome, Answered):
            last = outcome.sentence_done and outcome.answer != "no code"
            after = _after_sentence(session, item.segment_id) if last else "go"
            if after == "quit":  # a re-fit due now runs on the way out (in the background: the review finishes it)
                if outcome.learn_due and refits is None:
                    _learn(session)
                return owed or (outcome.learn_due and refits is not None)
            if outcome.learn_due and isinstance(after, str):  # (undone at the prompt: that re-fit is not due)
                if refits is not None:  # the last re-fit's outcome first, so the messages come in order
                    _refitted(session, refits.take(session.coder))
                owed = _refit(session, refits)
            if not isinstance(after, str):  # undone at the last prompt: show that item again
                prefer = (after.segment_id, after.code_path)
        elif not isinstance(outcome, str):  # an undo: show that item again
            prefer = (outcome.segment_id, outcome.code_path)
    return owed


def _refit(session: ReviewSession, refits: Refits | None) -> bool:
    """Re-fit now (in line), or start one in the background; True when one is running already (it is owed)."""
    if refits is None:
        _learn(session)
        return False
    if refits.start(session.coder):
        click.secho("(re-fitting your learned model in the background: go on)", dim=True)
        return False
    click.secho(
        "(your learned model is still re-fitting: it re-fits from your newer answers once that is done)", dim=True
    )
    return True


def _ask(session: ReviewSession, item: Item) -> Answered | Undone | str:
    """Keys on one item until it is answered, skipped ("skip"), an answer undone, or "quit"."""
    while True:
        key = read_command(KEYS, "arnsucmq", REVIEW_HELP)
        if key == "a":
            return session.accept(item)
        if key == "r":
            rejected = _reject(session, item)
            if rejected is not None:
                return rejected
        elif key == "n":
            try:
                answered = session.no_code(item)
            except InputError as e:
                click.secho(str(e), fg="yellow")
                continue
            skipped = f" ({answered.skipped} of them skipped before)" if answered.skipped else ""
            click.echo(f"No code: {plural(answered.count, 'suggestion')} on this sentence rejected{skipped}.")
            return answered
        elif key == "s":
            session.skip(item)
            if item.sampled:
                click.secho(
                    "Skipped a random-sample sentence: the rest of its transcript's sample cannot vouch for what "
                    "you teach the model until it is answered.",
                    dim=True,
                )
            return "skip"
        elif key == "u":
            undone = _undo(session)
            if undone is not None:
                return undone
        elif key == "c":
            chosen = _pick_code(session)
            if chosen == item.code_path:  # the suggested code itself: that is an accept
                click.secho(f"Coded: {chosen}", fg="green")
                return session.accept(item)
            if chosen is not None:
                click.secho(f"Coded: {session.apply_code(item.segment_id, chosen)}", fg="green")
        elif key == "m":
            _memo(session, item.segment_id)
        else:  # q
            return "quit"


def _reject(session: ReviewSession, item: Item) -> Answered | None:
    """Ask for the reason, then reject (None: cancelled)."""
    from coder.app.review import REASONS

    key = read_key(REASON)
    if key.lower() in ("x", "q", "\x1b"):
        click.echo("Not rejected.")
        return None
    note = (read_line("Say why (Enter to skip): ").strip() or None) if key == "4" else None
    return session.reject(item, reason=REASONS.get(key), note=note)


def _undo(session: ReviewSession) -> Undone | None:
    """Withdraw the coder's latest answer and say which (None: nothing to undo)."""
    undone = session.undo()
    if undone is None:
        click.echo("Nothing to undo.")
    elif undone.also:
        click.echo(f"Undone: no code ({1 + len(undone.also)} rejections)")
    elif undone.by_hand and undone.answer == "accept":
        click.echo(f"Undone: {undone.code_path}, added by hand")
    else:
        click.echo(f"Undone: {undone.answer} {undone.code_path}")
    return undone


def _after_sentence(session: ReviewSession, segment_id: int) -> Undone | str:
    """The last chance to code the sentence just answered, before the next one shows: "go", "quit", or the
    answer an undo took back (its item shows again). An undo of a code added here stays at this prompt.
    Suggestions on it skipped for now (they come back next session) are counted in the prompt."""
    added: list[str] = []
    while True:
        skipped = session.skipped_on(segment_id)  # a skipped code added here with c is skipped no more
        later = f" ({skipped} skipped: shown again next session)" if skipped else ""
        key = read_key(SENTENCE_DONE.format(later)).lower()
        if key == "q":
            return "quit"
        if key == "u":
            undone = _undo(session)
            if undone is not None and undone.segment_id == segment_id and undone.code_path in added:
                added.remove(undone.code_path)
                continue
            if undone is not None:
                return undone
            continue
        if key == "":
            return "go"
        if key != "c":  # a key meant for the next item must not pass for Enter: it would go unanswered
            click.echo("Press Enter to go on, c to add a code to this sentence, u to undo, q to quit.")
            continue
        chosen = _pick_code(session)
        if chosen is not None:
            path = session.apply_code(segment_id, chosen)
            added.append(path)
            click.secho(f"Coded: {path}", fg="green")


_MATCHED_BY = {"text": "found in its definition or examples", "typo": "close to its name"}


def _pick_code(session: ReviewSession) -> str | None:
    """Search the codebook and pick one of up to nine hits by its number (None: cancelled)."""
    matches = session.code_matches(read_line("Search codes: "), limit=10)
    if not matches:
        click.echo("No code matches.")
        return None
    hits = [path for path, _ in matches]
    for n, (path, how) in enumerate(matches[:9], start=1):
        click.echo(f"  {n}  {path}", nl=how not in _MATCHED_BY)
        if how in _MATCHED_BY:
            click.secho(f"   ({_MATCHED_BY[how]})", dim=True)
    if len(hits) > 9:
        click.echo("  (more codes match: cancel and type more of the name)")
    hits = hits[:9]
    pick = read_key("Number (Enter to cancel) > ")
    return hits[int(pick) - 1] if pick.isdigit() and 1 <= int(pick) <= len(hits) else None


def _memo(session: ReviewSession, segment_id: int) -> None:
    text = read_line("Memo (Enter to cancel): ")
    if text.strip():
        session.memo(segment_id, text)
        click.echo("Memo saved.")


def _learn(session: ReviewSession) -> None:
    before = session.progress().remaining
    _said(session, session.learn(), before)


def _refitted(session: ReviewSession, outcome: Outcome | None) -> None:
    """A background re-fit finished: read the queue again and say what changed."""
    if outcome is None:
        return
    before = session.progress().remaining
    session.reload()
    _said(session, outcome, before)


def _said(session: ReviewSession, res: Outcome, before: int) -> None:
    if isinstance(res, str):
        click.secho(f"({res})", dim=True)
        return
    after = session.progress().remaining
    moved = f" The re-scored run leaves {after} suggestions to review (was {before})." if after != before else ""
    click.secho(f"Your {res.said()}." + (carries(res.carry) if res.carry else "") + moved, dim=True)


def _show_item(session: ReviewSession, item: Item) -> None:
    where = session.context(item)
    p = session.progress()
    rule()
    click.secho(f"{item.document} · {where.position} · sentence {item.segment_idx + 1}", bold=True, nl=False)
    if item.sampled:
        click.secho(" · random sample", fg="cyan", nl=False)
    click.secho(f"    [{p.reviewed} reviewed · {p.remaining} remaining · {p.acceptance:.0%} accepted]", dim=True)
    echo_turns(where.turns)
    click.echo()
    if item.carried:
        details = f"p {item.probability:.2f} · you gave it to the sentence before · similarity {item.score:.2f}"
        _headline(f"Carried over: {item.code_path}", "green", details)
    elif item.suggested:
        likely = f"p {item.probability:.2f}" if item.calibrated else "probability not yet calibrated"
        _headline(f"Suggested: {item.code_path}", "green", f"similarity {item.score:.2f} · {likely} · {item.suggester}")
    else:
        details = f"p {item.probability:.2f} · {item.suggester} (a: code it · r: not this code)"
        _headline(f"Not suggested, but possible: {item.code_path}", "yellow", details)
    echo_definition(session.codebook, item.code_path)
    click.echo(wrap(why_line(session.explain(item)), "  "))


def _headline(code: str, colour: str, details: str) -> None:
    """The code shown, in colour, then its figures: on the same line where both fit in :data:`WIDTH`, else below it
    (a terminal would break the line mid-word)."""
    click.secho(code, fg=colour, bold=True, nl=False)
    click.echo(f"   {details}" if len(code) + 3 + len(details) <= WIDTH else f"\n  {details}")


def why_line(why: Explanation) -> str:
    """Why a code was suggested, with what the number is."""
    sim = f" (cosine similarity {why.similarity:.2f})" if why.similarity is not None else ""
    if why.kind == "carried":
        return f"Why: you gave it to the sentence before: “{why.text}”"
    if why.kind == "accepted":
        return f"Why: closest to a segment already accepted for this code ({why.participant}): “{why.text}”{sim}"
    return f"Why: closest codebook example: “{why.text}”{sim}"


@click.command()
@click.argument("document")
@click.option(
    "--segment",
    "segment_no",
    type=click.IntRange(1),
    required=True,
    help="Sentence number in the document, as 'coder show' prints it (#N).",
)
@click.option("--code", "code_path", required=True, metavar="PATH", help="Code path, e.g. 'Spirituality / faith'.")
@coder_option()
@click.option("--memo", default=None, help="A note to keep with the decision.")
@click.pass_context
def code(
    ctx: click.Context, document: str, segment_no: int, code_path: str, coder: str | None, memo: str | None
) -> None:
    """Code a sentence by hand, without a suggestion.

    The code may be given by its path or its name, in any case.

    \b
    Example:
      coder code P04 --segment 55 --code "Spirituality / faith > Reading scripture" --coder ana
    """
    project = open_project(ctx)
    name = project.coder_name(coder)
    sentence = project.sentence(document, segment_no)
    path = project.code_sentence(name, sentence, code_path, memo=memo)
    click.echo(
        f"Coded #{segment_no} of {sentence.document} ({sentence.participant}) as {path} for {name}: "
        f"“{textwrap.shorten(sentence.text, 80)}”"
    )


@click.command()
@click.option("--coder", "coder_filter", default=None, metavar="NAME", help="Only this coder.")
@click.option("--all", "show_all", is_flag=True, help="Every code, also those without activity.")
@click.pass_context
def status(ctx: click.Context, coder_filter: str | None, show_all: bool) -> None:
    """Per coder and code: suggested, accepted, rejected, pending, added by hand, and estimated recall.

    "by hand" counts sentences the coder gave the code where it was not suggested (near misses she
    accepted under --order uncertain included); codes she rejected where nothing suggested them are
    counted below the table, not as rejected suggestions. "est. unfound" is
    the expected number of sentences that deserve the code but that the coder has not accepted yet,
    from their own learned run's probabilities (run 'coder suggest --learn'). Each coder's
    rows count only the suggestions they see and their own answers.

    \b
    Examples:
      coder status
      coder status --coder ana --all
    """
    project = open_project(ctx)
    coders = [c for c in project.coders() if coder_filter in (None, c)]
    rows = project.status(coders, all_codes=show_all) if coders else []
    c = project.counts()
    if coder_filter is None:
        runs = f" in {plural(c.runs, 'active run')} (zero-shot, and each coder's learned run)" if c.runs > 1 else ""
        whose = f"{c.suggestions:,} suggestions{runs} · {plural(c.decisions, 'answer')}"
    else:  # one coder's figures only: nothing of anyone else's work (blind double coding)
        answers = sum(r.accepted + r.rejected + r.added + r.rejected_unsuggested for r in rows)
        whose = f"{sum(r.suggested for r in rows)} suggestions for {coder_filter} · {plural(answers, 'answer')}"
    click.echo(f"{plural(c.documents, 'document')} · {plural(c.coded_segments, 'participant sentence')} · {whose}")
    if not rows:
        click.echo("No decisions yet. Start with: coder review --coder NAME")
        return
    _echo_status(rows)


def _echo_status(rows: list[StatusRow]) -> None:
    """One table per coder; a subcode is indented under its parent (ancestors are always listed)."""

    def label(path: str) -> str:
        return ("  " * path.count(PATH_SEP) + path.rsplit(PATH_SEP, 1)[-1])[:60]

    w = max(len(label(r.code)) for r in rows)
    for name in sorted({r.coder for r in rows}):
        mine = [r for r in rows if r.coder == name]
        click.secho(f"\n{name}", bold=True)
        click.echo(
            f"{'code':<{w}}  {'suggested':>9}  {'accepted':>8}  {'rejected':>8}  {'pending':>7}  {'by hand':>7}  "
            f"{'est. unfound':>12}  {'est. recall':>11}"
        )
        for r in mine:
            unf = f"{r.expected_unfound:.1f}" if r.expected_unfound is not None else "—"
            rec = f"{r.estimated_recall:.0%}" if r.estimated_recall is not None else "—"
            click.echo(
                f"{label(r.code):<{w}}  {r.suggested:>9}  {r.accepted:>8}  {r.rejected:>8}  {r.pending:>7}  "
                f"{r.added:>7}  {unf:>12}  {rec:>11}"
            )
        acc, rej = sum(r.accepted for r in mine), sum(r.rejected for r in mine)
        pend, added = sum(r.pending for r in mine), sum(r.added for r in mine)
        click.echo(f"{'total':<{w}}  {'':>9}  {acc:>8}  {rej:>8}  {pend:>7}  {added:>7}")
        other = sum(r.rejected_unsuggested for r in mine)
        if other:
            click.echo(
                f"Also rejected: {plural(other, 'code')} where no run suggested {'it' if other == 1 else 'them'} "
                "(near misses of --order uncertain, codes overruled in a reconciliation), not counted above."
            )
        if any(r.expected_unfound is None for r in mine):
            click.secho(
                f"— no estimate yet: the code's probabilities are not calibrated on {name}'s answers (a re-fit, "
                "during review or by 'coder suggest --learn', calibrates a code once enough of its suggestions "
                "are answered both ways).",
                dim=True,
            )


COMMANDS = (review, code, status)
