"""learned.v2: the anchored logistic model (pure), and in a project: per coder, calibrated probabilities only
once earned, exclusive sets, the export's probability column."""

from __future__ import annotations

import csv
import io
import json
import threading

import numpy as np
import pytest

from coder import learn2 as l2
from coder.app import learning_v2 as lv2
from coder.errors import CoderError
from coder.sample import sample_rank

from .test_learn import pets
from .test_learn2_pooled import _pooled_rows


def _examples(x, s0, y, weight=None, yes=0, no=0):
    y = np.asarray(y, bool)
    return l2.Examples(
        np.asarray(x, float), np.asarray(s0, float), y, np.ones(len(y)) if weight is None else weight, yes, no
    )


def _answer_a_third(project, segs, gold, **review):
    """ana codes the first third of the pets project's sentences from gold (Pets, else Work)."""
    ana = project.review("ana", **review)
    for s in segs[: len(segs) // 3]:
        ana.apply_code(s.id, "Pets" if (s.id, "Pets") in gold else "Work")


def test_with_no_answers_the_model_is_the_zero_shot_prior():
    m = l2.fit([_examples(np.zeros((0, 4)), [], [])], threshold=0.35)
    s0 = np.array([[0.25], [0.35], [0.45]])
    np.testing.assert_allclose(m.proba(np.ones((3, 4)), s0)[:, 0], l2.sigmoid((s0[:, 0] - 0.35) / l2.PRIOR_SCALE))
    assert not m.calibrated.any()


def test_a_few_answers_move_it_a_little_many_move_it_more_and_the_same_answers_give_the_same_model():
    rng = np.random.default_rng(0)
    d = 8
    direction = np.eye(d)[0]

    def data(n):
        x = rng.normal(size=(n, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y = x @ direction > 0  # what the coder answers: unrelated to the zero-shot score
        return x, np.full(n, 0.35), y

    x_test, s_test, y_test = data(400)
    few = l2.fit_code(_examples(*data(4)), 0.35)
    many_x, many_s, many_y = data(400)
    many = l2.fit_code(_examples(many_x, many_s, many_y, yes=int(many_y.sum()), no=int((~many_y).sum())), 0.35)
    again = l2.fit_code(_examples(many_x, many_s, many_y, yes=int(many_y.sum()), no=int((~many_y).sum())), 0.35)

    def accuracy(cm):
        return float(((l2.Model((cm,), 0.35).proba(x_test, s_test[:, None])[:, 0] >= 0.5) == y_test).mean())

    assert np.linalg.norm(few.w) < np.linalg.norm(many.w)
    assert accuracy(many) > 0.85 and accuracy(many) > accuracy(few)
    np.testing.assert_array_equal(many.w, again.w)
    assert many.calibrated and not few.calibrated


def test_balanced_weights_give_each_class_the_same_total():
    y = np.array([True, False, False, False])
    w = l2.balanced_weights(y, np.array([1.0, 1.0, 1.0, 0.5]))
    assert w[y].sum() == pytest.approx(w[~y].sum()) and w.sum() == pytest.approx(3.5)
    np.testing.assert_array_equal(l2.balanced_weights(y[:1], np.ones(1)), np.ones(1))  # one class: unchanged


def test_select_picks_one_child_of_an_exclusive_set_and_the_most_specific_code():
    # codes: 0 = Talk (exclusive parent), 1 = Change, 2 = Sustain, 3 = Other theme, 4 = its child
    anc = np.zeros((5, 5), bool)
    anc[1, 0] = anc[2, 0] = anc[4, 3] = True
    p = np.array(
        [
            [0.9, 0.7, 0.6, 0.1, 0.1],  # both children pass: only the likelier
            [0.2, 0.3, 0.4, 0.8, 0.6],  # no child passes nor the parent: none; the child beats its parent
            [0.7, 0.1, 0.2, 0.1, 0.1],  # the parent applies: its likeliest child is suggested even below 0.5
        ]
    )
    picks = l2.select(p, anc, [(0, [1, 2])], at=0.5)
    assert picks == [[(1, 1)], [(4, 1)], [(2, 1)]]
    # the top-level set of an exclusive codebook (parent -1) applies to every sentence, even where nothing passes
    top = np.zeros((3, 3), bool)
    q = np.array([[0.1, 0.3, 0.2], [0.6, 0.7, 0.1], [0.9, 0.1, 0.1]])
    assert l2.select(q, top, [(-1, [0, 1, 2])], at=0.5) == [[(1, 1)], [(1, 1)], [(0, 1)]]


def test_learned_v2_in_a_project(project, stored, embedder, blank_splitter, tmp_path):
    segs, gold, f1 = pets(project, stored, embedder, blank_splitter, tmp_path)
    train = segs[: len(segs) // 3]
    ana = project.review("ana")
    for s in train[:4]:  # a handful of answers: probabilities are not calibrated yet
        ana.apply_code(s.id, "Pets" if (s.id, "Pets") in gold else "Work")
    [few] = project.learn(coder="ana", learner="learned.v2")
    assert few.coder == "ana" and not few.prior_fitted
    assert few.why_not == (2, 0, False)  # both codes short of answers: what `coder suggest --learn` says
    assert stored.learned_run("ana").suggester == "learned.v2" and stored.learned_run("ana").calibrated_codes() == set()
    assert all(not i.calibrated for i in project.review("ana").pending())
    assert all(c.probability is None for cs in project.chips("ana", project.document("t1").id).values() for c in cs)
    assert all(r.expected_unfound is None for r in project.status(["ana"], all_codes=True))  # no estimate yet
    for s in train[4:]:
        ana.apply_code(s.id, "Pets" if (s.id, "Pets") in gold else "Work")
    [res] = project.learn(coder="ana", learner="learned.v2")
    assert res.decisions == len(train) and stored.learned_run("ana").calibrated_codes() == {"Pets", "Work"}
    assert stored.learned_run("ana").method.endswith(",words=1-2gram)")  # the recipe, whichever codes use words
    assert f1("learned.v2") > f1("similarity.v2") + 0.2
    assert {r.code: r.expected_unfound is not None for r in project.status(["ana"], all_codes=True)} == {
        "Pets": True,
        "Work": True,
    }
    shown = [i for i in project.review("ana").pending() if i.suggester == "learned.v2"]
    assert shown and all(i.calibrated and 0 <= i.probability <= 1 for i in shown)
    # one learned run per coder: v2 replaced nothing of anyone else's, and v1 again replaces v2
    project.learn(coder="ana", learner="learned.v1")
    assert [r.suggester for r in stored.active_runs() if r.learned_from == "ana"] == ["learned.v1"]
    [v2] = project.learn(coder="ana", learner="learned.v2")
    assert v2.run_id != res.run_id
    # the export says the probability where it is calibrated, and leaves it empty elsewhere
    out = io.StringIO()
    project.export_codings(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    learned = [r for r in rows if r["suggester"] == "learned.v2" and r["status"] == "suggested"]
    assert learned and all(0 <= float(r["probability"]) <= 1 for r in learned)
    assert all(r["probability"] == "" for r in rows if r["suggester"] == "similarity.v2")


@pytest.mark.parametrize("suggester", ["similarity.v1", "similarity.v2"])
def test_a_learned_run_is_anchored_on_the_active_zero_shot_runs_own_scores(
    project, stored, embedder, blank_splitter, tmp_path, suggester
):
    segs, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    project.suggest(embedder, threshold=0.3, suggester=suggester)
    _answer_a_third(project, segs, gold, learn_every=0)
    project.learn(coder="ana", learner="learned.v2")
    zero = stored.zero_shot_run()
    assert zero.suggester == suggester
    paths = json.loads(zero.code_paths)
    scores = dict(stored.run_scores(zero))
    mine = [r for r in stored.suggestions() if r.learned_from == "ana"]
    assert mine
    for r in mine:  # each learned suggestion records the zero-shot score it was anchored on
        assert r.score == pytest.approx(float(scores[r.segment_id][paths.index(r.code_path)]), abs=1e-5)


def test_a_new_suggest_refits_with_the_same_learner(precoded, embedder):
    ana = precoded.review("ana")
    for item in ana.pending()[:3]:
        ana.accept(item)
    precoded.learn(coder="ana", learner="learned.v2")
    res = precoded.suggest(embedder, threshold=0.2)
    assert [(r.coder, r.run_id > 0) for r in res.relearned] == [("ana", True)]
    with pytest.raises(CoderError, match=r"no learner 'learned\.v9'"):
        precoded.learn(coder="ana", learner="learned.v9")


def test_a_code_keeps_its_zero_shot_score_when_learning_does_not_beat_it():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 6))
    s0 = rng.uniform(0.2, 0.5, size=120)
    y = s0 >= 0.35  # the zero-shot score already says it all: nothing for the model to add
    model = l2.fit_code(_examples(x, s0, y, yes=int(y.sum()), no=int((~y).sum())), 0.35)
    assert not model.calibrated and (model.w == 0).all() and (model.a, model.b, model.cut) == (1.0, 0.0, 0.5)


def test_the_cut_has_the_best_f1_on_held_out_probabilities_and_the_gate_never_goes_below_one_half():
    p = np.array([0.2, 0.3, 0.35, 0.9, np.nan])  # NaN: a row no fold held out
    y = np.array([True, True, True, True, False])
    assert l2.best_cut(p, y) == 0.2  # held-out probabilities may say the best cut is low
    assert l2.best_cut(p, y, l2.GATE_CUTS) == 0.5  # the gate's in-sample cut is never below 0.5
    assert l2.best_cut(np.array([0.55, 0.65, 0.9]), np.array([False, True, True])) == 0.6
    assert l2.best_cut(np.array([0.3, 0.3]), np.array([False, False])) == 0.5  # no yes at all: ties go to 0.5


def test_a_learned_code_is_suggested_from_the_cut_its_held_out_answers_favour():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x[:, 1] > 0.3  # a direction zero-shot does not know about
    s0 = np.full(n, 0.30)
    docs = np.repeat(np.arange(6), n // 6)
    ex = l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, docs)
    cv = l2._cross_validated(x, (s0 - 0.35) / l2.PRIOR_SCALE, ex, np.ones(n, bool), (l2.L2_W, l2.L2_A, l2.L2_B))
    assert not np.isnan(cv.held_out).any()  # every row was held out once
    model = l2.fit_code(ex, 0.35)
    assert model.calibrated and model.cut == l2.best_cut(cv.held_out, y)
    assert model.cut in l2.CUTS


def test_a_code_answered_in_one_document_only_is_not_learned_on_its_own():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x[:, 1] > 0.3
    s0 = np.full(n, 0.30)
    one = l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, np.zeros(n, int))
    two = l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, np.repeat([0, 1], n // 2))
    assert not l2.fit_code(one, 0.35).calibrated
    assert l2.fit_code(two, 0.35).calibrated


def test_a_code_whose_yes_answers_come_from_few_documents_keeps_a_cut_of_one_half_or_more():
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 1] + 0.3 * rng.normal(size=n)) > 0.55  # a rare, noisy code: its best held-out cut is low
    s0 = np.full(n, 0.30)

    def fitted(docs):
        return l2.fit_code(l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, docs), 0.35)

    many = fitted(np.repeat(np.arange(10), n // 10))
    few = fitted(np.repeat([0, 1], n // 2))
    assert many.calibrated and few.calibrated
    assert many.cut < 0.5 <= few.cut  # the floor holds until the yes answers span LOW_CUT_DOCUMENTS documents
    assert np.linalg.norm(few.w) < np.linalg.norm(many.w)  # and the stronger penalty keeps it nearer zero-shot


def test_only_rows_answered_in_full_count_toward_a_cut_below_one_half():
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 1] + 0.3 * rng.normal(size=n)) > 0.55  # as above: its best held-out cut is low
    s0 = np.full(n, 0.30)
    docs = np.repeat(np.arange(10), n // 10)

    def fitted(finished):
        ex = l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, docs, finished)
        return l2.fit_code(ex, 0.35)

    every = fitted(np.ones(n, bool))
    part = fitted(docs < 4)  # four finished; the other six answered in part ("uncertain first")
    assert every.calibrated and part.calibrated
    assert every.cut < 0.5 <= part.cut
    assert every.cut == fitted(None).cut  # None: every document counts, as before


def test_a_project_marks_the_rows_the_coder_has_not_answered_in_full_from_the_start(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    _, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    one = project.review("ana", document_id=project.document("t1").id)
    for item in one.pending():  # t1 finished
        (one.accept if (item.segment_id, item.code_path) in gold else one.reject)(item)
    t2 = project.document("t2").id
    suggested = list(dict.fromkeys(i.segment_id for i in project.review("ana", document_id=t2).pending()))
    head, gap = suggested[0], suggested[1]  # t2's first suggested sentence answered, its second left
    coded = [s.id for t in project.document_view(t2).turns for s in t.segments if s.coded]
    part = coded[coded.index(gap) + 1 : coded.index(gap) + 4]  # answered after the gap, as uncertain first does
    ana = project.review("ana")
    for item in project.review("ana", document_id=t2).pending():
        if item.segment_id == head:
            (ana.accept if (head, item.code_path) in gold else ana.reject)(item)
    for s in part:
        ana.apply_code(s, "Pets" if (s, "Pets") in gold else "Work")
    seen, pooled = [], []
    fit, pool = l2.fit, lv2._pool_the_rest
    monkeypatch.setattr(l2, "fit", lambda examples, threshold: seen.extend(examples) or fit(examples, threshold))
    monkeypatch.setattr(
        lv2, "_pool_the_rest", lambda model, answered, *a: pooled.extend(answered) or pool(model, answered, *a)
    )
    project.learn(coder="ana", learner="learned.v2")
    ex = seen[0]
    n = ex.coder_rows
    assert n and set(ex.documents[:n]) == {"t1.txt", "t2.txt"}
    assert ex.finished.sum() == n - len(part)  # t1, and t2 up to its gap; not what was answered after it
    # the codes pooled together learn their map and cut from those rows only
    t1 = {s.id for t in project.document_view(project.document("t1").id).turns for s in t.segments}
    rows = {s for _, mine, _ in pooled for s in mine}
    assert head in rows and rows <= t1 | {head}
    # the gap answered, t2 is answered in full up to the last of those sentences: they count now
    for item in project.review("ana", document_id=t2).pending():
        if item.segment_id == gap:
            ana.reject(item, reason="wrong code")
    seen.clear()
    project.learn(coder="ana", learner="learned.v2")
    ex = seen[0]
    assert ex.finished.all() and set(ex.documents) == {"t1.txt", "t2.txt"}


def test_the_random_sample_answered_from_its_start_may_vouch_for_an_exclusive_set(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    from coder import learn2_sets as l2s

    from .test_learn import PETS, write

    _, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    project.load_codebook(write(tmp_path / "both.yaml", PETS.replace("codes:\n", "exclusive: true\ncodes:\n", 1)))
    project.suggest(embedder, threshold=0.3)
    for name in ("t1", "t2", "t3", "t4", "t5", "t6"):  # one whose first sentence comes late in the sample
        on: dict[int, list] = {}
        for item in project.review("ana", document_id=project.document(name).id).pending():
            on.setdefault(item.segment_id, []).append(item)
        order = sorted(on, key=lambda s: sample_rank(on[s][0].document, on[s][0].segment_idx))
        if min(on, key=lambda s: on[s][0].segment_idx) not in order[:4]:
            break
    else:
        pytest.fail("no transcript to test")
    head, gap, late = order[:2], order[2], order[3]  # its sample's first two answered, the third not, the fourth
    ana = project.review("ana")
    for seg in [*head, late]:  # each put in one member of the set: a row of the set's
        ana.apply_code(seg, "Pets" if (seg, "Pets") in gold else "Work")
    codes, sets = [], []
    fit, fit_group = l2.fit, l2s.fit_group
    monkeypatch.setattr(l2, "fit", lambda examples, threshold: codes.extend(examples) or fit(examples, threshold))
    monkeypatch.setattr(l2s, "fit_group", lambda ex, *a, **k: sets.append(ex) or fit_group(ex, *a, **k))
    project.learn(coder="ana", learner="learned.v2")
    # not one of these is read in order (the transcript's first sentence waits): only the sample vouches, for sets
    assert sets[0].coder_rows == 3 and list(sets[0].finished) == [s in head for s in sorted([*head, late])]
    assert codes[0].coder_rows == 3 and not codes[0].finished[:3].any()  # a code counts whole transcripts' starts
    ana.apply_code(gap, "Pets" if (gap, "Pets") in gold else "Work")  # the gap answered: in full to the fourth
    sets.clear()
    project.learn(coder="ana", learner="learned.v2")
    assert sets[0].coder_rows == 4 and sets[0].finished.all()


def test_folds_hold_out_whole_documents():
    docs = np.array(["b"] * 5 + ["a"] * 5 + ["c"] * 4 + ["d"] * 6)
    fold = l2._folds(len(docs), docs)
    for d in "abcd":
        assert len(set(fold[docs == d])) == 1  # a document is never split between folds
    assert sorted(set(fold)) == [0, 1, 2] and fold[0] == 0 and fold[-1] == 2  # in order of first appearance
    assert l2._folds(4, np.array(["x", "x", "y", "y"])).tolist() == [0, 0, 1, 1]  # two documents: two folds
    assert l2._folds(6, None).tolist() == [0, 0, 1, 1, 2, 2]  # no documents: contiguous thirds


def test_a_losing_child_of_an_exclusive_set_takes_its_subcodes_with_it():
    # 0 = Stage (exclusive), 1 = Early, 2 = Late, 3 = Late > Detail
    anc = np.zeros((4, 4), bool)
    anc[1, 0] = anc[2, 0] = anc[3, 0] = anc[3, 2] = True
    p = np.array([[0.1, 0.9, 0.3, 0.8]])  # Early wins; Late's subcode passed on its own
    assert l2.select(p, anc, [(0, [1, 2])], at=0.5) == [[(1, 1)]]
    p = np.array([[0.1, 0.2, 0.4, 0.8]])  # Late wins through its subcode, which is kept as the more specific
    assert l2.select(p, anc, [(0, [1, 2])], at=0.5) == [[(3, 1)]]


def test_exclusive_groups_of_a_project_codebook_name_the_top_level_set():
    from coder.app.learning_v2 import exclusive_groups
    from coder.codebook import parse_codebook

    book = parse_codebook(
        'name: w\nversion: "1"\nexclusive: true\ncodes:\n  - {name: A, definition: a.}\n'
        "  - name: B\n    definition: b.\n    exclusive: true\n    children:\n"
        "      - {name: C, definition: c.}\n      - {name: D, definition: d.}\n"
    )
    assert exclusive_groups(book) == [(-1, [0, 1]), (1, [2, 3])]


def test_an_exclusive_codebook_in_a_project_gets_one_code_per_sentence_learned_as_a_set(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    from coder import learn2_sets as l2s

    from .test_learn import PETS, write

    read = []  # the words each learned set's pick was given while the run was scored
    pick = l2s.GroupModel.pick
    monkeypatch.setattr(
        l2s.GroupModel,
        "pick",
        lambda self, x, *a, words=None, **k: read.append((len(x), words)) or pick(self, x, *a, words=words, **k),
    )

    segs, gold, f1 = pets(project, stored, embedder, blank_splitter, tmp_path)
    project.load_codebook(write(tmp_path / "both.yaml", PETS.replace("codes:\n", "exclusive: true\ncodes:\n", 1)))
    project.suggest(embedder, threshold=0.3)
    zero = {}
    for r in stored.suggestions():
        if r.suggester == "similarity.v2":
            zero.setdefault(r.segment_id, []).append(r.code_path)
    assert all(len(zero.get(s.id, [])) == 1 for s in segs)  # every sentence: exactly one of the two
    before = f1("similarity.v2")
    _answer_a_third(project, segs, gold)
    given = []  # what the set's gate is told about the answers
    fit_group = l2s.fit_group
    monkeypatch.setattr(l2s, "fit_group", lambda ex, *a, **k: given.append(ex) or fit_group(ex, *a, **k))
    [res] = project.learn(coder="ana", learner="learned.v2")
    assert res.coder == "ana" and res.models == 2  # both codes learned, as one set
    [ex] = given  # answered in document order from the start: every row may vouch for the set
    assert ex.finished is not None and len(ex.finished) == ex.coder_rows and ex.finished.all()
    run = stored.learned_run("ana")
    assert read and all(w is not None and w.shape[0] == n for n, w in read)  # every batch scored with its words
    assert run.calibrated_codes() == {"Pets", "Work"}  # the set was learned, so both are calibrated
    rows = dict(stored.run_scores(run))
    assert len(rows) == len(segs)
    np.testing.assert_allclose([float(np.sum(p)) for p in rows.values()], 1.0)  # one distribution per sentence
    learned = {}
    for r in stored.suggestions(for_coders=["ana"]):
        if r.suggester == "learned.v2":
            learned.setdefault(r.segment_id, []).append(r.code_path)
    assert all(len(learned.get(s.id, [])) == 1 for s in segs)
    assert f1("learned.v2") > before


def test_order_uncertain_offers_likely_codes_nobody_suggested(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    from coder.app import review as rv

    segs, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    _answer_a_third(project, segs, gold)
    project.learn(coder="ana", learner="learned.v2")
    assert not [i for i in project.review("ana").pending() if not i.suggested]  # document order: suggestions only
    monkeypatch.setattr(rv, "NEAR_MISS", 0.02)  # a low bar, so this small project has near misses to show
    queue = project.review("ana", order="uncertain").pending()
    near = [i for i in queue if not i.suggested]
    assert near, "no near miss to test"
    run = stored.learned_run("ana")
    scores = dict(stored.run_scores(run))
    paths = rv._paths(run)
    suggested = {(i.segment_id, i.code_path) for i in queue if i.suggested}
    answered = {(d.segment_id, d.code_path) for d in stored.decisions(coder="ana")}
    for i in near:
        assert i.calibrated and i.suggestion_id is None and i.evidence
        assert i.probability == pytest.approx(float(scores[i.segment_id][paths.index(i.code_path)]))
        assert i.probability >= 0.02 and (i.segment_id, i.code_path) not in suggested | answered
    doubt = [abs(i.probability - 0.5) for i in queue if not i.sampled]  # the random sample's sentences aside
    assert doubt == sorted(doubt)
    # answering one: accept codes the sentence by hand, reject says "not this code"; neither comes back
    session = project.review("ana", order="uncertain")
    first = next(i for i in session.pending() if not i.suggested)
    before = {r.code: r for r in project.status(["ana"], all_codes=True)}
    session.accept(first)
    second = next(
        i
        for i in session.pending()
        if not i.suggested and i.segment_id != first.segment_id and i.code_path != first.code_path
    )
    session.reject(second)
    after = {r.code: r for r in project.status(["ana"], all_codes=True)}
    # status: an accepted near miss is a code given by hand; a rejected one is a near miss rejected, not a rejection
    # of a suggestion (suggested = accepted + rejected + pending still holds)
    assert after[first.code_path].added == before[first.code_path].added + 1
    assert after[second.code_path].rejected_unsuggested == before[second.code_path].rejected_unsuggested + 1 == 1
    assert after[second.code_path].rejected == before[second.code_path].rejected
    rows = {(d.segment_id, d.code_path): (d.answer, d.suggestion_id) for d in stored.decisions(coder="ana")}
    assert rows[(first.segment_id, first.code_path)] == ("accept", None)
    assert rows[(second.segment_id, second.code_path)] == ("reject", None)
    again = {(i.segment_id, i.code_path) for i in project.review("ana", order="uncertain").pending()}
    assert not {(first.segment_id, first.code_path), (second.segment_id, second.code_path)} & again
    # "no code" on a near miss rejects the sentence's suggestions, never a code nobody suggested
    with_near = project.review("ana", order="uncertain")
    near_only = next(
        (
            i
            for i in with_near.pending()
            if not i.suggested and not any(j.suggested and j.segment_id == i.segment_id for j in with_near.pending())
        ),
        None,
    )
    assert near_only is not None, "no sentence with near misses only"
    with pytest.raises(CoderError, match="no suggestion is pending on this sentence"):
        with_near.no_code(near_only)
    # only codes calibrated for this coder: another coder with no learned run is offered none
    assert not [i for i in project.review("ben", order="uncertain").pending() if not i.suggested]


def test_a_code_is_learned_only_if_no_held_out_third_of_the_answers_does_worse(monkeypatch):
    rng = np.random.default_rng(0)
    n = 150
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x[:, 0] > 0
    y[100:] = x[100:, 0] > 0.5  # the last third of the answers follows a stricter rule ...
    s0 = np.full(n, 0.35) + np.where(x[:, 0] > 0.5, 0.02, -0.02)  # ... which zero-shot already gets right
    ex = _examples(x, s0, y, yes=int(y.sum()), no=int((~y).sum()))
    cv = l2._cross_validated(x, (s0 - 0.35) / l2.PRIOR_SCALE, ex, np.ones(n, bool), (l2.L2_W, l2.L2_A, l2.L2_B))
    assert cv.learned_f1 > cv.zero_f1 and cv.worse  # better over all three thirds, worse on one
    assert not l2.fit_code(ex, 0.35).calibrated
    monkeypatch.setattr(l2, "EVERY_FOLD", False)
    assert l2.fit_code(ex, 0.35).calibrated  # the pooled win alone would have let it through


def test_codes_not_learned_share_the_pooled_map_and_keep_their_zero_shot_suggestions(monkeypatch):
    from coder.app import learning_v2 as lv2
    from coder.app.learning_v2 import _pool_the_rest

    t = 0.35
    _, offset, y = _pooled_rows(2, 0.6, -1.5, n=600)
    n_sent = 300
    s0 = np.full((n_sent, 3), t)
    answered = []
    for j in range(2):  # codes 0 and 1 answered; code 2 never
        mine = list(range(j, n_sent, 2))
        s0[mine, j] = t + offset[: len(mine)] * l2.PRIOR_SCALE
        answered.append((j, mine, y[: len(mine)]))
    prior = l2.Model(tuple(l2.CodeModel(np.zeros(4), 1.0, 0.0, False) for _ in range(3)), t)
    one_doc = {s: "d" for s in range(n_sent)}
    model, _ = _pool_the_rest(prior, answered, s0, {s: s for s in range(n_sent)}, set(), t, one_doc)
    assert not model.calibrated.any()  # one document's answers: no map yet
    monkeypatch.setattr(lv2.l2p, "shared_cut", lambda docs, score, y, threshold: threshold)  # tested below
    ten_docs = {s: f"d{s // 30}" for s in range(n_sent)}
    model, _ = _pool_the_rest(prior, answered, s0, {s: s for s in range(n_sent)}, set(), t, ten_docs)
    assert model.calibrated.all()
    x = np.zeros((n_sent, 4))
    p = model.proba(x, s0)
    picks = l2.select(p, np.zeros((3, 3), bool), at=model.cuts, top_k=3)
    zero = l2.select(l2.sigmoid((s0 - t) / l2.PRIOR_SCALE), np.zeros((3, 3), bool), top_k=3)
    assert [sorted(c for c, _ in row) for row in picks] == [sorted(c for c, _ in row) for row in zero]
    assert p.max() < 0.9  # a yes was rarer than the prior map said: probabilities come down
    kept, _ = _pool_the_rest(prior, answered, s0, {s: s for s in range(n_sent)}, {0, 1, 2}, t, {})
    assert not kept.calibrated.any()  # members of exclusive sets are scored by their set's model


def test_codes_not_learned_are_suggested_from_the_shared_cut_their_documents_agree_on():
    from coder.app.learning_v2 import _pool_the_rest

    t = 0.35
    rng = np.random.default_rng(8)
    n_sent = 1200
    s0 = rng.uniform(0.15, 0.55, (n_sent, 2))
    answered = [(j, list(range(n_sent)), rng.random(n_sent) < np.where(s0[:, j] >= 0.275, 0.8, 0.02)) for j in range(2)]
    prior = l2.Model(tuple(l2.CodeModel(np.zeros(4), 1.0, 0.0, False) for _ in range(2)), t)
    docs = {s: f"d{s // 100}" for s in range(n_sent)}  # twelve interviews
    model, _ = _pool_the_rest(prior, answered, s0, {s: s for s in range(n_sent)}, set(), t, docs)
    p = model.proba(np.zeros((n_sent, 4)), s0)
    picked = p >= model.cuts
    np.testing.assert_array_equal(picked, s0 >= 0.275 - 1e-9)  # suggested from the learned cut, not from 0.35


def test_codes_not_learned_move_toward_what_the_coder_gave_them_where_held_out_documents_agree():
    from coder.app.learning_v2 import Moving, _pool_the_rest

    t = 0.35
    rng = np.random.default_rng(9)
    d, n_sent = 8, 1200
    x = rng.normal(size=(n_sent, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    protos = np.eye(d)[:2]  # the codebook's prototypes: axes 0 and 1
    truth = np.eye(d)[2:4]  # what the coder means by each code: axes 2 and 3, which zero-shot does not see
    s0 = x @ protos.T
    yes = (x @ truth.T) > 0.5
    answered = [(j, list(range(n_sent)), yes[:, j]) for j in range(2)]
    prior = l2.Model(tuple(l2.CodeModel(np.zeros(d), 1.0, 0.0, False) for _ in range(2)), t)
    docs = {s: f"d{s // 100}" for s in range(n_sent)}
    rejected = [set(np.flatnonzero((s0[:, j] >= t) & ~yes[:, j]).tolist()) for j in range(2)]
    given = [set(np.flatnonzero(yes[:, j]).tolist()) for j in range(2)]
    moving = Moving(x, protos, given, rejected)
    row = {s: s for s in range(n_sent)}
    model, shift = _pool_the_rest(prior, answered, s0, row, set(), t, docs, moving)
    assert shift is not None and (shift @ truth.T).diagonal().min() > 0.3  # moved toward what she meant
    p = model.proba(x, s0 + x @ shift.T)
    f1 = lambda pred: 2 * (pred & yes).sum() / (pred.sum() + yes.sum())  # noqa: E731
    assert f1(p >= model.cuts) > f1(s0 >= t) + 0.15  # 0.28 against 0.08 here
    unmoved, none = _pool_the_rest(prior, answered, s0, row, set(), t, docs, None)
    assert none is None and f1(unmoved.proba(x, s0) >= unmoved.cuts) < f1(p >= model.cuts)  # without moving
    one_doc = {s: "d" for s in range(n_sent)}  # the gate cannot hold anything out: no move, exactly as without
    assert _pool_the_rest(prior, answered, s0, row, set(), t, one_doc, moving) == (
        _pool_the_rest(prior, answered, s0, row, set(), t, one_doc, None)[0],
        None,
    )


def test_fits_run_on_one_blas_thread_and_give_it_back():
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    from threadpoolctl import threadpool_limits

    from coder.app.learning_v2 import one_blas_thread

    raised = threadpool_limits(limits=2, user_api="blas")  # so that one thread is a change even on one CPU
    before = blas_threads()
    assert set(before) == {2}, "no BLAS library found: nothing to limit"
    with one_blas_thread():
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before
    # two fits in two threads, overlapping: the last one out gives the setting back, not the first
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with one_blas_thread():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(5)
    with one_blas_thread():
        second_in.set()
        first_out.wait(5)
        assert set(blas_threads()) <= {1}  # the first fit's exit did not lift the limit under the second
    t.join()
    assert blas_threads() == before
    raised.restore_original_limits()


def _word_coded(n, rng, d=6):
    """Sentences whose code hinges on one word the vectors do not carry (vectors and zero-shot scores: noise)."""
    has = rng.random(n) < 0.3
    filler = rng.integers(0, 40, size=(n, 3))
    texts = [" ".join(["parking" if h else "staff", *(f"w{k}" for k in f)]) for h, f in zip(has, filler, strict=True)]
    x = rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return texts, x, np.full(n, 0.30) + rng.normal(scale=0.01, size=n), has


def test_a_word_the_vectors_miss_is_learned_through_the_words_block():
    from coder import learn2_words as l2w

    rng = np.random.default_rng(11)
    texts, x, s0, y = _word_coded(400, rng)
    words = l2w.vocabulary(texts)

    def ex(w, n_docs=2 * l2.MANY_DOCUMENTS):
        docs = np.repeat(np.arange(n_docs), 400 // n_docs)
        return l2.Examples(x, s0, y, np.ones(400), int(y.sum()), int((~y).sum()), 400, docs, None, w)

    without = l2.fit_code(ex(None), 0.35)
    with_words = l2.fit_code(ex(words(texts)), 0.35)
    assert without.v is None and with_words.calibrated and with_words.v is not None
    assert l2.fit_code(ex(words(texts), n_docs=10), 0.35).v is None  # yes answers from a few documents: no words
    t_texts, t_x, t_s0, t_y = _word_coded(300, np.random.default_rng(12))

    def accuracy(cm, w):
        return float(((l2.Model((cm,), 0.35).proba(t_x, t_s0[:, None], w)[:, 0] >= cm.cut) == t_y).mean())

    assert accuracy(with_words, words(t_texts)) > 0.95 > 0.8 > accuracy(without, None)  # the vectors are noise
    again = l2.fit_code(ex(words(texts)), 0.35)
    np.testing.assert_array_equal(with_words.v, again.v)  # the same answers give the same model


def test_a_code_whose_yes_answers_span_many_documents_is_gated_over_all_and_suggested_from_its_base_rate(
    monkeypatch,
):
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 1] + 0.3 * rng.normal(size=n)) > 0.55
    s0 = np.full(n, 0.30)
    seen = []
    real = l2._cross_validated

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(l2, "_cross_validated", spy)

    def fitted(n_docs):
        docs = np.repeat(np.arange(n_docs), n // n_docs)
        return l2.fit_code(l2.Examples(x, s0, y, np.ones(n), int(y.sum()), int((~y).sum()), n, docs), 0.35)

    many = fitted(2 * l2.MANY_DOCUMENTS)
    assert seen[-1] == {"stop_if_worse": False, "base_rate": True}
    assert many.calibrated and many.cut == pytest.approx(y.mean())  # where its balanced model says one half
    fewer = fitted(10)
    assert seen[-1] == {"stop_if_worse": l2.EVERY_FOLD, "base_rate": False}
    assert fewer.calibrated and fewer.cut in l2.CUTS


def test_learning_says_which_codes_had_enough_answers_but_kept_zero_shot(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    segs, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    _answer_a_third(project, segs, gold)
    [res] = project.learn(coder="ana", learner="learned.v2")
    assert res.models == 2 and res.why_not == (0, 0, False)  # both learned on their own, nothing left to move

    def worse(x, offset, ex, *args, **kwargs):  # every code's learned suggestions lose on a held-out third
        return l2.CrossValidation(0.0, 1.0, True, np.full(len(ex.y), np.nan))

    monkeypatch.setattr(l2, "_cross_validated", worse)
    [kept] = project.learn(coder="ana", learner="learned.v2")
    assert kept.models == 0 and kept.why_not[:2] == (0, 2)


def test_no_words_are_read_where_no_model_could_weigh_them(
    project, stored, embedder, blank_splitter, tmp_path, monkeypatch
):
    """No exclusive set, and fewer finished documents than a code needs before it weighs words: none are counted."""
    segs, gold, _ = pets(project, stored, embedder, blank_splitter, tmp_path)
    _answer_a_third(project, segs, gold)

    def refuse(texts):
        raise AssertionError("a vocabulary was built that no model could use")

    monkeypatch.setattr(lv2.l2w, "vocabulary", refuse)
    [res] = project.learn(coder="ana", learner="learned.v2")
    assert res.models >= 1  # learned all the same
