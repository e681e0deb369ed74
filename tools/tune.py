"""Tune the retrieval fusion weights and fit the confidence model on the eval sets.

    python tools/tune.py [--sets dev squad news] [--fit]

For each set it computes every sentence's retrieval signals once per question, then scores
weight combinations on a grid (hit@1 = the best sentence's quote holds an accepted answer),
printing dense-only, lexical-only, the current weights and the best found. With --fit it fits
the logistic confidence model (qa/confidence.py) on the top hits at the current weights and
prints the coefficients, the threshold's abstention figures and the ROC AUC.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.confidence import FEATURES, Evidence
from qa.engine import QA, _coverage, _known
from qa.evaluate import _normal, read_cases
from qa.retriever import FusionWeights, Signals

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
SETS = {
    "dev": (EVAL / "dev_questions.jsonl", Path(__file__).resolve().parent.parent / "corpus"),
    "squad": (EVAL / "squad2-tune" / "questions.jsonl", EVAL / "squad2-tune" / "corpus"),
    "news": (EVAL / "news-tune" / "questions.jsonl", EVAL / "news-tune" / "corpus"),
}


@dataclass
class Item:
    question: str
    answerable: bool
    signals: Signals
    labels: np.ndarray
    """Per sentence row: does its quote hold an accepted answer."""


def collect(name: str) -> tuple[QA, list[Item]]:
    questions, corpus = SETS[name]
    bot = QA.from_directory(corpus)
    rows = bot.retriever.table.chunk_ids
    quote_texts = [_normal(bot._quote(bot.index.chunks[int(i)], 0.0).text) for i in rows]
    items = []
    for case in read_cases(questions):
        if len(case.turns) > 1:
            continue
        wanted = [_normal(a) for a in case.answers if a.strip()]
        labels = np.array([any(a in text for a in wanted) for text in quote_texts], dtype=bool)
        items.append(Item(case.question, case.answerable, bot.retriever.signals(case.question), labels))
    return bot, items


def hit_rate(items: list[Item], weights: FusionWeights) -> float:
    answerable = [item for item in items if item.answerable]
    hits = sum(bool(item.labels[int(np.argmax(item.signals.fused(weights)))]) for item in answerable)
    return hits / max(1, len(answerable))


def grid() -> list[FusionWeights]:
    steps = [x / 20 for x in range(21)]
    return [FusionWeights(a, b, c, round(1 - a - b - c, 2))
            for a, b, c in itertools.product(steps, steps, steps) if a + b + c <= 1.0001]


def evidence(bot: QA, item: Item, weights: FusionWeights) -> Evidence:
    scores = item.signals.fused(weights)
    row = int(np.argmax(scores))
    sentence = bot.index.chunks[int(bot.retriever.table.chunk_ids[row])]
    quote = bot._quote(sentence, float(scores[row]))
    return Evidence(fused=float(scores[row]), dense=float(item.signals.sentence_dense[row]),
                    coverage=_coverage(item.signals.query_terms, quote.context),
                    known=_known(item.signals.query_terms, bot.index))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    collected = {name: collect(name) for name in args.sets}
    named = {
        "dense only": FusionWeights(1, 0, 0, 0),
        "lexical only": FusionWeights(0, 0, 1, 0),
        "current": FusionWeights(),
    }
    for label, weights in named.items():
        print(f"{label:>14}: " + "  ".join(f"{n} {hit_rate(items, weights):.3f}" for n, (_, items) in collected.items()))
    ranked = sorted(grid(), key=lambda w: -np.mean([hit_rate(items, w) for _, items in collected.values()]))
    for weights in ranked[:5]:
        print(f"{'best':>14}: " + "  ".join(f"{n} {hit_rate(items, weights):.3f}" for n, (_, items) in collected.items()), weights)
    if args.fit:
        fit(collected)
    return 0


def fit(collected: dict[str, tuple[QA, list[Item]]]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    weights = FusionWeights()
    features, labels, answerable, sets = [], [], [], []
    for name, (bot, items) in collected.items():
        for item in items:
            row = int(np.argmax(item.signals.fused(weights)))
            features.append(evidence(bot, item, weights).vector())
            labels.append(bool(item.answerable and item.labels[row]))
            answerable.append(item.answerable)
            sets.append(name)
    x, y, a = np.array(features), np.array(labels), np.array(answerable)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    print("features", FEATURES)
    print("WEIGHTS =", tuple(round(float(w), 3) for w in model.coef_[0]), "BIAS =", round(float(model.intercept_[0]), 3))
    probability = model.predict_proba(x)[:, 1]
    print("ROC AUC answerable vs unanswerable:", round(roc_auc_score(a, probability), 3))
    for threshold in (0.2, 0.3, 0.4, 0.5):
        for name in collected:
            mask = np.array(sets) == name
            print(f"  t={threshold} {name}: abstain on unanswerable {np.sum((probability < threshold) & ~a & mask)}/{np.sum(~a & mask)}"
                  f", false abstentions {np.sum((probability < threshold) & a & mask)}/{np.sum(a & mask)}")


if __name__ == "__main__":
    sys.exit(main())
