"""The codebooks shipped in codebooks/ are valid and hold every theme the two reviews report."""

from __future__ import annotations

import pytest

from coder.codebook import read_codebook
from coder.types import PATH_SEP

from .conftest import REPO

CODEBOOKS = sorted((REPO / "codebooks").glob("*.yaml"))

R = "Resiliency factors — interpersonal relationships"
S = "Spirituality / faith"
D = "Development of self"
T = f"{D}{PATH_SEP}Individual characteristics and traits"
A = f"{D}{PATH_SEP}Individual adaptations"
OTHER = "Other resiliency factors"
E = "Exiting process"
V = "Resiliency interventions and services"
K = "Risks and barriers"

REQUIRED = {
    R: [
        "Familial relationships",
        "Extrafamilial and professional relationships",
        "Peers and fellow sex workers",
        "Survivor presence",
        "Relationships with supportive organisations",
        "Boundaries and recognising red flags",
        "Children as motivation",
    ],
    S: ["Reading scripture", "Attending a faith congregation", "Prayer and personal spiritual practices"],
    D: [
        "Self-worth and self-esteem",
        "Self-respect",
        "Self-acceptance and forgiveness",
        "Self-efficacy and self-sufficiency",
        "Self-regulation",
        "Identity beyond sex work",
        "Sense of purpose",
        "Empowerment",
    ],
    T: ["Future-oriented", "Positive-oriented", "Internally-oriented", "Survival-oriented"],
    f"{T}{PATH_SEP}Survival-oriented": [
        "Personal responsibility",
        "Self-sufficiency",
        "Belief in self",
        "Self-reliance",
        "Self-possession",
    ],
    A: ["Personal flexibility", "Separating self from reality", "Street smarts", "Dissociation"],
    OTHER: [
        "Education and educational goals",
        "Self-advocacy and assertion of control",
        "Positive coping",
        "Collective action and knowing one's rights",
        "Learning from experience",
        "Hope",
    ],
    f"{OTHER}{PATH_SEP}Self-advocacy and assertion of control": [
        "Resistance",
        "Being system-savvy",
        "Selective manipulation",
    ],
    E: [
        "Immersion",
        "Visceral and conscious awareness",
        "Deliberate preparation",
        "Initial exit",
        "Reentry",
        "Final exit",
    ],
    V: [
        "Psychoeducational groups",
        "Trauma-focused and trauma-informed interventions",
        "Artistic expression",
        "Critical Time Intervention",
        "Case management",
        "Ecological Momentary Assessment and self-monitoring",
        "Peer health education",
        "Drug treatment and prescribed maintenance",
        "Exiting and diversion programmes",
        "Holistic services",
    ],
    f"{V}{PATH_SEP}Holistic services": [
        "Basic needs",
        "Housing",
        "Education and life skills",
        "Job training",
        "Financial literacy",
        "Legal support",
        "Immigration support",
        "Parenting and child custody support",
    ],
    K: [
        "Stigma",
        "Violence and abuse",
        "Substance use",
        "Economic necessity",
        "Criminal-justice involvement",
        "Health problems",
        "Trauma symptoms",
    ],
    f"{K}{PATH_SEP}Stigma": ["Experienced stigma", "Anticipated stigma", "Internalised stigma"],
}


@pytest.mark.parametrize("path", CODEBOOKS, ids=lambda p: p.name)
def test_every_codebook_validates_and_is_complete(path):
    book = read_codebook(path)
    for c in book.codes:
        assert c.definition and c.include and c.exclude and c.source, c.path
        assert 3 <= len(c.examples) <= 6, (c.path, len(c.examples))
        assert 1 <= len(c.counterexamples) <= 3, (c.path, len(c.counterexamples))


def test_resilience_has_every_theme_of_the_reviews():
    book = read_codebook(REPO / "codebooks" / "resilience.yaml")
    paths = {c.path for c in book.codes}
    assert [c.name for c in book.children(None)] == [R, S, D, OTHER, E, V, K]
    missing = [
        f"{parent}{PATH_SEP}{child}"
        for parent, kids in REQUIRED.items()
        for child in kids
        if f"{parent}{PATH_SEP}{child}" not in paths
    ]
    assert missing == []
    assert [c.name for c in book.children(S)] == REQUIRED[S]  # exactly Countryman-Roswurm's three subcodes
    assert [c.name for c in book.children(E)] == REQUIRED[E]  # the six stages, in order


def test_wellbeing_outcomes_measures():
    book = read_codebook(REPO / "codebooks" / "wellbeing-outcomes.yaml")
    names = {c.name.lower() for c in book.codes}
    for m in ("self-esteem", "depression", "anxiety", "ptsd", "quality of life", "safety behaviour"):
        assert any(m in n for n in names), m
