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
from coder import suggest as sg
from coder.app.learning_v2 import previous_sentences
from coder.app.review import Item, _paths
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
) -> list[Item]:
    """The carried codes on the sentences in scope (a document, a code's branch, one sentence) for ``coder``."""
    run = store.learned_run(coder)
    model = carry.CarryModel.from_json(run.carry if run is not None else "")
    sim_run = store.active_run(sg.SUGGESTER)
    if model is None or sim_run is None:
        return []
    current = book.by_path()
    decisions = store.decisions(coder=coder)
    latest = {(d.segment_id, d.code_path): d.answer for d in decisions}  # oldest first: the last one stands
    given: dict[int, set[str]] = defaultdict(set)
    for (seg, path), answer in latest.items():
        if answer == "accept" and path in current:
            given[seg].add(path)
    keys = store.segment_keys()
    docs = {d.name: d.id for d in store.documents()}
    if document_id is not None:
        keys = [k for k in keys if docs.get(k.document) == document_id]
    before = previous_sentences(keys)
    taken = {(i.segment_id, i.code_path) for i in pending} | {(d.segment_id, d.code_path) for d in decisions}
    wanted = [
        (s, p, prev)
        for s, prev in before.items()
        if prev in given and (segment_id is None or s == segment_id)
        for p in sorted(given[prev])
        if (s, p) not in taken and (code is None or p == code or p.startswith(code + PATH_SEP))
    ]
    if not wanted:
        return []
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
                f"you gave it to the sentence before: “{texts[prev]}”",
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
