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
