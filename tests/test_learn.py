"""learned.v1: pure pieces, and that learning from decisions beats similarity where it is weak."""

from __future__ import annotations

import numpy as np

from coder import evaluate as ev
from coder import learn as lr

from .conftest import write


def test_prior():
    prior = lr.Prior(0.4)
    assert prior(np.array([0.4]))[0] == 0.5
    assert prior(np.array([0.5]))[0] > 0.85
    fitted = lr.fit_prior([0.2, 0.3, 0.35] * 10 + [0.5, 0.6, 0.55] * 10, [False] * 30 + [True] * 30, 0.4)
    assert fitted.fitted and 0.35 < fitted.centre < 0.5 and fitted.scale < 0.05
    assert not lr.fit_prior([0.5] * 5, [True] * 5, 0.4).fitted  # too few, one class


def test_rocchio_moves_toward_accepted_and_away_from_rejected():
    c = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    acc = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    rej = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    moved = lr.rocchio(c, acc, rej, beta=0.75, gamma=0.15)
    expected = np.array([1.0, 0.75, -0.15])
    np.testing.assert_allclose(moved, expected / np.linalg.norm(expected), rtol=1e-6)
    np.testing.assert_allclose(lr.rocchio(c, acc[:0], rej[:0]), c)
    assert lr.expected_unfound(np.array([0.9, 0.5, 0.1]), np.array([True, False, False])) == 0.6


PETS = """name: pets
version: "1"
codes:
  - name: Pets
    definition: Animals kept at home.
    examples: ["I love dogs."]
    counterexamples: ["The bus was late."]
  - name: Work
    definition: Talk about a job.
    examples: ["My shift starts at nine."]
    counterexamples: ["I love dogs."]
"""

ANIMALS = ["cat", "kitten", "hamster", "parrot", "rabbit", "goldfish", "tortoise", "puppy"]
OTHER = ["bus", "rain", "soup", "train", "movie", "phone", "shoes", "bread"]


def pets(project, stored, embedder, blank_splitter, tmp_path):
    """A project where similarity is weak: the codebook only knows dogs; the participant talks about
    other animals with shared words. Six interviews (t1 … t6) of eight exchanges each. Returns the
    participant sentences (interview by interview), the gold coding, and the Pets F1 of a suggester on the
    last two thirds (the first third, two interviews, is for training)."""
    files = []
    for d in range(6):
        lines = []
        for i in range(d * 8, d * 8 + 8):
            a, o = ANIMALS[i % 8], OTHER[i % 8]
            lines.append(f"P0{d + 1}: My {a} sleeps on my bed every night number {i}.")
            lines.append(f"Interviewer: And then?\nP0{d + 1}: The {o} was there again today number {i}.")
        files.append(write(tmp_path / f"t{d + 1}.txt", "Interviewer: Tell me.\n" + "\n".join(lines) + "\n"))
    project.import_files(files, splitter=blank_splitter)
    project.load_codebook(write(tmp_path / "pets.yaml", PETS))
    project.suggest(embedder, threshold=0.3)
    segs = [
        s
        for d in range(6)
        for t in project.document_view(project.document(f"t{d + 1}").id).turns
        for s in t.segments
        if s.coded
    ]
    gold = {(s.id, "Pets") for s in segs if any(a in s.text for a in ANIMALS)}
    test_ids = [s.id for s in segs[len(segs) // 3 :]]

    def f1(suggester: str) -> float:
        pred = {(r.segment_id, r.code_path) for r in stored.suggestions() if r.suggester == suggester}
        pred = {p for p in pred if p[0] in set(test_ids) and p[1] == "Pets"}
        g = {x for x in gold if x[0] in set(test_ids)}
        return ev.micro(ev.by_code(g, pred, test_ids, ["Pets"]))[2]

    return segs, gold, f1


def test_learning_beats_similarity_where_similarity_is_weak(project, stored, embedder, blank_splitter, tmp_path):
    segs, gold, f1 = pets(project, stored, embedder, blank_splitter, tmp_path)
    train = segs[: len(segs) // 3]
    before = f1("similarity.v2")
    ana = project.review("ana")
    for s in train:  # a reviewer codes the first third
        ana.apply_code(s.id, "Pets" if (s.id, "Pets") in gold else "Work")
    [res] = project.learn(coder="ana", learner="learned.v1")
    assert res.coder == "ana" and res.models >= 1 and res.decisions == len(train)
    after = f1("learned.v1")
    assert after > before + 0.2, (before, after)
