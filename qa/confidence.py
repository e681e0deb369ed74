"""Confidence: how likely it is that the corpus answers the question, from general signals.

A logistic model over the best sentence's dense cosines (its own, its passage's and its
document's best), how much
of the question (rarer words counting more) it contains, whether it lacks the kind of answer
asked for, and whether it states the document metadata asked for. Fitted on the
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
            "metadata")
THRESHOLD = 0.35


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
