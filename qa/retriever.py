"""Retrieval: score every sentence of the corpus for a question, dense and lexical fused.

A sentence's score is a weighted sum of four signals, each in [0, 1]: the cosine of its own
context, the cosine of the best passage around it, and the BM25 scores of both (divided by the
query's best BM25 score). Dense search is exact (FAISS flat inner product) over the top
`DENSE_DEPTH` chunks; chunks beyond that depth get the depth's lowest cosine. What it leaves
out: re-ranking with a cross-encoder, query expansion, and approximate search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.embedder import Embedder
from qa.index import CorpusIndex
from qa.text import terms

DENSE_DEPTH = 4096


@dataclass(frozen=True)
class FusionWeights:
    sentence_dense: float = 0.45
    passage_dense: float = 0.25
    sentence_lexical: float = 0.2
    passage_lexical: float = 0.1


@dataclass(frozen=True)
class Signals:
    """Per-sentence signals for one question, aligned with `SentenceTable.chunk_ids`."""

    sentence_dense: np.ndarray
    passage_dense: np.ndarray
    sentence_lexical: np.ndarray
    passage_lexical: np.ndarray
    query_terms: list[str]

    def fused(self, weights: FusionWeights) -> np.ndarray:
        return (
            weights.sentence_dense * self.sentence_dense
            + weights.passage_dense * self.passage_dense
            + weights.sentence_lexical * self.sentence_lexical
            + weights.passage_lexical * self.passage_lexical
        )


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    """Index of the sentence in `CorpusIndex.chunks`."""
    score: float
    dense: float
    lexical: float


class SentenceTable:
    """Which chunks are sentences, and which passages contain each sentence."""

    def __init__(self, index: CorpusIndex) -> None:
        chunks = index.chunks
        self.chunk_ids = np.array([i for i, c in enumerate(chunks) if c.kind == "sentence"], dtype=np.int64)
        position = {(chunks[i].doc_id, chunks[i].first_sentence): row for row, i in enumerate(self.chunk_ids)}
        width = max((c.last_sentence - c.first_sentence + 1 for c in chunks if c.kind == "passage"), default=1)
        containing = np.full((len(self.chunk_ids), width), -1, dtype=np.int64)
        filled = np.zeros(len(self.chunk_ids), dtype=np.int64)
        for chunk_id, chunk in enumerate(chunks):
            if chunk.kind != "passage":
                continue
            for sentence in range(chunk.first_sentence, chunk.last_sentence + 1):
                row = position[(chunk.doc_id, sentence)]
                containing[row, filled[row] % width] = chunk_id
                filled[row] += 1
        own = self.chunk_ids[:, None]
        self.passages_of = np.where(containing >= 0, containing, own)
        """Passages around each sentence; a sentence in no passage stands for itself."""


class Retriever:
    """Hybrid sentence retrieval over one `CorpusIndex`."""

    def __init__(self, index: CorpusIndex, embedder: Embedder,
                 weights: FusionWeights | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.table = SentenceTable(index)

    def signals(self, question: str) -> Signals:
        chunk_count = len(self.index.chunks)
        query = self.embedder.encode([question])
        depth = min(chunk_count, DENSE_DEPTH)
        cosines, ids = self.index.vectors.search(np.ascontiguousarray(query, dtype=np.float32), depth)
        found = ids[0] >= 0
        dense = np.full(chunk_count, float(cosines[0][found].min()) if found.any() else 0.0, dtype=np.float32)
        dense[ids[0][found]] = cosines[0][found]
        dense = np.clip(dense, 0.0, 1.0)

        query_terms = terms(question)
        lexical = self.index.lexical.scores(query_terms)
        sentence_lexical = lexical[self.table.chunk_ids]
        top = float(lexical.max()) if len(lexical) else 0.0
        scale = top if top > 0 else 1.0
        return Signals(
            sentence_dense=dense[self.table.chunk_ids],
            passage_dense=dense[self.table.passages_of].max(axis=1),
            sentence_lexical=sentence_lexical / scale,
            passage_lexical=lexical[self.table.passages_of].max(axis=1) / scale,
            query_terms=query_terms,
        )

    def run(self, question: str, *, top_k: int = 5) -> tuple[list[Hit], Signals]:
        """The `top_k` best sentences, best first, and the signals behind them."""
        signals = self.signals(question)
        scores = signals.fused(self.weights)
        order = np.argsort(-scores, kind="stable")[:top_k]
        hits = [
            Hit(
                chunk_id=int(self.table.chunk_ids[row]),
                score=float(scores[row]),
                dense=float(signals.sentence_dense[row]),
                lexical=float(signals.sentence_lexical[row]),
            )
            for row in order
        ]
        return hits, signals
