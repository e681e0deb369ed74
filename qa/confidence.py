"""Confidence: how likely it is that the corpus answers the question, from general signals.

A logistic model over the best sentence's dense cosines (its own, its passage's and its
document's best), how much of the question (rarer words counting more) it contains, whether it
lacks the kind of answer asked for, whether it states the document metadata asked for, how
far it stands out from the corpus's tenth-best sentence, and whether its document ever mentions
the named thing the question asks about ("the population of Brazil"), and the span reader's
score for the best sentence (how much more it believes in its best answer span there than in
"no answer") and its answerability output for the window around it. Fitted by `tools/tune.py` on
held-out training articles (never on the sets `qa eval` measures) and stored with its THRESHOLD in
`confidence_weights.json`; `answered` is `confidence >= THRESHOLD`. What it leaves out: a
calibrated probability (it is a ranking of how sure, cut at THRESHOLD).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.linear import LinearModel
from qa.question import Question
from qa.records import Document
from qa.text import terms

WEIGHTS_FILE = Path(__file__).with_name("confidence_weights.json")
FEATURES = ("sentence_dense", "passage_dense", "document_dense", "coverage", "own_coverage", "type_missing",
            "metadata", "standout", "name_absent", "reader", "answerable")
THRESHOLD = float(json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["threshold"])
"""Below this the bot says the documents don't say: chosen with the weights, as the highest
threshold that declines at most a set share of held-out answerable questions."""
CROWD_RANK = 10
"""`standout` compares the best sentence with the sentence this far down the corpus's ranking."""
READER_REACH = 10.0
"""The reader's scores count up to this far either side of zero: beyond, it is sure enough."""


def reader_evidence(score: float) -> float:
    """A reader's score for the best sentence (its span score or its answerability logit), as the
    confidence model sees it."""
    return float(np.clip(score, -READER_REACH, READER_REACH))


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


def name_absent(question: Question, document: Document) -> float:
    """1.0 when the question asks about a named thing (`Question.subjects`) that `document` never
    mentions, else 0.0."""
    if not question.subjects:
        return 0.0
    known = _terms_of(document.text) | _terms_of(document.title)
    return float(any(name and not any(term in known for term in name) for name in question.subjects))


@lru_cache(maxsize=256)
def _terms_of(text: str) -> frozenset[str]:
    """Cached by the document's own string, whose hash Python keeps: no copy, no rehashing."""
    return frozenset(terms(text))


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
