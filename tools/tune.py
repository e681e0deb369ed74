"""Fit the ranker, the rerank and the confidence models on held-out training data, and report each variant.

    python tools/heldout.py && python tools/tune.py [--write]

The sets are `tools/heldout.py`'s: ten SQuAD articles of ../shared/train the reader never trained
on, as they are ("heldout"), with answer sentences cut out ("heldout-cut", unanswerable), and
each cut article alone, dressed as a news story with questions about its byline ("heldout-one");
the synthetic-news "fit" stories, which the reader never trained on either, as one folder with
their look-alike unanswerable questions ("heldout-news") and their follow-ups, asked after the
engine's answer to the first turn and measured, not fitted on ("follow-ups"); plus general
off-topic questions asked of the whole SQuAD corpus, of each lone article and of the news folder.
The measuring sets are never read here: they are what `make eval` measures on.

For every question it takes the retriever's candidates and labels each by whether its quote
holds an accepted answer. It prints hit@1 for dense only, lexical only, the first-step blend, the
saved ranker and the learned ranker (cross-validated, folds grouped by article so no article
grades its own answers, and fitted on all). The reader then reads the first READ_DEPTH of the
ranker fitted here, the one that ships, so one run fits everything on the reads the engine will
make: it prints how often the answer is among the sentences read, the reader alone, and the
rerank model over the ranker's and the reader's scores (cross-validated and fitted on all, the
news stories weighing most); then
it fits the confidence model (answerable vs not) on the reranked first candidates, picks its
threshold (the highest that declines at most FALSE_ABSTENTION_BUDGET of the answerable questions)
and prints the abstention figures at it and nearby, and the ROC AUC. With --write the fitted
weights replace qa/ranker_weights.json, qa/rerank_weights.json and qa/confidence_weights.json
(with the threshold).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from qa import confidence as confidence_module
from qa import ranker as ranker_module
from qa.engine import QA
from qa.evaluate import Case, _normal, asked_before, read_cases
from qa.linear import LinearModel
from qa.embedder import MiniLMEmbedder
from qa.question import Question, read_question
from qa.ranker import relative
from qa.rerank import METADATA, RERANK_FEATURES, RERANK_FILE, UNREAD, rerank_features
from qa.retriever import Blend

REPO = Path(__file__).resolve().parent.parent
HELD_OUT = REPO / "build" / "heldout"
SETS = {"heldout": ["answerable"], "heldout-cut": ["cut"], "heldout-one": ["one/*"], "heldout-news": ["news"]}
"""Each set's folders under HELD_OUT (glob patterns), each a corpus/ beside a questions.jsonl."""
SET_WEIGHT = {"heldout": 1.0, "heldout-cut": 1.0, "heldout-one": 1.0, "heldout-news": 1.0, "follow-ups": 0.0}
"""Share of the ranker's fit each set carries, whatever its size (the follow-ups are measured only)."""
RERANK_SET_WEIGHT = {"heldout": 1.0, "heldout-cut": 0.0, "heldout-one": 1.0, "heldout-news": 1.0,
                     "follow-ups": 0.0}
"""Share of the rerank's fit: each set of answerable questions alike. The shares are chosen as the
ones (of 1, 0.5, 0.25, 0.1, 0 for each SQuAD set) that answer the most held-out questions of the
three sets together, again whenever the reader changes. With round 13's reader that was 0.25: on
the SQuAD-style sets the ranker's lexical match was worth about twice the reader's score, on news
stories about as much, and equal shares lost news questions. With round 17's reader equal shares
answer the most (2,462 against 2,457 at 0.25: SQuAD articles 1142 against 1137, one-article
corpora 812 against 809, news stories 508 against 511; quality log, round 17)."""
CONFIDENCE_SET_WEIGHT = {"heldout": 1.0, "heldout-cut": 1.0, "heldout-one": 1.0, "heldout-news": 1.0,
                         "offtopic": 0.5, "follow-ups": 0.0}
"""Share of the confidence fit: the on-topic questions a cut article no longer answers weigh as
much as the answerable ones (with SQuAD 2.0's written-to-look-answerable ones among them), and so
do the synthetic news stories with their look-alike unanswerable questions. The fit stories'
follow-ups are measured, not fitted on, and do not count toward the threshold's budget: they are
all answerable, and fitted on (at half a set) they taught the model that a follow-up's story
matches its document, so it declined 1 of 19 unanswerable follow-ups where it had declined 8
(quality log, round 14)."""
ASKED_OFF_TOPIC = ("heldout", "heldout-one", "heldout-news")
"""The sets whose corpora (each folder) are also asked the off-topic questions."""
FALSE_ABSTENTION_BUDGET = 0.05
"""The share of answerable held-out questions the confidence threshold may decline."""
OFF_TOPIC = Path(__file__).with_name("offtopic_questions.txt")
"""General questions no news corpus answers, asked as unanswerable ones of the "heldout" corpus
and of each "heldout-one" article."""


@dataclass
class Item:
    set_name: str
    group: str
    question: str
    answerable: bool
    features: np.ndarray
    labels: np.ndarray
    dense_hit: bool
    lexical_hit: bool
    standout: float
    name_absent: np.ndarray
    """Per candidate: `confidence.name_absent` of the question and the candidate's document."""
    asked: Question
    rows: np.ndarray
    bot: QA
    ranker_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per candidate: the shipping ranker's score, which picks the candidates the reader reads
    (set by `read`)."""
    reader: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per candidate: the reader's score, `rerank.UNREAD` where it was not read (set by `read`)."""
    reader_answerable: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per candidate: the reader's answerability logit, `rerank.UNREAD` where it was not read."""
    read: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The candidates the reader read, as the engine's `readings` has them (set by `read`): a read
    the reader scores at or below UNREAD still counts as read."""


def collect(name: str, embedder: MiniLMEmbedder) -> list[Item]:
    """Every question of the set's folders with its candidates, labelled; not read yet."""
    items = []
    off_topic = [Case(turns=(line,), answers=(), answerable=False)
                 for line in OFF_TOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]
    for folder in sorted(path for pattern in SETS[name] for path in HELD_OUT.glob(pattern)):
        bot = QA.from_directory(folder / "corpus", embedder=embedder)
        quote_cache: dict[int, str] = {}

        def quote_text(row: int) -> str:
            if row not in quote_cache:
                quote_cache[row] = _normal(bot._quote(bot.retriever.sentence(row), 0.0).text)
            return quote_cache[row]

        conversations = folder / "conversations.jsonl"
        asked = ([(name, case) for case in read_cases(folder / "questions.jsonl")]
                 + [("follow-ups", case) for case in (read_cases(conversations) if conversations.exists() else [])]
                 + [("offtopic", case) for case in (off_topic if name in ASKED_OFF_TOPIC else [])])
        for set_name, case in asked:
            question = read_question(case.question, asked_before(bot, case))
            if not question.for_quoting:
                continue  # declined requests never reach the models
            question = bot.retriever.spelled(question)
            wanted = [_normal(a) for a in case.answers if a.strip()]

            def holds(row: int) -> bool:
                return any(a in quote_text(int(row)) for a in wanted)

            found = bot.retriever.candidates(question)
            values = found.signals.values
            documents = [bot.documents[bot.retriever.sentence(row).doc_id] for row in found.rows]
            items.append(Item(
                set_name=set_name, group=case.source or "none",
                question=case.question,
                answerable=case.answerable, features=found.features,
                labels=np.array([holds(row) for row in found.rows], dtype=bool),
                dense_hit=holds(int(np.argmax(values["sentence_dense"]))),
                lexical_hit=holds(int(np.argmax(values["sentence_lexical"]))),
                standout=confidence_module.standout(values["sentence_dense"]),
                name_absent=np.array([confidence_module.name_absent(question, document) for document in documents]),
                asked=question, rows=found.rows, bot=bot,
            ))
    return items


def read(items: list[Item], ranker: LinearModel) -> None:
    """Has the reader read each item's first READ_DEPTH candidates by `ranker`, as the engine would."""
    for item in items:
        item.ranker_scores = ranker.score(relative(item.features)) if len(item.rows) else np.zeros(0)
        readings = item.bot.reranker.read(item.asked, item.rows, np.argsort(-item.ranker_scores, kind="stable"))
        item.reader = np.array([readings[k].score if k in readings else UNREAD for k in range(len(item.rows))])
        item.reader_answerable = np.array([readings[k].answerable if k in readings else UNREAD for k in range(len(item.rows))])
        item.read = np.array(sorted(readings), dtype=np.int64)


def rate(items: list[Item], hit) -> str:
    answerable = [item for item in items if item.answerable]
    return f"{sum(map(hit, answerable))}/{len(answerable)} ({sum(map(hit, answerable)) / max(1, len(answerable)):.3f})"


def weights_for(items: list[Item], shares: dict[str, float] = SET_WEIGHT) -> np.ndarray:
    counts = {name: sum(1 for i in items if i.set_name == name) for name in shares}
    return np.array([shares[i.set_name] / max(1, counts[i.set_name]) for i in items])


def fit_ranker(items: list[Item]) -> LinearModel:
    """Pairwise: a logistic model on feature differences, answering sentence minus other candidate."""
    usable = [i for i in items if i.answerable and SET_WEIGHT[i.set_name] and i.labels.any() and not i.labels.all()]
    per_item = weights_for(usable)
    differences, weights = [], []
    for item, weight in zip(usable, per_item):
        features = relative(item.features)
        positive, negative = features[item.labels], features[~item.labels]
        pairs = (positive[:, None, :] - negative[None, :, :]).reshape(-1, features.shape[1])
        differences.append(pairs)
        weights.append(np.full(len(pairs), weight / len(pairs)))
    x = np.vstack(differences)
    w = np.concatenate(weights)
    x, y, w = np.vstack([x, -x]), np.r_[np.ones(len(w)), np.zeros(len(w))], np.r_[w, w]
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=3000).fit(x, y, sample_weight=w * len(w) / w.sum())
    return LinearModel(ranker_module.FEATURES, model.coef_[0], 0.0)


def top_hit(model: LinearModel, item: Item) -> bool:
    return bool(item.labels[int(np.argmax(model.score(relative(item.features))))])


def fit_rerank(items: list[Item]) -> LinearModel:
    """Pairwise, like the ranker, over the candidates the reader read."""
    usable = [i for i in items
              if i.answerable and RERANK_SET_WEIGHT[i.set_name] and i.labels[i.read].any() and not i.labels[i.read].all()]
    per_item = weights_for(usable, RERANK_SET_WEIGHT)
    differences, weights = [], []
    for item, weight in zip(usable, per_item):
        features = item_rerank_features(item, item.read)
        labels = item.labels[item.read]
        pairs = (features[labels][:, None, :] - features[~labels][None, :, :]).reshape(-1, features.shape[1])
        differences.append(pairs)
        weights.append(np.full(len(pairs), weight / len(pairs)))
    x, w = np.vstack(differences), np.concatenate(weights)
    x, y, w = np.vstack([x, -x]), np.r_[np.ones(len(w)), np.zeros(len(w))], np.r_[w, w]
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=3000).fit(x, y, sample_weight=w * len(w) / w.sum())
    return LinearModel(RERANK_FEATURES, model.coef_[0], 0.0)


def reranked_best(model: LinearModel, item: Item) -> int:
    read = item.read
    if not len(read):
        return int(np.argmax(item.ranker_scores))
    return int(read[int(np.argmax(model.score(item_rerank_features(item, read))))])


def item_rerank_features(item: Item, rows: np.ndarray) -> np.ndarray:
    return rerank_features(item.ranker_scores[rows], item.reader[rows], item.features[rows, METADATA])


def reader_best(item: Item) -> int:
    read = item.read
    return int(read[int(np.argmax(item.reader[read]))]) if len(read) else int(np.argmax(item.ranker_scores))


def confidence_rows(choose, items: list[Item]) -> np.ndarray:
    """Confidence features of each item's chosen candidate; `choose(item)` gives its index."""
    rows = []
    for item in items:
        best = choose(item)
        values = {**dict(zip(ranker_module.FEATURES, item.features[best])), "standout": item.standout,
                  "name_absent": item.name_absent[best], "reader": confidence_module.reader_evidence(item.reader[best]),
                  "answerable": confidence_module.reader_evidence(item.reader_answerable[best])}
        rows.append([values[name] for name in confidence_module.FEATURES])
    return np.array(rows)


def fit_confidence(rows: np.ndarray, items: list[Item]) -> LinearModel:
    y = np.array([i.answerable for i in items])
    w = weights_for(items, CONFIDENCE_SET_WEIGHT)
    model = LogisticRegression(C=0.3, max_iter=2000, class_weight="balanced").fit(rows, y, sample_weight=w * len(w) / w.sum())
    return LinearModel(confidence_module.FEATURES, model.coef_[0], float(model.intercept_[0]))


def chosen_threshold(probability: np.ndarray, answerable: np.ndarray) -> float:
    """The highest threshold (in hundredths) declining at most FALSE_ABSTENTION_BUDGET of the answerable."""
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    within = [t for t in grid if np.mean(probability[answerable] < t) <= FALSE_ABSTENTION_BUDGET]
    return float(max(within, default=grid[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--write", action="store_true", help="save the fitted models into qa/")
    args = parser.parse_args()
    embedder = MiniLMEmbedder()
    items = [item for name in args.sets for item in collect(name, embedder)]
    fit_and_report(items, [*args.sets, "follow-ups", "offtopic"], write=args.write)
    return 0


def fit_and_report(items: list[Item], set_names: list[str], *, write: bool) -> None:
    by_set = {name: [i for i in items if i.set_name == name] for name in set_names if name != "offtopic"}
    saved = ranker_module.load_ranker()
    blend_first = lambda item: bool(item.labels[0])  # candidates come in first-step order  # noqa: E731

    def report(label: str, hit) -> None:
        print(f"{label:>16}: " + "  ".join(f"{n} {rate(group, hit)}" for n, group in by_set.items()))

    print(f"first-step blend: {Blend()}")
    for label, hit in [("dense only", lambda i: i.dense_hit), ("lexical only", lambda i: i.lexical_hit),
                       ("blend", blend_first), ("ranker (saved)", lambda i: top_hit(saved, i))]:
        report(label, hit)
    groups = np.array([i.group for i in items])
    folds = list(GroupKFold(n_splits=5).split(items, groups=groups))
    index_of = {id(item): k for k, item in enumerate(items)}
    cv_hits = {k: top_hit(model, items[k]) for train, test in folds
               for model in [fit_ranker([items[k] for k in train])] for k in test}
    report("ranker (CV)", lambda i: cv_hits[index_of[id(i)]])
    ranker = fit_ranker(items)
    print("ranker weights:", dict(zip(ranker.features, np.round(ranker.weights, 2))), round(ranker.bias, 2))
    report("ranker (fit all)", lambda i: top_hit(ranker, i))

    read(items, ranker)
    report("read (its top)", lambda i: bool(i.labels[i.read].any()))
    report("reader only", lambda i: bool(i.labels[reader_best(i)]))
    cv_reranked = {k: bool(items[k].labels[reranked_best(model, items[k])]) for train, test in folds
                   for model in [fit_rerank([items[k] for k in train])] for k in test}
    report("rerank (CV)", lambda i: cv_reranked[index_of[id(i)]])
    rerank = fit_rerank(items)
    print("rerank weights:", dict(zip(rerank.features, np.round(rerank.weights, 2))))
    report("rerank (fit all)", lambda i: bool(i.labels[reranked_best(rerank, i)]))

    choose = lambda item: reranked_best(rerank, item)  # noqa: E731
    rows = confidence_rows(choose, items)
    fitted = weights_for(items, CONFIDENCE_SET_WEIGHT) > 0
    confidence = fit_confidence(rows[fitted], [item for item, kept in zip(items, fitted) if kept])
    print("confidence weights:", dict(zip(confidence.features, np.round(confidence.weights, 2))), round(confidence.bias, 2))
    probability = confidence.score(rows)
    answerable = np.array([i.answerable for i in items])
    sets = np.array([i.set_name for i in items])
    for name in set_names:
        mask = sets == name
        if len(set(answerable[mask])) == 2:
            print(f"  {name}: ROC AUC {roc_auc_score(answerable[mask], probability[mask]):.3f}")
    threshold_chosen = chosen_threshold(probability[fitted], answerable[fitted])
    for threshold in sorted({0.3, 0.35, 0.4, 0.45, 0.5, threshold_chosen}):
        print(f"  threshold {threshold}" + ("  (chosen)" if threshold == threshold_chosen else ""))
        for name in set_names:
            mask = sets == name
            print(f"    {name}: abstain on unanswerable {np.sum((probability < threshold) & ~answerable & mask)}"
                  f"/{np.sum(~answerable & mask)}, false abstentions "
                  f"{np.sum((probability < threshold) & answerable & mask)}/{np.sum(answerable & mask)}")
    if write:
        ranker.save(ranker_module.WEIGHTS_FILE, fitted_on=[name for name in set_names if SET_WEIGHT.get(name)])
        rerank.save(RERANK_FILE, fitted_on=[name for name in set_names if RERANK_SET_WEIGHT.get(name)])
        confidence.save(confidence_module.WEIGHTS_FILE, fitted_on=[name for name in set_names if CONFIDENCE_SET_WEIGHT[name]],
                        threshold=threshold_chosen)
        print("written")


if __name__ == "__main__":
    sys.exit(main())
