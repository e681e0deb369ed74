"""Ranking: order candidate sentences with a small learned model over general signals.

Each candidate gets a feature vector: dense and lexical scores of the sentence, of the passages
around it and of its document; how much of the question (rarer words counting more) it
contains, with and without the context it borrows; whether it holds the kind of answer the question asks for; whether it is the
headline; its position and length; whether it states the document's author, date or
outlet when the question asks for one. A logistic model, fitted on held-out training articles by
`tools/tune.py` and stored in `ranker_weights.json`, turns them into a score in (0, 1); it
sees the retrieval scores relative to the question's best candidate.
What it leaves out: reading the question (it comes as a `Question`, `qa/question.py`) and reading
the sentence (the span reader does that for the best candidates: `qa/reader.py`, `qa/rerank.py`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.answer_type import holds, new_names
from qa.linear import LinearModel
from qa.question import AnswerType, Question
from qa.records import Chunk, Document
from qa.text import terms

WEIGHTS_FILE = Path(__file__).with_name("ranker_weights.json")
FEATURES = (
    "sentence_dense", "passage_dense", "document_dense",
    "sentence_lexical", "passage_lexical", "document_lexical",
    "coverage", "own_coverage", "type_found", "type_missing", "headline", "lead", "length", "new_names", "metadata",
)


RELATIVE = FEATURES[:6]
"""Retrieval scores, which the ranker sees as distances from the question's best candidate."""


def load_ranker(path: Path = WEIGHTS_FILE) -> LinearModel:
    return LinearModel.load(path, FEATURES)


def relative(features: np.ndarray) -> np.ndarray:
    """The ranker's input: each RELATIVE column minus its maximum over the candidates.

    Scores differ in scale from question to question; their gaps within one question are what
    tell candidates apart, so this lets a pointwise model rank like a listwise one.
    """
    shifted = np.array(features, dtype=np.float64, copy=True)
    if len(shifted):
        shifted[:, : len(RELATIVE)] -= shifted[:, : len(RELATIVE)].max(axis=0)
    return shifted


def coverage(query_terms: tuple[str, ...], sentence_terms: set[str], idf) -> float:
    """IDF-weighted share of the question's terms found in the sentence."""
    wanted = set(query_terms)
    total = sum(idf(term) for term in wanted)
    return sum(idf(term) for term in wanted if term in sentence_terms) / total if total else 0.0


def holds_metadata(question: Question, sentence: Chunk, document: Document) -> bool:
    """Does the sentence state the author, date or outlet that the question asks about?"""
    text = sentence.text.lower()
    values = (getattr(document, field) for field in question.metadata)
    return any(value and value.lower() in text for value in values)


def is_headline(sentence: Chunk, document: Document) -> bool:
    """The sentence is the document's headline: its title, shown as such."""
    return sentence.text.strip() == document.title.strip()


def candidate_features(question: Question, sentence: Chunk, document: Document,
                       signals: dict[str, float], idf) -> list[float]:
    """The FEATURES vector of one candidate; `signals` holds the six retrieval scores, and
    `question.spelling` the terms searched."""
    kind = question.kind
    query_terms = question.spelling.terms
    found = kind is not AnswerType.NONE and holds(sentence.text, question)
    return [
        signals["sentence_dense"], signals["passage_dense"], signals["document_dense"],
        signals["sentence_lexical"], signals["passage_lexical"], signals["document_lexical"],
        coverage(query_terms, set(terms(sentence.context)), idf),
        coverage(query_terms, set(terms(sentence.text)), idf),
        float(found),
        float(kind is not AnswerType.NONE and not found),
        float(is_headline(sentence, document)),
        1.0 / (1.0 + sentence.first_sentence),
        min(len(sentence.text), 400) / 400,
        min(new_names(sentence.text, question), 3) / 3,
        float(holds_metadata(question, sentence, document)),
    ]
