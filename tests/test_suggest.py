from __future__ import annotations

import numpy as np
import pytest

from coder.codebook import read_codebook
from coder.embed import HashEmbedder, normalise
from coder.suggest import build_profile, exemplar_texts, score, select

from .conftest import DATA


@pytest.fixture
def profile():
    return build_profile(read_codebook(DATA / "mini.yaml"), HashEmbedder().embed)


def test_profile_groups_exemplars(profile):
    assert len(profile.paths) == 5
    assert profile.starts.tolist() == [0, 2, 5, 8, 11]
    assert profile.texts[2] == "Reading scripture: Reading the Bible or other scripture."
    assert profile.texts[3] == "I read my Bible every night before bed."
    assert profile.ancestors[1, 0] and profile.ancestors[2, 0] and not profile.ancestors[0, 1]
    np.testing.assert_allclose(np.linalg.norm(profile.centroids, axis=1), 1, rtol=1e-5)


def test_exemplar_texts():
    assert exemplar_texts("Hope", "Looking forward.", "", ["I hope."]) == ["Hope: Looking forward.", "I hope."]


def test_scores_methods_agree_with_numpy(profile):
    segs = normalise(HashEmbedder().embed(["I read my Bible every night", "my sister picks up the phone"]))
    ex = segs @ profile.exemplars.T
    mx = score(segs, profile, "max")
    for c in range(5):
        lo, hi = profile.starts[c], (profile.starts[c + 1] if c < 4 else ex.shape[1])
        np.testing.assert_allclose(mx.scores[:, c], ex[:, lo:hi].max(axis=1), rtol=1e-5)
        assert (lo <= mx.nearest[:, c]).all() and (mx.nearest[:, c] < hi).all()
    cen = score(segs, profile, "centroid").scores
    np.testing.assert_allclose(cen, segs @ profile.centroids.T, rtol=1e-5)
    np.testing.assert_allclose(score(segs, profile, "blend").scores, (cen + mx.scores) / 2, rtol=1e-5)
    # the Bible sentence is nearest to the scripture example
    assert profile.texts[mx.nearest[0, 1]] == "I read my Bible every night before bed."
    assert mx.scores[0].argmax() == 1


def test_select_threshold_topk_and_specific_over_parent(profile):
    s = np.array(
        [
            [0.9, 0.8, 0.1, 0.1, 0.7],  # parent and child pass: child kept, parent dropped
            [0.9, 0.1, 0.1, 0.1, 0.1],  # parent alone passes: parent kept
            [0.1, 0.1, 0.1, 0.1, 0.1],  # nothing passes
            [0.1, 0.6, 0.7, 0.8, 0.9],  # top-k 2 of 4 passing
        ],
        dtype=np.float32,
    )
    picks = select(s, profile, threshold=0.5, top_k=2)
    assert picks == [[(1, 1), (4, 2)], [(0, 1)], [], [(4, 1), (3, 2)]]
    per_code = np.array([0.95, 0.5, 0.5, 0.5, 0.5], dtype=np.float32)
    assert select(s[:2], profile, threshold=per_code, top_k=3) == [[(1, 1), (4, 2)], []]


# -- exclusive: true ---------------------------------------------------------------------------------------------


@pytest.fixture
def talk():
    return read_codebook(DATA / "exclusive.yaml")


def test_exclusive_ids_and_profile_groups(talk, profile):
    from coder.suggest import exclusive_ids

    # Client talk, Change talk, Desire, Ability, Sustain talk, Neutral, Support, Family, Friends
    assert exclusive_ids(talk).tolist() == [-1, 0, -1, -1, 0, 0, -1, -1, -1]
    assert build_profile(talk, HashEmbedder().embed).exclusive.tolist() == exclusive_ids(talk).tolist()
    assert profile.exclusive is None  # mini.yaml has no exclusive code
    assert exclusive_ids(read_codebook(DATA / "mini.yaml")).tolist() == [-1] * 5


def test_select_one_child_per_exclusive_group(talk):
    p = build_profile(talk, HashEmbedder().embed)
    #               talk change desire ability sustain neutral support family friends
    s = np.array(
        [
            [0.1, 0.6, 0.1, 0.1, 0.7, 0.55, 0.1, 0.8, 0.6],  # best child only; other groups untouched
            [0.1, 0.6, 0.9, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1],  # Sustain beats Change: Desire goes with Change
            [0.1, 0.3, 0.6, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1],  # Change in play through Desire, alone
            [0.1, 0.4, 0.1, 0.6, 0.45, 0.52, 0.1, 0.1, 0.1],  # Neutral (0.52) beats Change (0.4, via Ability)
            [0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],  # the exclusive parent alone
            [0.9, 0.6, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1],  # a tie goes to the first child; parent dropped
            [0.1] * 9,
        ],
        dtype=np.float32,
    )
    # the set's pick ranks first; where only the parent passes, its best child is picked (a tie: the first)
    want = [[(4, 1), (7, 2), (8, 3)], [(4, 1)], [(2, 1)], [(5, 1)], [(1, 1)], [(1, 1)], []]
    assert select(s, p, threshold=0.5, top_k=9) == want
    # the ancestor-matrix call shape takes the groups as an argument, and without them nothing changes
    assert select(s, p.ancestors, threshold=0.5, top_k=9, exclusive=p.exclusive) == want
    assert select(s, p.ancestors, threshold=0.5, top_k=9)[:2] == [
        [(7, 1), (4, 2), (1, 3), (8, 4), (5, 5)],
        [(2, 1), (4, 2)],
    ]
    # exclusivity comes before top_k: the dropped siblings do not take a place
    assert select(s[:1], p, threshold=0.5, top_k=2) == [[(4, 1), (7, 2)]]
    # an explicit argument wins over the profile's groups
    assert select(s[:1], p, threshold=0.5, top_k=9, exclusive=np.full(9, -1)) == [
        [(7, 1), (4, 2), (1, 3), (8, 4), (5, 5)]
    ]


WHOLE = """name: whole
version: "1"
exclusive: true
codes:
  - {name: Change, definition: For change.}
  - name: Sustain
    definition: Against change.
    children:
      - {name: Doubt, definition: Doubts about changing.}
  - {name: Neutral, definition: Neither.}
"""


def test_exclusive_codebook_gives_every_unit_one_top_level_code():
    from coder.codebook import parse_codebook
    from coder.suggest import exclusive_ids

    book = parse_codebook(WHOLE)
    assert book.exclusive and book.exclusive_groups() == [(None, ("Change", "Sustain", "Neutral"))]
    assert exclusive_ids(book).tolist() == [4, 4, -1, 4]  # group id 4 = the number of codes: no parent
    p = build_profile(book, HashEmbedder().embed)
    #               change sustain doubt neutral
    s = np.array(
        [
            [0.1, 0.2, 0.1, 0.3],  # none passes: the best is suggested all the same
            [0.1, 0.3, 0.7, 0.2],  # only Sustain's branch passes, through Doubt: Doubt, the more specific
            [0.6, 0.1, 0.7, 0.2],  # both branches pass: the higher own score (Change 0.6, Sustain 0.1)
            [0.6, 0.1, 0.1, 0.8],  # both pass: the best
        ],
        dtype=np.float32,
    )
    assert select(s, p, threshold=0.5, top_k=3) == [[(3, 1)], [(2, 1)], [(0, 1)], [(3, 1)]]
    r = np.random.default_rng(3).uniform(0, 1, size=(300, 4)).astype(np.float32)
    assert all(len(got) == 1 for got in select(r, p, threshold=0.5, top_k=3))  # one branch on every unit
    assert all(len(got) == 1 for got in select(r, p, threshold=2.0, top_k=3))  # even where nothing passes


NESTED = """name: nested
version: "1"
codes:
  - name: Stage
    definition: Stage of change.
    exclusive: true
    children:
      - name: Early
        definition: Early stage.
        exclusive: true
        children:
          - {name: Precontemplation, definition: Not thinking about it.}
          - {name: Contemplation, definition: Thinking about it.}
      - name: Late
        definition: Late stage.
        children:
          - {name: Action, definition: Doing it.}
          - {name: Maintenance, definition: Keeping it up.}
  - name: Other
    definition: Something else.
    children:
      - {name: One, definition: One thing.}
      - {name: Two, definition: Another.}
"""


def test_select_exclusive_groups_hold_on_random_scores(talk):
    from coder.codebook import parse_codebook

    rng = np.random.default_rng(7)
    for book in (talk, parse_codebook(NESTED)):
        p = build_profile(book, HashEmbedder().embed)
        s = rng.uniform(0, 1, size=(400, len(p.paths))).astype(np.float32)
        free = select(s, p.ancestors, threshold=0.6, top_k=len(p.paths))
        picks = select(s, p, threshold=0.6, top_k=len(p.paths))
        groups = book.exclusive_groups()
        for row, got, was in zip(s, picks, free, strict=True):
            paths = [p.paths[c] for c, _ in got]
            inside = [k for _, kids in groups for k in kids]

            def outside(path, inside=inside):
                return not any(path == k or path.startswith(k + " > ") for k in inside)

            def branch_of(path, kids):
                return [k for k in kids if path == k or path.startswith(k + " > ")]

            # only a set's pick may be added, and only where its parent or a member's branch passed
            for x in set(paths) - {p.paths[c] for c, _ in was}:
                parent, kids = next((g, kids) for g, kids in groups if x in kids)  # a member of some set
                assert (
                    row[p.paths.index(parent)] >= 0.6
                    or any(branch_of(p.paths[c], kids) for c, _ in was)
                    or parent in inside  # the parent was itself an outer set's pick: its own set applies in turn
                )
            for parent, kids in groups:  # exactly one member's branch where the parent survives and applies
                n = sum(bool([x for x in paths if branch_of(x, [k])]) for k in kids)
                assert n <= 1
                if n == 0 and parent not in inside:  # an outermost set with no pick: nothing of it passed
                    assert row[p.paths.index(parent)] < 0.6
                    assert not any(branch_of(p.paths[c], kids) for c, _ in was)
            # codes outside every exclusive child's branch (the exclusive parents too) are as before, less a
            # parent whose set picked a child (the more specific code is suggested)
            picked_parents = {g for g, kids in groups if any(branch_of(x, kids) for x in paths)}
            assert [x for x in paths if outside(x)] == [
                p.paths[c] for c, _ in was if outside(p.paths[c]) and p.paths[c] not in picked_parents
            ]
            forced = {c for c, _ in got if p.paths[c] in inside and p.paths[c] not in {p.paths[k] for k, _ in was}}
            assert (row[[c for c, _ in got if c not in forced]] >= 0.6).all()


def test_embedding_writes_in_the_background_keep_every_vector_and_surface_a_failure(
    project, embedder, blank_splitter, monkeypatch
):
    from coder.app.suggesting import embed_segments
    from coder.store import Store

    from .conftest import DATA

    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    store = project._store
    wanted = store.count_missing_embeddings(embedder.model_id)
    assert embed_segments(store, embedder, batch=3) == wanted > 3  # several batches, each written by the writer
    assert store.count_missing_embeddings(embedder.model_id) == 0

    store.db.execute("DELETE FROM embeddings")

    def disk_full(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Store, "put_embeddings", disk_full)
    with pytest.raises(OSError, match="disk full"):  # raised in the caller, not lost in the writer's thread
        embed_segments(store, embedder, batch=3)


def test_embedding_inside_an_open_transaction_writes_in_line(project, embedder, blank_splitter):
    from coder.app.suggesting import embed_segments

    from .conftest import DATA

    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    store = project._store
    with store.transaction():
        assert embed_segments(store, embedder, batch=3) > 3
    assert store.count_missing_embeddings(embedder.model_id) == 0


def test_vectors_just_embedded_score_as_the_stored_ones(project, embedder, blank_splitter):
    """Scoring reads back only what it did not just embed: a partial ``have`` gives the very batches the store
    gives, and the first run (from memory) scores exactly as a re-run (from the store)."""
    from coder.app.suggesting import embed_segments

    from .conftest import DATA

    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    store = project._store
    fresh: dict[str, np.ndarray] = {}
    embed_segments(store, embedder, batch=3, keep=fresh)
    assert len(fresh) == store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] > 3
    half = dict(list(fresh.items())[::2])
    stored = list(store.iter_segment_embeddings(embedder.model_id, batch=4))
    mixed = list(store.iter_segment_embeddings(embedder.model_id, batch=4, have=half))
    assert [ids.tolist() for ids, _ in mixed] == [ids.tolist() for ids, _ in stored]
    for (_, a), (_, b) in zip(mixed, stored, strict=True):
        np.testing.assert_array_equal(a, b)

    first = project.suggest(embedder)
    matrix = {i: v.tolist() for i, v in store.run_scores(first.run)}
    assert first.run.embedded == 0 and len(matrix) == len(stored_ids := np.concatenate([i for i, _ in stored]))
    store.db.execute("DELETE FROM embeddings")
    again = project.suggest(embedder)  # embeds afresh and scores from memory
    assert again.run.embedded > 3
    assert {i: v.tolist() for i, v in store.run_scores(again.run)} == matrix
    assert sorted(matrix) == sorted(stored_ids.tolist())


def test_similarity_v2_pulls_a_code_away_from_what_it_is_not(profile):
    from coder import suggest as sg

    book = read_codebook(DATA / "mini.yaml")
    assert sg.against_texts(book.codes[0]) == [
        "Church only as a place to get food or shelter.",
        "The church gives out food on Tuesdays.",
    ]
    assert sg.against_texts(book.codes[1]) == []
    emb = HashEmbedder()
    against = normalise(emb.embed(sg.against_texts(book.codes[0])).mean(axis=0, keepdims=True))[0]
    np.testing.assert_allclose(profile.against[0], against, rtol=1e-5)
    assert not profile.against[1:].any()  # codes with no exclusions or counterexamples: a zero row
    segs = normalise(emb.embed(["the church gives out food", "my sister picks up the phone"]))
    v1 = score(segs, profile).scores
    v2 = score(segs, profile, contrast=sg.CONTRAST).scores
    np.testing.assert_allclose(v2[:, 1:], v1[:, 1:], rtol=1e-6)  # unchanged where the codebook says nothing against
    np.testing.assert_allclose(v2[:, 0], v1[:, 0] - sg.CONTRAST * (segs @ against), rtol=1e-5, atol=1e-7)
    assert v1[0, 0] - v2[0, 0] > v1[1, 0] - v2[1, 0] > -1e-7  # the food sentence is pulled away most
    assert (sg.contrast_of("similarity.v2"), sg.contrast_of("similarity.v1")) == (sg.CONTRAST, 0.0)


def test_a_profile_built_without_exclusions_cannot_score_with_contrast():
    bare = build_profile(read_codebook(DATA / "mini.yaml"), HashEmbedder().embed, against=False)
    assert bare.against is None
    segs = normalise(HashEmbedder().embed(["anything"]))
    score(segs, bare)  # v1 needs none
    with pytest.raises(ValueError, match="without what the codes are not"):
        score(segs, bare, contrast=0.15)
