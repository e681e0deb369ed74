"""Answering: the `QA` engine that turns a question into quoted sentences, or says it can't.

It ties the stages together: load the corpus, load or build its index (or take both from a
Milvus store: `QA.from_store`, `qa/store.py`), read the question once into a `Question`
(`qa/question.py`, with the conversation before it) and fill in the corpus's
spelling of it, retrieve sentences (ranked, then re-read by the span reader: `qa/retriever.py`,
`qa/rerank.py`), widen each to a quote (a quotation is kept with its attribution when that
fits) and mark the words in it that answer (the reader's span where it would answer there, or
else a date, figure or name of the kind asked for), decide from the confidence whether the corpus
answers (a reply that does marks the reader's best span in its first quote if nothing else was
marked), and write the reply. "Tell me more" quotes the sentences after the last reply's quote.
Every quoted word is copied from a document. Earlier turns come as `Turn` records
(`Turn.of(question, answer)`), or as plain-text messages read back by `render.read_turns`.
What it leaves out: generating text.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from qa import render
from qa.answer_type import answer_span
from qa.confidence import (THRESHOLD, Evidence, confidence, load_confidence, name_absent, reader_evidence,
                           standout)
from qa.embedder import Embedder, MiniLMEmbedder
from qa.errors import QuestionError
from qa.index import Plan, SearchIndex, load_or_build
from qa.loader import load_corpus
from qa.question import CANNOT_QUOTE, Question, read_question, small_talk_reply
from qa.reader import Reader, SentenceReading, shipped_reader
from qa.records import Answer, Chunk, Document, Quote, Turn
from qa.rerank import Hit, Reranker
from qa.retriever import Retriever
from qa.store import MilvusStore

MAX_QUOTE_CHARS = 420
COPY_SIMILARITY = 0.9
"""Share of words two quotes from different files must share to count as copies of one story."""
DEFAULT_TOP_K = 3
GOES_ON_SENTENCES = 3
"""At most this many sentences answer "Tell me more"."""
_WHITE_SPACE = re.compile(r"\s*")
NOTHING_TO_GO_ON_FROM = "The last reply quoted nothing I can go on from. Ask me a question about the documents."


def bundled_corpus() -> Path:
    """The announcement shipped with the package (inside the wheel, or beside it in a checkout)."""
    packaged = Path(__file__).resolve().parent / "bundled_corpus"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "corpus"


@dataclass(frozen=True)
class _Span:
    first: int
    """Number of the first sentence in its document."""
    last: int
    start: int
    end: int
    speaker: str | None


class QA:
    """Question answering over one folder of documents. Safe to share between threads.

    `reader` defaults to the shipped reader (`qa.reader`), loaded on the first question."""

    def __init__(self, documents: dict[str, Document], index: SearchIndex, embedder: Embedder,
                 *, reader: Reader | None = None, warnings: Sequence[str] = (), built: bool = False) -> None:
        self.documents = documents
        self.index = index
        self.embedder = embedder
        self.retriever = Retriever(index, embedder, documents)
        self.reranker = Reranker(self.retriever, reader=reader or shipped_reader())
        self.confidence_model = load_confidence()
        self.sentences: dict[str, list[Chunk]] = {}
        """Each document's sentences in order."""
        for chunk in index.chunks:
            if chunk.kind == "sentence":
                self.sentences.setdefault(chunk.doc_id, []).append(chunk)
        self.warnings = list(warnings)
        self.built = built
        """True when this engine built the index (embedding what it could not re-use), False
        when it loaded a saved one."""

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], *, index_dir: str | os.PathLike[str] | None = None,
                       store: str | None = None, token: str = "",
                       embedder: Embedder | None = None, reader: Reader | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       on_plan: Callable[[Plan], None] | None = None, rebuild: bool = False) -> QA:
        """Load a folder of documents (`qa.loader.SUFFIXES`) and its index (built and saved on first
        use; after the folder changes, only new and changed files are embedded, unless `rebuild`).

        With `store` (a Milvus URI, `qa.store`), the folder is written into that store instead
        (new and changed files embedded, removed ones deleted) and the engine answers from it."""
        corpus = load_corpus(path)
        embedder = embedder or MiniLMEmbedder()
        if store is not None:
            target = MilvusStore(store, token=token, create=True)
            plan = target.write(list(corpus.documents.values()), embedder, progress=progress, on_plan=on_plan,
                                rebuild=rebuild)
            documents, index = target.load(embedder)
            return cls(documents, index, embedder, reader=reader, warnings=corpus.skipped,
                       built=plan.reused < len(corpus.documents) or plan.removed > 0)
        loaded = load_or_build(list(corpus.documents.values()), embedder, root=Path(index_dir) if index_dir else None,
                               source=corpus.root, rebuild=rebuild, progress=progress, on_plan=on_plan)
        warnings = [*corpus.skipped, *([loaded.warning] if loaded.warning else [])]
        return cls(corpus.documents, loaded.index, embedder, reader=reader, warnings=warnings, built=loaded.built)

    @classmethod
    def from_store(cls, uri: str, *, token: str = "", embedder: Embedder | None = None,
                   reader: Reader | None = None) -> QA:
        """Answer from the documents and index a Milvus store holds (`qa.store`): a Milvus Lite
        file (`….db`) or a server (`http://host:19530`, with `token` when it asks for one). No
        folder is read; the store must have been written with this embedder."""
        embedder = embedder or MiniLMEmbedder()
        documents, index = MilvusStore(uri, token=token).load(embedder)
        return cls(documents, index, embedder, reader=reader)

    @classmethod
    def default(cls) -> QA:
        """The engine over the bundled announcement, created once per process."""
        global _default
        with _default_lock:
            if _default is None:
                _default = cls.from_directory(bundled_corpus())
            return _default

    def warm_up(self) -> None:
        """Load the embedding model and the reader now rather than on the first question."""
        for component in (self.embedder, self.reranker.reader):
            warm = getattr(component, "warm_up", None)
            if warm:
                warm()

    def answer(self, question: str, history: Sequence[Turn] | Sequence[render.Message] | None = None, *,
               top_k: int = DEFAULT_TOP_K) -> Answer:
        """Quote the sentences that answer `question`, or say that the documents don't say.

        `history` is the conversation before it, oldest first: `Turn` records, or plain-text
        messages (`{"role": "user"|"assistant", "content": str}`) read back by `render.read_turns`."""
        turns = _turns(history)
        if top_k < 1:
            raise QuestionError("top_k must be at least 1.")
        asked = read_question(question, turns)
        if not asked.for_quoting:
            return Answer(question=asked.text, answered=False, text=asked.small_talk or CANNOT_QUOTE,
                          confidence=0.0, notes=list(asked.notes))
        if asked.goes_on:
            return self._continued(asked, turns)
        asked = self.retriever.spelled(asked)
        hits, signals = self.reranker.run(asked, top_k=top_k * 4)
        respelled = asked.spelling.respelled
        notes = [*asked.notes, *([f"Searched as “{respelled}”, in the documents' spelling."]
                                 if respelled != asked.text else [])]
        quotes = self._quotes(hits, top_k, asked)
        if not quotes:
            return Answer(question=asked.text, answered=False, notes=notes, text=render.no_answer(None, None))
        best = quotes[0]
        document = self.documents[best.source]
        evidence = Evidence({**hits[0].features, "reader": reader_evidence(hits[0].features["reader"]),
                             "answerable": reader_evidence(hits[0].features["answerable"]),
                             "standout": standout(signals.values["sentence_dense"]),
                             "name_absent": name_absent(asked, document)})
        score = confidence(self.confidence_model, evidence)
        answered = score >= THRESHOLD
        if answered and best.highlight is None:
            best = quotes[0] = _reader_marked(best, hits[0].reading)
        text = render.answer(best, document) if answered else render.no_answer(best, document)
        return Answer(question=asked.text, answered=answered, text=text, quotes=quotes,
                      confidence=round(score, 4), notes=notes)

    def _quotes(self, hits: list[Hit], top_k: int, question: Question) -> list[Quote]:
        """Distinct quotes, best first: a sentence already inside a quote is skipped, and the
        same words, or nearly, in another document (a copy of the story) are noted on the first
        quote."""
        quotes: list[Quote] = []
        for hit in hits:
            sentence = self.index.chunks[hit.chunk_id]
            if any(q.source == sentence.doc_id and q.start <= sentence.start < q.end for q in quotes):
                continue
            quote = self._quote(sentence, hit.score, question, hit.reading)
            copy_of = next((i for i, q in enumerate(quotes)
                            if q.source != quote.source and _nearly_same_words(q.text, quote.text)), None)
            if copy_of is not None:
                if quote.source not in quotes[copy_of].also_in:
                    quotes[copy_of] = replace(quotes[copy_of], also_in=(*quotes[copy_of].also_in, quote.source))
                continue
            quotes.append(quote)
            if len(quotes) == top_k:
                break
        return quotes

    def _continued(self, asked: Question, turns: Sequence[Turn]) -> Answer:
        """The words that follow the last reply's quote in its document ("Tell me more"): answered,
        with certainty 1 (nothing is judged); else a reply saying that the document ends there, or
        that the last reply quoted nothing this corpus still holds word for word."""
        replies = [turn for turn in turns if turn.replied]
        last = replies[-1].quoted if replies else None
        document = self.documents.get(last.source) if last and last.source else None
        if document is None or last.start is None or last.end is None \
                or document.text[last.start:last.end].split() != last.text.split():
            return Answer(question=asked.text, answered=False, confidence=0.0, text=NOTHING_TO_GO_ON_FROM)
        span = self._run_from(last.source, last.end)
        if span is None:
            return Answer(question=asked.text, answered=False, confidence=0.0, text=render.story_ends(document))
        quote = self._quote_of(last.source, span, 1.0)
        return Answer(question=asked.text, answered=True, text=render.answer(quote, document), quotes=[quote],
                      confidence=1.0, notes=[f"Goes on from the last quote, in {last.source}."])

    def _run_from(self, doc_id: str, after: int) -> _Span | None:
        """Document `doc_id` from offset `after` on (the rest of a sentence a quote cut, first): up to
        GOES_ON_SENTENCES sentences that fit in a quote, or the first alone, cut at a word, when it
        does not fit; None where only white space is left."""
        text = self.documents[doc_id].text
        following = []
        for sentence in self.sentences[doc_id]:
            if sentence.end <= after:
                continue
            start = _WHITE_SPACE.match(text, max(sentence.start, after), sentence.end).end()
            if start < sentence.end:
                following.append((start, sentence))
                if len(following) == GOES_ON_SENTENCES:
                    break
        if not following:
            return None
        start, head = following[0]
        run = [sentence for _, sentence in following if sentence.end - start <= MAX_QUOTE_CHARS]
        last = run[-1] if run else head
        speaker = head.speaker if all(sentence.speaker == head.speaker for sentence in run) else None
        return _Span(head.first_sentence, last.first_sentence, start, _cut_end(text, start, last.end), speaker)

    def _quote(self, sentence: Chunk, score: float, question: Question | None = None,
               reading: SentenceReading | None = None) -> Quote:
        """The quote around `sentence`; its highlight is what answers `question` (none without one)."""
        return self._quote_of(sentence.doc_id, self._span(sentence), score, question, reading)

    def _quote_of(self, doc_id: str, span: _Span, score: float, question: Question | None = None,
                  reading: SentenceReading | None = None) -> Quote:
        """The quote of `span` in document `doc_id`, with the passage around it."""
        document = self.documents[doc_id]
        context_start, context_end = self._context(doc_id, span)
        text = document.text[span.start : span.end]
        found = _read_span(reading, span.start, span.end) or (answer_span(text, question) if question else None)
        return Quote(
            text=text,
            source=doc_id,
            title=document.title,
            start=span.start,
            end=span.end,
            score=round(score, 4),
            context=document.text[context_start:context_end],
            context_start=context_start,
            context_end=context_end,
            speaker=span.speaker,
            highlight=(span.start + found[0], span.start + found[1]) if found else None,
            page=document.page_of(span.start),
        )

    def _span(self, sentence: Chunk) -> _Span:
        """The sentence, widened to its whole quotation, or up to the attribution, when that fits."""
        own = self.sentences[sentence.doc_id]
        if sentence.group_first >= 0:
            first, last = own[sentence.group_first], own[sentence.group_last]
            for head in (first, sentence):
                if last.end - head.start <= MAX_QUOTE_CHARS:
                    return _Span(head.first_sentence, last.first_sentence, head.start, last.end, sentence.speaker)
        end = _cut_end(self.documents[sentence.doc_id].text, sentence.start, sentence.end)
        return _Span(sentence.first_sentence, sentence.first_sentence, sentence.start, end, sentence.speaker)

    def _context(self, doc_id: str, span: _Span) -> tuple[int, int]:
        """The quote with one sentence either side: the passage shown beside it."""
        own = self.sentences[doc_id]
        before = own[max(span.first - 1, 0)]
        after = own[min(span.last + 1, len(own) - 1)]
        return min(before.start, span.start), max(after.end, span.end)


def _cut_end(text: str, start: int, end: int) -> int:
    """`end`, or where a quote from `start` stops at a word when text[start:end] is too long for one."""
    if end - start <= MAX_QUOTE_CHARS:
        return end
    cut = text.rfind(" ", start, start + MAX_QUOTE_CHARS)
    return cut if cut > start else start + MAX_QUOTE_CHARS


def _read_span(reading: SentenceReading | None, start: int, end: int, *,
               doubted_too: bool = False) -> tuple[int, int] | None:
    """The reader's answer inside the quote at document offsets [start, end), relative to `start`,
    when it would answer there (or, `doubted_too`, wherever it marked its best span)."""
    if reading is None or reading.span is None or (reading.score <= 0 and not doubted_too):
        return None
    first, last = reading.span
    return (first - start, last - start) if start <= first < last <= end else None


def _reader_marked(quote: Quote, reading: SentenceReading | None) -> Quote:
    """`quote` with the reader's best span marked, for an answered reply the reader doubted."""
    found = _read_span(reading, quote.start, quote.end, doubted_too=True)
    return replace(quote, highlight=(quote.start + found[0], quote.start + found[1])) if found else quote


def _nearly_same_words(first: str, second: str) -> bool:
    """The same words, but for a corrected typo or a dropped clause: a copy of one story.
    Quotes whose figures differ ("12 injured" and "3 injured") are different reports."""
    one, other = first.split(), second.split()
    if one == other:
        return True
    matcher = SequenceMatcher(None, one, other, autojunk=False)
    changed = [word for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
               for word in (*one[i1:i2], *other[j1:j2])]
    return matcher.ratio() >= COPY_SIMILARITY and not any(char.isdigit() for word in changed for char in word)


def _turns(history: Sequence[Turn] | Sequence[render.Message] | None) -> tuple[Turn, ...]:
    """The conversation as turns: `Turn` records as they are, plain-text messages read back; small
    talk ("Thanks", "OK", "help") is left out, so a follow-up after "Thanks" still leans on the
    answer before it."""
    if history and all(isinstance(entry, Turn) for entry in history):
        turns = tuple(history)
    else:
        turns = render.read_turns(history or ())
    return tuple(turn for turn in turns if small_talk_reply(turn.question) is None)


_default: QA | None = None
_default_lock = threading.Lock()


def answer(question: str, history: Sequence[Turn] | Sequence[render.Message] | None = None, *,
           top_k: int = DEFAULT_TOP_K) -> Answer:
    """Answer from the bundled announcement (see `QA.default`)."""
    return QA.default().answer(question, history, top_k=top_k)
