"""Confidence: how likely the top quote answers the question, from a few general signals.

A logistic model over the fused score of the best sentence, its dense cosine, and how many
of the question's content terms the corpus knows and the best passage contains. The weights
were fitted on the tuning sets in `../shared/eval` (see `tools/fit_confidence.py`); `answered`
is `confidence >= THRESHOLD`. What it leaves out: any reading of the sentence itself (no
reader model): a sentence on the right topic that lacks the fact can still score high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURES = ("fused", "dense", "coverage", "known")
WEIGHTS = (6.0, 4.0, 3.0, 2.0)
BIAS = -9.0
THRESHOLD = 0.5


@dataclass(frozen=True)
class Evidence:
    fused: float
    """Fused retrieval score of the best sentence."""
    dense: float
    """Cosine between the question and the best sentence's context."""
    coverage: float
    """Share of the question's content terms found around the best sentence."""
    known: float
    """Share of the question's content terms found anywhere in the corpus."""

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]


def confidence(evidence: Evidence) -> float:
    logit = BIAS + sum(w * x for w, x in zip(WEIGHTS, evidence.vector()))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
