"""Typed records that cross stages: documents, chunks, quotes and answers, how the corpus spells a
text, and the turns of a conversation.

Every record that points into a document carries character offsets into `Document.text`, with
the invariant `document.text[start:end] == text`. Records are frozen; they hold no behaviour
beyond small derived views.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

ChunkKind = Literal["sentence", "passage"]


@dataclass(frozen=True)
class Document:
    """One source file: its body text (front matter removed) and what is known about it."""

    id: str
    text: str
    title: str
    path: str
    date: str | None = None
    author: str | None = None
    outlet: str | None = None
    body_offset: int = 0
    """Where `text` starts inside the file (after any front matter), in characters; 0 for a
    format whose text is extracted (HTML, PDF, DOCX)."""
    pages: tuple[int, ...] = ()
    """Where each page starts in `text`, for a document with pages (PDF); empty otherwise."""

    def page_of(self, offset: int) -> int | None:
        """The page (counted from 1) that holds `text[offset]`, or None without pages. A page
        with no text starts where the next one does and never holds anything."""
        return max(bisect_right(self.pages, offset), 1) if self.pages else None

    def label(self) -> str:
        """Title with outlet and date where known, e.g. "Title (Outlet, 2022-09-24)"."""
        extras = ", ".join(part for part in (self.outlet, self.date) if part)
        return f"{self.title} ({extras})" if extras else self.title


@dataclass(frozen=True)
class Chunk:
    """A sentence or a passage (a few consecutive sentences of one paragraph).

    `context` is what gets embedded and searched: the text itself, plus what it leans on
    (the speaker of a quotation, the sentence a leading pronoun refers to).
    """

    kind: ChunkKind
    doc_id: str
    start: int
    end: int
    text: str
    context: str
    first_sentence: int
    last_sentence: int
    paragraph: int
    speaker: str | None = None
    group_first: int = -1
    """First sentence of the quotation this sentence belongs to (-1 when none)."""
    group_last: int = -1

    def to_json(self) -> dict:
        # `asdict` deep-copies every field; a plain read of the flat fields is ~10x faster on a big index.
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> Chunk:
        return cls(**data)


@dataclass(frozen=True)
class Quote:
    """Exact words from one document that answer (or may relate to) a question."""

    text: str
    source: str
    title: str
    start: int
    end: int
    score: float
    context: str = ""
    """The surrounding passage, shown beside the quote, never part of it."""
    context_start: int = 0
    context_end: int = 0
    speaker: str | None = None
    also_in: tuple[str, ...] = ()
    """Other documents holding the very same words (copies of one story), not quoted again."""
    highlight: tuple[int, int] | None = None
    """Document offsets of the words inside the quote that most likely answer (a date, a
    figure, a name), or None; `start <= highlight[0] < highlight[1] <= end`."""
    page: int | None = None
    """The page the quote starts on (counted from 1), for a document with pages (PDF)."""

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def highlighted(self) -> str | None:
        """The highlight's words, None without one."""
        return self.text[self.highlight[0] - self.start: self.highlight[1] - self.start] if self.highlight else None

    def marked(self, before: str, after: str, escape=lambda text: text) -> str:
        """The quote's text, escaped, with the highlight wrapped in `before` ... `after`."""
        if not self.highlight:
            return escape(self.text)
        start, end = self.highlight[0] - self.start, self.highlight[1] - self.start
        return escape(self.text[:start]) + before + escape(self.text[start:end]) + after + escape(self.text[end:])


@dataclass(frozen=True)
class Answer:
    """The reply to one question: markdown `text`, and the quotes it rests on, best first."""

    question: str
    answered: bool
    text: str
    quotes: list[Quote] = field(default_factory=list)
    confidence: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Things the user should know about how the question was handled (e.g. it was shortened)."""

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": self.confidence,
            "text": self.text,
            "quotes": [quote.to_json() for quote in self.quotes],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Spelling:
    """A text as the corpus spells it (`LexicalIndex.spell`): what is searched for it."""

    respelled: str
    """The text with each word the corpus lacks replaced by the corpus's spelling of its correction."""
    searched: str
    """`respelled`, with the expansion the corpus gives of an acronym it asks about: what is embedded."""
    terms: tuple[str, ...]
    """The stemmed terms of `searched`, typos corrected to terms the corpus has: what BM25 scores."""


@dataclass(frozen=True)
class Quoted:
    """What an earlier reply quoted as its answer, as a follow-up reads it back."""

    text: str
    source: str | None = None
    """The document, offsets and speaker of the quote, as in `Quote`; None for a plain-text reply
    that does not say where its words come from."""
    start: int | None = None
    end: int | None = None
    speaker: str | None = None
    highlight: str | None = None
    """The words the reply marked as its answer (the quote's highlight), None without one."""

    @classmethod
    def of(cls, quote: Quote) -> Quoted:
        return cls(quote.text, quote.source, quote.start, quote.end, quote.speaker, quote.highlighted)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation: what was asked and what the reply quoted."""

    question: str
    """What the user asked, as typed ("" for a reply that followed no question)."""
    replied: bool = True
    """False for a question whose reply is not known (a plain-text history may end in one)."""
    quoted: Quoted | None = None
    """What the reply quoted as its answer; None when it abstained, declined or quoted nothing."""

    @classmethod
    def of(cls, question: str, answer: Answer) -> Turn:
        """The turn in which `question` got `answer` from the engine."""
        best = answer.quotes[0] if answer.answered and answer.quotes else None
        return cls(question, quoted=Quoted.of(best) if best else None)
