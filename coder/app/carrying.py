"""Codes carried over from the sentence before, as review items (:mod:`coder.carry` says why and how).

Once a coder has answered a participant sentence, each code she gave it is offered on the next one where
her learned run's carry model gives it at least :data:`coder.carry.CARRY_AT`, unless something already
suggests it there or she has answered it there. Accepting one codes the sentence; rejecting it says "not
this code", as for any suggestion. Only her own answers and her own learned run are read (blind).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from coder import carry
from coder.app.learning_v2 import previous_sentences
from coder.app.review import NO_CODE, Item, _paths
from coder.errors import ProjectError
from coder.store import Store
from coder.types import PATH_SEP, Codebook


def carried_items(
    store: Store,
    coder: str,
    book: Codebook,
    *,
    document_id: int | None = None,
    code: str | None = None,
    segment_id: int | None = None,
    pending: Sequence[Item] = (),
    answered_too: bool = False,
) -> list[Item]:
    """The carried codes on the sentences in scope (a document, a code's branch, one sentence) for ``coder``
    (``answered_too``: those she has answered as well, so a carried answer can be changed)."""
    run = store.learned_run(coder)
    try:
        model = carry.CarryModel.from_json(run.carry if run is not None else "")
    except ValueError as e:
        raise ProjectError(
            f"{coder}'s learned run {run.id if run else ''} has an unreadable carry model: {e}",
            path=store.path,
            hint="run 'coder suggest --learn' to fit it again",
        ) from None
    sim_run = store.zero_shot_run()
    if model is None or sim_run is None:
        return []
    current = book.by_path()
    if segment_id is not None and document_id is None:
        row = store.segment_row(segment_id)
        document_id = row.document_id if row is not None else None
    decisions = store.decisions(coder=coder, document_id=document_id)  # oldest first: the last one stands
    latest = {(d.segment_id, d.code_path): d for d in decisions}
    given: dict[int, set[str]] = defaultdict(set)
    no_code: set[int] = set()  # sentences she said no code applies to
    for (seg, path), d in latest.items():
        if d.answer == "accept" and path in current:
            given[seg].add(path)
        elif d.reason == NO_CODE:
            no_code.add(seg)
    siblings = {k: set(kids) - {k} for _, kids in book.exclusive_groups() for k in kids}
    keys = store.segment_keys(document_id=document_id)
    before = previous_sentences(keys)
    taken = {(i.segment_id, i.code_path) for i in pending}
    if not answered_too:
        taken |= set(latest)
    wanted = [
        (s, p, prev)
        for s, prev in before.items()
        if prev in given and s not in no_code and (segment_id is None or s == segment_id)
        for p in sorted(given[prev])
        if (s, p) not in taken
        and not (siblings.get(p, set()) & given[s])  # she gave this sentence another member of p's set
        and (code is None or p == code or p.startswith(code + PATH_SEP))
    ]
    if not wanted:
        return []
    docs = {d.name: d.id for d in store.documents()}
    by_id = {k.id: k for k in keys}
    cols = {p: j for j, p in enumerate(_paths(sim_run))}
    wanted = [w for w in wanted if w[1] in cols]
    sims = dict(store.run_scores(sim_run, segment_ids={s for s, _, _ in wanted}))
    wanted = [w for w in wanted if w[0] in sims]
    if not wanted:
        return []
    similarity = np.array([float(sims[s][cols[p]]) for s, p, _ in wanted])
    prob = model.proba_at(similarity)
    texts = store.segment_texts({s for s, _, _ in wanted} | {prev for _, _, prev in wanted})
    out = []
    for (s, p, prev), sim, pr in zip(wanted, similarity, prob, strict=True):
        if pr < carry.CARRY_AT:
            continue
        k = by_id[s]
        out.append(
            Item(
                None,
                s,
                p,
                float(sim),
                float(pr),
                run.suggester if run is not None else carry.__name__,
                sim_run.model,
                texts[prev],  # the evidence: the sentence before, which she gave the code
                k.document,
                docs[k.document],
                k.participant,
                k.idx,
                k.turn,
                texts[s],
                True,
                carried=True,
            )
        )
    return out
