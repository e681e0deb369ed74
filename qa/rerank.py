"""Reranking: the span reader reads the ranker's best candidates, and a small model orders them.

The retriever's candidates (`qa/retriever.py`) come in the ranker's order; the span reader
(`qa/reader.py`) reads the first `READ_DEPTH` of them inside windows of their documents (a
document's headline is passed over), and a small learned rerank model over the ranker's and the
reader's scores (and whether a sentence states the byline or date asked for), fitted by
`tools/tune.py` and stored in `rerank_weights.json`, orders the sentences read; the rest follow in
the ranker's order. What it leaves out: finding and ranking the candidates, and the reader model
itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from qa.linear import LinearModel
from qa.question import Question
from qa.ranker import FEATURES, is_headline
from qa.reader import Reader, SentenceReading, read_in_documents
from qa.retriever import Retriever, Signals

READ_DEPTH = 10
"""How many of the ranker's best candidates the reader reads (with the sentences around them)."""
RERANK_FILE = Path(__file__).with_name("rerank_weights.json")
RERANK_FEATURES = ("ranker", "reader", "metadata")
METADATA = FEATURES.index("metadata")
UNREAD = -20.0
"""Reader score of a sentence the reader did not read; also the floor of every reader score."""


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    """Index of the sentence in `CorpusIndex.chunks`."""
    score: float
    """The final score: the rerank model's for a sentence read, else at most the lowest of those."""
    features: dict[str, float]
    """The ranker's features for this sentence, by name, retrieval scores absolute, and its
    reader score and its window's answerability logit ("reader" and "answerable", UNREAD when
    not read)."""
    reading: SentenceReading | None = None
    """The reader's verdict on this sentence, when it was read."""


class Reranker:
    """The retriever's candidates, the best of them read and reordered. `reader` None reads nothing."""

    def __init__(self, retriever: Retriever, *, reader: Reader | None = None,
                 rerank: LinearModel | None = None) -> None:
        self.retriever = retriever
        self.reader = reader
        self.rerank = rerank or load_rerank()
        chunks = retriever.index.chunks
        self.sentence_spans: dict[str, list[tuple[int, int]]] = {}
        for chunk_id in retriever.table.chunk_ids:
            chunk = chunks[int(chunk_id)]
            self.sentence_spans.setdefault(chunk.doc_id, []).append((chunk.start, chunk.end))
        self.texts = {doc_id: (document.text, document.title) for doc_id, document in retriever.documents.items()}

    def read(self, question: Question, rows: np.ndarray, order: np.ndarray) -> dict[int, SentenceReading]:
        """The reader's verdicts on the first READ_DEPTH candidates of `order`, by candidate.
        A document's headline is not read: it is shown as the title, never quoted, and a reader
        asked a question that restates it would rank it first."""
        if self.reader is None:
            return {}
        documents = self.retriever.documents
        candidates = ((int(i), self.retriever.sentence(rows[i])) for i in order)
        picked = list(islice(((i, sentence) for i, sentence in candidates
                              if not is_headline(sentence, documents[sentence.doc_id])), READ_DEPTH))
        chosen = [i for i, _ in picked]
        sentences = [sentence for _, sentence in picked]
        wanted = [(sentence.doc_id, sentence.first_sentence) for sentence in sentences]
        asked = question.conversation.resolved(question.text) if question.conversation else question.text
        found = read_in_documents(self.reader, asked, wanted, self.sentence_spans, self.texts)
        return {i: found[key] for i, key in zip(chosen, wanted)}

    def reranked(self, scores: np.ndarray, metadata: np.ndarray,
                 readings: dict[int, SentenceReading]) -> tuple[np.ndarray, np.ndarray]:
        """Read candidates ordered by the rerank model over the ranker's and the reader's
        scores and the ranker's `metadata` feature, then the rest in the ranker's order; and each
        candidate's final score."""
        order = np.argsort(-scores, kind="stable")
        if not readings:
            return order, scores
        read = [i for i in order if i in readings]
        final = self.rerank.score(rerank_features(scores[read], np.array([readings[i].score for i in read]),
                                                  metadata[read]))
        floor = float(final.min())
        combined = np.minimum(scores, floor)
        combined[read] = final
        rest = [i for i in order if i not in readings]
        return np.array([read[k] for k in np.argsort(-final, kind="stable")] + rest, dtype=np.int64), combined

    def run(self, question: Question, *, top_k: int = 5) -> tuple[list[Hit], Signals]:
        """The `top_k` best sentences for a `spelled` question, best first, and the signals behind them."""
        found = self.retriever.candidates(question)
        readings = self.read(question, found.rows, np.argsort(-found.scores, kind="stable"))
        order, scores = self.reranked(found.scores, found.features[:, METADATA], readings)
        hits = [
            Hit(
                chunk_id=int(self.retriever.table.chunk_ids[found.rows[i]]),
                score=float(scores[i]),
                features={**dict(zip(FEATURES, map(float, found.features[i]))),
                          "reader": readings[i].score if i in readings else UNREAD,
                          "answerable": readings[i].answerable if i in readings else UNREAD},
                reading=readings.get(i),
            )
            for i in order[:top_k]
        ]
        return hits, found.signals


def load_rerank(path: Path = RERANK_FILE) -> LinearModel:
    return LinearModel.load(path, RERANK_FEATURES)


def rerank_features(ranker_scores: np.ndarray, reader_scores: np.ndarray, metadata: np.ndarray) -> np.ndarray:
    """RERANK_FEATURES rows: the ranker's log-odds, the reader's score (within ±UNREAD) and whether
    the sentence states the author, date or outlet the question asks for (which the reader, reading
    the text alone, cannot judge)."""
    probability = np.clip(np.asarray(ranker_scores, dtype=np.float64), 1e-9, 1 - 1e-9)
    reader = np.clip(np.nan_to_num(np.asarray(reader_scores, dtype=np.float64), neginf=UNREAD), UNREAD, -UNREAD)
    return np.column_stack([np.log(probability / (1 - probability)), reader, np.asarray(metadata, dtype=np.float64)])
