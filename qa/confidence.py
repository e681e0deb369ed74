"""Confidence: how likely it is that the corpus answers the question, from general signals.

A logistic model over the best sentence's dense cosines (its own, its passage's and its
document's best), how much of the question (rarer words counting more) it contains, whether it
lacks the kind of answer asked for, whether it states the document metadata asked for, and how
far it stands out from the corpus's tenth-best sentence. Fitted on the
tuning sets by `tools/tune.py` and stored in `confidence_weights.json`; `answered` is
`confidence >= THRESHOLD`. What it leaves out: reading the sentence itself (no reader model),
so a sentence on the right topic that lacks the fact can still score high.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.linear import LinearModel

WEIGHTS_FILE = Path(__file__).with_name("confidence_weights.json")
FEATURES = ("sentence_dense", "passage_dense", "document_dense", "coverage", "own_coverage", "type_missing",
            "metadata", "standout")
THRESHOLD = 0.35
CROWD_RANK = 10
"""`standout` compares the best sentence with the sentence this far down the corpus's ranking."""


def standout(sentence_cosines: np.ndarray) -> float:
    """How far the corpus's best sentence cosine stands above its CROWD_RANK-th best.

    A question the corpus is about has a sentence that stands out; one it is not about meets
    a crowd of near-equals, however large the corpus (and the larger, the likelier a stray
    sentence matches by chance)."""
    count = len(sentence_cosines)
    if count < 2:
        return 0.0
    rank = min(CROWD_RANK, count) - 1
    leaders = -np.partition(-np.asarray(sentence_cosines, dtype=np.float64), rank)[: rank + 1]
    return float(leaders.max() - leaders.min())


@dataclass(frozen=True)
class Evidence:
    """The FEATURES of one answer: the best hit's ranker features plus corpus-wide ones."""

    values: dict[str, float]

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in FEATURES], dtype=np.float64)


def load_confidence(path: Path = WEIGHTS_FILE) -> LinearModel:
    return LinearModel.load(path, FEATURES)


def confidence(model: LinearModel, evidence: Evidence) -> float:
    return float(model.score(evidence.vector()[None, :])[0])
