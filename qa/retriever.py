"""Retrieval: find the sentences of the corpus that best answer a question.

Every sentence gets six signals, each in [0, 1]: the cosine of its own search context, of the
best passage around it and of the best chunk of its document, and the same three from BM25
(divided by the query's best BM25 score); a fixed blend of them picks the `CANDIDATES` most
promising sentences, and the learned ranker's features are computed for each (`qa/ranker.py`).
The index is searched as a `SearchIndex`: in this process (`CorpusIndex`: exact dense search
over the top `DENSE_DEPTH` chunks, HNSW's `APPROXIMATE_DEPTH` for large corpora, BM25 over every
chunk) or in Milvus (`qa.store.StoreIndex`: the top chunks of its dense and BM25 searches); a
chunk past a search's depth gets that depth's lowest score (`qa.index.depth_scores`), so the
signals of the chunks returned are the same either way. The question is searched as the corpus
spells it (`spelled` fills in its `Question.spelling` once: typos respelt, an acronym it asks
about spelt out, by `Lexicon.spell`); a follow-up also with the names and
the story of the conversation it leans on. What it leaves out: synonyms and other query
expansion, and reading the candidates (`qa/rerank.py` orders them with the span reader).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qa.embedder import Embedder
from qa.index import SearchIndex
from qa.linear import LinearModel
from qa.question import Question
from qa.ranker import candidate_features, load_ranker, relative
from qa.records import Chunk, Document, Spelling

CANDIDATES = 40
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

    def blended(self, blend: Blend) -> np.ndarray:
        return sum(getattr(blend, name) * self.values[name] for name in
                   ("sentence_dense", "passage_dense", "sentence_lexical", "passage_lexical"))

    def at(self, row: int) -> dict[str, float]:
        return {name: float(values[row]) for name, values in self.values.items()}


@dataclass(frozen=True)
class Candidates:
    rows: np.ndarray
    """Rows of `SentenceTable` (not chunk ids), in first-step order."""
    features: np.ndarray
    scores: np.ndarray
    """The ranker's score of each row."""
    signals: Signals


def _mean(first: Signals, second: Signals) -> Signals:
    return replace(first, values={name: (first.values[name] + second.values[name]) / 2 for name in first.values})


class SentenceTable:
    """Which chunks are sentences, which passages contain each, and each chunk's document."""

    def __init__(self, index: SearchIndex) -> None:
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
        self.document_numbers = numbers
        """Each document's number, as `document_of_chunk` gives it."""
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
    """Hybrid sentence retrieval over one `SearchIndex`, with the learned ranker's scores."""

    def __init__(self, index: SearchIndex, embedder: Embedder, documents: dict[str, Document], *,
                 blend: Blend | None = None, ranker: LinearModel | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.documents = documents
        self.blend = blend or Blend()
        self.ranker = ranker or load_ranker()
        self.table = SentenceTable(index)

    def spelled(self, question: Question) -> Question:
        """`question` with the corpus's spelling of it filled in."""
        return replace(question, spelling=self.index.lexical.spell(question.text))

    def signals(self, spelling: Spelling) -> Signals:
        dense = np.clip(self.index.cosines(self.embedder.encode([spelling.searched])[0]), 0.0, 1.0)

        lexical = self.index.lexical.scores(spelling.terms)
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
        return Signals(values=values)

    def candidates(self, question: Question) -> Candidates:
        """The first step's best sentences with their ranker features and scores; `question`
        must be `spelled`.

        The conversation a follow-up leans on picks the documents: candidates come from the
        document the last answer quoted when it is known (a follow-up asks about the story it was
        just told), and their document scores come from the earlier turns, the last answer's
        quote and the question together. Sentences are scored half against the question alone,
        half against it plus the names "it" or "he" most likely stands for: the answer to an
        earlier "who" or "which" turn, and the names the earlier turns mention.
        """
        if question.spelling is None:
            raise ValueError("the question must be spelled first (Retriever.spelled)")
        spell = self.index.lexical.spell
        context = question.conversation
        signals = self.signals(question.spelling)
        named = " ".join(part for part in (context.answer_name, context.names) if part) if context else ""
        if named:
            signals = _mean(signals, self.signals(spell(f"{question.text} {named}")))
        blended = signals.blended(self.blend)
        if context:
            story = " ".join(part for part in (context.turns, context.last_quote, question.text) if part)
            signals = self._with_documents_of(signals, self.signals(spell(story)))
            blended = blended + signals.values["document_dense"] + signals.values["document_lexical"]
        count = min(CANDIDATES, len(blended))
        story = self.table.document_numbers.get(context.last_source) if context and context.last_source else None
        if story is not None:
            in_story = self.table.document_of_row == story
            blended = np.where(in_story, blended, -np.inf)
            count = min(count, int(in_story.sum()))
        rows = np.argsort(-blended, kind="stable")[:count]
        sentences = [self.sentence(row) for row in rows]
        features = np.array([
            candidate_features(question, sentence, self.documents[sentence.doc_id], signals.at(row),
                               self.index.lexical.idf)
            for row, sentence in zip(rows, sentences)
        ], dtype=np.float64).reshape(len(rows), -1)
        scores = self.ranker.score(relative(features)) if len(rows) else np.zeros(0)
        return Candidates(rows=rows, features=features, scores=scores, signals=signals)

    @staticmethod
    def _with_documents_of(own: Signals, conversation: Signals) -> Signals:
        values = dict(own.values)
        for name in ("document_dense", "document_lexical"):
            values[name] = conversation.values[name]
        return replace(own, values=values)

    def sentence(self, row: int) -> Chunk:
        """The sentence in row `row` of the `SentenceTable`."""
        return self.index.chunks[int(self.table.chunk_ids[row])]
