"""Retrieval: find the sentences of the corpus that best answer a question.

Two steps. First every sentence gets six signals, each in [0, 1]: the cosine of its own search
context, of the best passage around it and of the best chunk of its document, and the same
three from BM25 (divided by the query's best BM25 score); a fixed blend of them picks the
`CANDIDATES` most promising sentences. Then the learned ranker (`qa/ranker.py`) orders those,
the span reader (`qa/reader.py`) reads the first `READ_DEPTH` of them inside windows of their
documents, and a small learned rerank model over the ranker's and the reader's scores orders
the sentences read (the rest follow in the ranker's order).
Dense search covers the top `DENSE_DEPTH` chunks (exact) or `APPROXIMATE_DEPTH` (HNSW, large
corpora); chunks beyond that depth get the depth's lowest cosine. The question is searched
with its typos respelt and an acronym it asks about spelt out (`LexicalIndex`). What it leaves
out: synonyms and other query expansion.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import faiss
import numpy as np

from qa.chunker import names_in
from qa.embedder import Embedder
from qa.followup import Conversation
from qa.index import CorpusIndex
from qa.records import Document
from qa.linear import LinearModel
from qa.ranker import FEATURES, Asked, candidate_features, is_headline, load_ranker, relative
from qa.reader import Reader, SentenceReading, read_in_documents
from qa.text import terms

DENSE_DEPTH = 4096
APPROXIMATE_DEPTH = 1024
"""With HNSW the search breadth bounds what can be found; deeper asks cost without gain."""
CANDIDATES = 40
READ_DEPTH = 10
"""How many of the ranker's best candidates the reader reads (with the sentences around them)."""
RERANK_FILE = Path(__file__).with_name("rerank_weights.json")
RERANK_FEATURES = ("ranker", "reader")
UNREAD = -20.0
"""Reader score of a sentence the reader did not read; also the floor of every reader score."""
SIGNALS = ("sentence_dense", "passage_dense", "document_dense",
           "sentence_lexical", "passage_lexical", "document_lexical")


@dataclass(frozen=True)
class Blend:
    """Weights of the first-step blend that picks candidates."""

    sentence_dense: float = 0.25
    passage_dense: float = 0.5
    sentence_lexical: float = 0.05
    passage_lexical: float = 0.2


@dataclass(frozen=True)
class Signals:
    """Per-sentence signals for one question, aligned with `SentenceTable.chunk_ids`."""

    values: dict[str, np.ndarray]
    query_terms: list[str]
    """The question's terms, typos corrected to terms the corpus has, with the expansion of an
    acronym it asks about."""
    respelled: str
    """The question as searched densely: typos replaced by the corpus's spelling."""

    def blended(self, blend: Blend) -> np.ndarray:
        return sum(getattr(blend, name) * self.values[name] for name in
                   ("sentence_dense", "passage_dense", "sentence_lexical", "passage_lexical"))

    def at(self, row: int) -> dict[str, float]:
        return {name: float(values[row]) for name, values in self.values.items()}


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    """Index of the sentence in `CorpusIndex.chunks`."""
    score: float
    """The ranker's score, in (0, 1)."""
    features: dict[str, float]
    """The ranker's features for this sentence, by name, retrieval scores absolute, and its
    reader score ("reader", UNREAD when not read)."""
    reading: SentenceReading | None = None
    """The reader's verdict on this sentence, when it was read."""


@dataclass(frozen=True)
class Candidates:
    rows: np.ndarray
    """Rows of `SentenceTable` (not chunk ids), in first-step order."""
    features: np.ndarray
    signals: Signals


def _mean(first: Signals, second: Signals) -> Signals:
    return replace(first, values={name: (first.values[name] + second.values[name]) / 2 for name in first.values})


class SentenceTable:
    """Which chunks are sentences, which passages contain each, and each chunk's document."""

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
        self.passages_of = np.where(containing >= 0, containing, self.chunk_ids[:, None])
        """Passages around each sentence; a sentence in no passage stands for itself."""
        numbers: dict[str, int] = {}
        self.document_of_chunk = np.array([numbers.setdefault(c.doc_id, len(numbers)) for c in chunks],
                                          dtype=np.int64)
        self.document_count = len(numbers)
        ordered = len(chunks) == 0 or bool(np.all(np.diff(self.document_of_chunk) >= 0))
        self.document_starts = (np.flatnonzero(np.diff(self.document_of_chunk, prepend=-1)) if ordered else None)
        self.document_of_row = self.document_of_chunk[self.chunk_ids]

    def per_document_max(self, chunk_scores: np.ndarray) -> np.ndarray:
        if self.document_starts is not None:  # each document's chunks are contiguous: one pass
            return np.maximum.reduceat(chunk_scores, self.document_starts)
        best = np.full(self.document_count, -np.inf, dtype=np.float32)
        np.maximum.at(best, self.document_of_chunk, chunk_scores)
        return best


class Retriever:
    """Hybrid sentence retrieval over one `CorpusIndex`, ordered by the learned ranker."""

    def __init__(self, index: CorpusIndex, embedder: Embedder, documents: dict[str, Document], *,
                 reader: Reader | None = None, blend: Blend | None = None, ranker: LinearModel | None = None,
                 rerank: LinearModel | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.documents = documents
        self.reader = reader
        self.blend = blend or Blend()
        self.ranker = ranker or load_ranker()
        self.rerank = rerank or load_rerank()
        self.table = SentenceTable(index)
        self.sentence_spans: dict[str, list[tuple[int, int]]] = {}
        for chunk_id in self.table.chunk_ids:
            chunk = index.chunks[int(chunk_id)]
            self.sentence_spans.setdefault(chunk.doc_id, []).append((chunk.start, chunk.end))
        self.texts = {doc_id: (document.text, document.title) for doc_id, document in documents.items()}

    def signals(self, question: str) -> Signals:
        chunk_count = len(self.index.chunks)
        lexical_index = self.index.lexical
        respelled = lexical_index.respell(question)
        searched = lexical_index.expand(respelled)
        query = self.embedder.encode([searched])
        exact = isinstance(self.index.vectors, faiss.IndexFlat)
        depth = min(chunk_count, DENSE_DEPTH if exact else APPROXIMATE_DEPTH)
        cosines, ids = self.index.vectors.search(np.ascontiguousarray(query, dtype=np.float32), depth)
        found = ids[0] >= 0
        dense = np.full(chunk_count, float(cosines[0][found].min()) if found.any() else 0.0, dtype=np.float32)
        dense[ids[0][found]] = cosines[0][found]
        dense = np.clip(dense, 0.0, 1.0)

        query_terms = [lexical_index.correct(term) for term in terms(searched)]
        lexical = lexical_index.scores(query_terms)
        top = float(lexical.max()) if len(lexical) else 0.0
        lexical = lexical / (top if top > 0 else 1.0)
        table = self.table
        values = {
            "sentence_dense": dense[table.chunk_ids],
            "passage_dense": dense[table.passages_of].max(axis=1),
            "document_dense": table.per_document_max(dense)[table.document_of_row],
            "sentence_lexical": lexical[table.chunk_ids],
            "passage_lexical": lexical[table.passages_of].max(axis=1),
            "document_lexical": table.per_document_max(lexical)[table.document_of_row],
        }
        return Signals(values=values, query_terms=query_terms, respelled=respelled)

    def candidates(self, question: str, *, context: Conversation | None = None) -> Candidates:
        """The first step's best sentences with their ranker features.

        `context` (what a follow-up leans on) picks the documents: their scores come from the
        earlier turns, the last answer's quote and the question together, and favour
        candidates there. Sentences are scored half against the question alone, half against
        it plus the names the earlier turns mention (what "it" or "he" most likely stands for).
        """
        signals = self.signals(question)
        names = names_in(context.turns) if context else ""
        if names:
            signals = _mean(signals, self.signals(f"{question} {names}"))
        blended = signals.blended(self.blend)
        if context:
            story = " ".join(part for part in (context.turns, context.last_quote, question) if part)
            signals = self._with_documents_of(signals, self.signals(story))
            blended = blended + signals.values["document_dense"] + signals.values["document_lexical"]
        count = min(CANDIDATES, len(blended))
        rows = np.argsort(-blended, kind="stable")[:count]
        asked = Asked.of(question, signals.query_terms)
        sentences = [self._sentence(row) for row in rows]
        features = np.array([
            candidate_features(asked, sentence, self.documents[sentence.doc_id], signals.at(row),
                               self.index.lexical.idf)
            for row, sentence in zip(rows, sentences)
        ], dtype=np.float64).reshape(len(rows), -1)
        return Candidates(rows=rows, features=features, signals=signals)

    @staticmethod
    def _with_documents_of(own: Signals, conversation: Signals) -> Signals:
        values = dict(own.values)
        for name in ("document_dense", "document_lexical"):
            values[name] = conversation.values[name]
        return replace(own, values=values)

    def _sentence(self, row: int):
        return self.index.chunks[int(self.table.chunk_ids[row])]

    def read(self, question: str, rows: np.ndarray, order: np.ndarray) -> dict[int, SentenceReading]:
        """The reader's verdicts on the first READ_DEPTH candidates of `order`, by candidate.
        A document's headline is not read: it is shown as the title, never quoted, and a reader
        asked a question that restates it would rank it first."""
        if self.reader is None:
            return {}
        candidates = ((int(i), self._sentence(rows[i])) for i in order)
        picked = list(islice(((i, sentence) for i, sentence in candidates
                              if not is_headline(sentence, self.documents[sentence.doc_id])), READ_DEPTH))
        chosen = [i for i, _ in picked]
        sentences = [sentence for _, sentence in picked]
        wanted = [(sentence.doc_id, sentence.first_sentence) for sentence in sentences]
        found = read_in_documents(self.reader, question, wanted, self.sentence_spans, self.texts)
        return {i: found[key] for i, key in zip(chosen, wanted)}

    def reranked(self, scores: np.ndarray, readings: dict[int, SentenceReading]) -> tuple[np.ndarray, np.ndarray]:
        """Read candidates ordered by the rerank model over the ranker's and the reader's
        scores, then the rest in the ranker's order; and each candidate's final score."""
        order = np.argsort(-scores, kind="stable")
        if not readings:
            return order, scores
        read = [i for i in order if i in readings]
        final = self.rerank.score(rerank_features(scores[read], np.array([readings[i].score for i in read])))
        floor = float(final.min())
        combined = np.minimum(scores, floor)
        combined[read] = final
        rest = [i for i in order if i not in readings]
        return np.array([read[k] for k in np.argsort(-final, kind="stable")] + rest, dtype=np.int64), combined

    def run(self, question: str, *, top_k: int = 5, context: Conversation | None = None) -> tuple[list[Hit], Signals]:
        """The `top_k` best sentences, best first, and the signals behind them."""
        found = self.candidates(question, context=context)
        scores = self.ranker.score(relative(found.features)) if len(found.rows) else np.zeros(0)
        readings = self.read(question, found.rows, np.argsort(-scores, kind="stable"))
        order, scores = self.reranked(scores, readings)
        order = order[:top_k]
        hits = [
            Hit(
                chunk_id=int(self.table.chunk_ids[found.rows[i]]),
                score=float(scores[i]),
                features={**dict(zip(FEATURES, map(float, found.features[i]))),
                          "reader": readings[i].score if i in readings else UNREAD},
                reading=readings.get(i),
            )
            for i in order
        ]
        return hits, found.signals


def load_rerank(path: Path = RERANK_FILE) -> LinearModel:
    return LinearModel.load(path, RERANK_FEATURES)


def rerank_features(ranker_scores: np.ndarray, reader_scores: np.ndarray) -> np.ndarray:
    """RERANK_FEATURES rows: the ranker's log-odds and the reader's score (within ±UNREAD)."""
    probability = np.clip(np.asarray(ranker_scores, dtype=np.float64), 1e-9, 1 - 1e-9)
    reader = np.clip(np.nan_to_num(np.asarray(reader_scores, dtype=np.float64), neginf=UNREAD), UNREAD, -UNREAD)
    return np.column_stack([np.log(probability / (1 - probability)), reader])
