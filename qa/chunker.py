"""Chunking: a document into sentences and passages with exact character offsets.

Sentences come from pysbd, run paragraph by paragraph; a segment that pysbd keeps whole
because it sits inside quotation marks is split again at its sentence ends, so a quote can be
one sentence of a longer statement. Each sentence gets a search `context`: a quoted sentence
carries its speaker (taken from the attribution, "...," the chairman said), and a sentence that
opens with a pronoun carries the last named speaker, or the names in the previous sentence. A quotation with
no attribution of its own, right after an attributed one in the same paragraph, inherits its speaker. Passages are
windows of consecutive sentences. Invariant: `document.text[chunk.start:chunk.end] == chunk.text`.

What it leaves out: coreference beyond a leading pronoun, languages pysbd does not handle,
and tables or lists (they are cut like prose).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pysbd

from qa.records import Chunk, Document
from qa.text import STOPWORDS

CHUNKER_VERSION = "9"
PASSAGE_SENTENCES = 3
_MAX_SEGMENT_CHARS = 20_000

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_INNER_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘']?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Sen|Rep|Gov|Lt|Col|Capt|Inc|Ltd|Co|Corp|vs|No|Mt)|\b[A-Z])\.$"
)
OPENING_QUOTES = "“\"‘"
CLOSING_QUOTES = "”\"’"
_SPEAKING = (
    r"said|says|added|adds|told|explained|noted|stated|declared|warned|insisted|argued|admitted|"
    r"commented|continued|stressed|wrote|writes|announced|remarked|claimed|asked|asks|replied|"
    r"urged|joked|conceded|revealed|predicted|acknowledged"
)
"""Verbs whose subject is the speaker ("Jo Lee said")."""
_SPEECH_VERBS = _SPEAKING + "|according to"
_NAME = r"[A-Z][\w'’.\-]*(?:\s+(?:of|the|de|van|von|al|[A-Z][\w'’.\-]*)){0,8}"
_ATTRIBUTION_AFTER = re.compile(
    rf"^[\s,.;:!?\-–—]*(?:(?:{_SPEECH_VERBS})\s+(?P<after>[^.;!?]+?)|(?P<before>[^.;!?]+?)\s+(?:{_SPEECH_VERBS})\b[^.;!?]*)[.!?]?\s*$"
)
_ATTRIBUTION_LEAD = re.compile(rf"^(?P<speaker>[^“\"]+?)\s+(?:{_SPEECH_VERBS})\b[^“\"]*[:,]\s*$")
_REPORTED_SPEECH = re.compile(rf",\s+(?P<speaker>{_NAME})\s+(?:{_SPEECH_VERBS})\b")
_SPEAKER_FIRST = re.compile(rf"^(?P<speaker>[A-Z][\w'’.\-]*(?:\s+[\w'’.\-]+){{0,7}}?\s+[A-Z][\w'’.\-]*)\s+"
                            rf"(?:{_SPEAKING})\b")
"""Reported speech led by its speaker: "Shadow health secretary Jo Lee said that ..."."""
_NAME_RUN = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:of\s+)?[A-Z][\w'’\-]*)*")
_PRONOUN_START = re.compile(
    r"^[\"“‘']?(?P<word>He|She|They|It|This|That|These|Those|His|Her|Their|Its|The\s+\w+)\b"
)
_PERSONAL = frozenset({"He", "She", "His", "Her"})
_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i", "you", "his", "her", "their", "its"})

_segmenter = pysbd.Segmenter(language="en", clean=False)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    paragraph: int


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated block, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        block = text[cursor:end]
        if block.strip():
            lead = len(block) - len(block.lstrip())
            spans.append((cursor + lead, cursor + len(block.rstrip())))
        if match:
            cursor = match.end()
    return spans


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut an oversized block at line breaks, then spaces, so the segmenter sees bounded input."""
    pieces: list[tuple[int, int]] = []
    while end - start > _MAX_SEGMENT_CHARS:
        window = text[start : start + _MAX_SEGMENT_CHARS]
        cut = max(window.rfind("\n"), window.rfind(". "), window.rfind(" "))
        cut = start + (cut + 1 if cut > 0 else _MAX_SEGMENT_CHARS)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _segment(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], found by pysbd and aligned back to offsets."""
    block = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in _segmenter.segment(block):
        stripped = sentence.strip()
        if not stripped:
            continue
        found = block.find(stripped, cursor)
        if found < 0:
            break
        spans.append((start + found, start + found + len(stripped)))
        cursor = found + len(stripped)
    tail = block[cursor:]
    if tail.strip():
        lead = len(tail) - len(tail.lstrip())
        spans.append((start + cursor + lead, start + cursor + len(tail.rstrip())))
    return spans


def _split_inside_quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a segment at sentence ends that pysbd skipped (it keeps quotations whole)."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _INNER_SENTENCE_END.finditer(text, start, end):
        head = text[cursor : match.start()].rstrip("\"”’'")
        if _ABBREVIATION.search(head) or len(head.split()) < 3:
            continue
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


_STRAY_CLOSING_QUOTE = re.compile(r"[”\"](?=\s)")
"""A closing quotation mark the segmenter put at the start of the next sentence (`now." On ...`):
right after the previous sentence's full stop, and followed by a space, not by a word."""


def _give_back_closing_quote(text: str, spans: list[_Span], span: _Span) -> _Span:
    """Move a closing quotation mark that opens `span` to the end of the sentence before it."""
    stray = _STRAY_CLOSING_QUOTE.match(text, span.start, span.end)
    if not stray or not spans or spans[-1].paragraph != span.paragraph or stray.start() != spans[-1].end:
        return span
    spans[-1] = _Span(spans[-1].start, stray.end(), span.paragraph)
    rest = text[stray.end():span.end]
    return _Span(span.end - len(rest.lstrip()), span.end, span.paragraph)


def sentence_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for number, (para_start, para_end) in enumerate(paragraphs(text)):
        for piece_start, piece_end in _pieces(text, para_start, para_end):
            for seg_start, seg_end in _segment(text, piece_start, piece_end):
                for s, e in _split_inside_quotes(text, seg_start, seg_end):
                    lead = len(text[s:e]) - len(text[s:e].lstrip())
                    trail = len(text[s:e].rstrip())
                    span = _give_back_closing_quote(text, spans, _Span(s + lead, s + trail, number))
                    if span.end > span.start:
                        spans.append(span)
    return spans


def _quote_balance(sentence: str) -> int:
    """+1 when the sentence leaves a quotation open, -1 when it closes one opened earlier."""
    curly = sentence.count("“") - sentence.count("”")
    if curly:
        return 1 if curly > 0 else -1
    if sentence.count('"') % 2 == 1:
        return 1 if sentence.lstrip().startswith('"') else -1
    return 0


_LEADING_CONNECTIVE = re.compile(r"^(?:And|But|As|However|Meanwhile)\b[\s,]*")
_NOT_IN_A_SPEAKER = STOPWORDS - {"and", "of", "the", "for"}
"""Words that show a sentence's opening is a clause, not a speaker ("Sales rose in March", "It is
not clear what Acme said")."""


def _clean_speaker(raw: str | None) -> str | None:
    if not raw:
        return None
    speaker = _LEADING_CONNECTIVE.sub("", raw.strip(" ,;:—–-\"“”'’"))
    if not speaker or len(speaker) > 120 or not any(ch.isalpha() for ch in speaker):
        return None
    return speaker


def attribution(sentence: str) -> str | None:
    """The speaker named around a quotation in this sentence ("...," X said / X said: "...")."""
    closing = max(sentence.rfind(mark) for mark in CLOSING_QUOTES)
    if closing > 0:
        match = _ATTRIBUTION_AFTER.match(sentence[closing + 1 :])
        if match:
            return _clean_speaker(match.group("after") or match.group("before"))
    opening = min((i for i in (sentence.find(mark) for mark in OPENING_QUOTES) if i > 0), default=-1)
    if opening > 0:
        match = _ATTRIBUTION_LEAD.match(sentence[:opening])
        if match:
            return _clean_speaker(match.group("speaker"))
    match = _REPORTED_SPEECH.search(sentence)
    if match:
        return _clean_speaker(match.group("speaker"))
    match = _SPEAKER_FIRST.match(sentence)
    speaker = _clean_speaker(match.group("speaker")) if match else None
    if speaker and not any(word.lower() in _NOT_IN_A_SPEAKER for word in speaker.split()):
        return speaker
    return None


ROLE_WORDS = frozenset("""
    mr mrs ms miss dr prof sir lord lady dame rev chairman chairwoman chair chief executive officer
    president vice minister secretary director spokesman spokeswoman spokesperson leader head
    manager governor senator mayor founder professor board member deputy general editor analyst
    the a an of at for and said told
    """.split())


def person_name(speaker: str | None) -> str | None:
    """The name at the end of a speaker phrase, without the role before it.

    "Acme's chief executive John Smith" gives "John Smith": a pronoun stands for the person,
    and the role stays with the sentence that states it.
    """
    if not speaker:
        return None
    words = re.split(r"[\s,]+", speaker.strip())
    tail: list[str] = []
    for word in reversed(words):
        bare = re.sub(r"(['’]s)?\.?$", "", word.lower())
        if bare in ROLE_WORDS or not word[:1].isupper() or bare != word.lower().rstrip("."):
            break
        tail.insert(0, word)
    return " ".join(tail) or speaker


def names_in(sentence: str) -> str:
    """The capitalised names of a sentence, in order, each once: what a pronoun may refer to."""
    found: list[str] = []
    for match in _NAME_RUN.finditer(sentence):
        first_word, _, rest = match.group(0).partition(" ")
        name = rest if first_word.lower() in STOPWORDS else match.group(0)
        if name and name not in found:
            found.append(name)
    return ", ".join(found)


def _quotation_groups(texts: list[str]) -> list[tuple[int, int]]:
    """For each sentence, the (first, last) sentence of the quotation it belongs to, or (-1, -1)."""
    groups = [(-1, -1)] * len(texts)
    index = 0
    while index < len(texts):
        if _quote_balance(texts[index]) > 0:
            last = index
            while last + 1 < len(texts) and last - index < 8 and _quote_balance(texts[last]) >= 0:
                last += 1
                if _quote_balance(texts[last]) < 0:
                    break
            if _quote_balance(texts[last]) < 0:
                for member in range(index, last + 1):
                    groups[member] = (index, last)
                index = last + 1
                continue
        if any(mark in texts[index] for mark in OPENING_QUOTES):
            groups[index] = (index, index)
        index += 1
    return groups


def chunk_document(document: Document) -> list[Chunk]:
    """Sentence chunks (in order) followed by passage chunks for one document."""
    text = document.text
    spans = sentence_spans(text)
    texts = [text[span.start : span.end] for span in spans]
    groups = _quotation_groups(texts)

    speakers: list[str | None] = [None] * len(spans)
    for first, last in sorted(set(groups)):
        if first < 0:
            continue
        named = attribution(texts[last]) or attribution(texts[first])
        if named is None and first > 0 and spans[first - 1].paragraph == spans[first].paragraph:
            named = speakers[first - 1]
        for member in range(first, last + 1):
            speakers[member] = named

    last_named: str | None = None
    sentences: list[Chunk] = []
    for index, span in enumerate(spans):
        speaker = speakers[index]
        if speaker is None and groups[index][0] < 0:
            speaker = attribution(texts[index])
        if speaker and speaker.split()[0].lower() in _PRONOUNS:
            speaker = last_named if len(speaker.split()) == 1 else speaker
        context = texts[index]
        pronoun = _PRONOUN_START.match(texts[index])
        if speaker and groups[index][0] >= 0:
            context = f"{speaker}: {texts[index]}"
        elif pronoun and index > 0:
            personal = pronoun.group("word") in _PERSONAL and last_named
            referent = person_name(last_named) if personal else names_in(texts[index - 1])
            context = f"{referent}: {texts[index]}" if referent else texts[index]
        if speaker and speaker.split()[0].lower() not in _PRONOUNS:
            last_named = speaker
        sentences.append(
            Chunk(
                kind="sentence",
                doc_id=document.id,
                start=span.start,
                end=span.end,
                text=texts[index],
                context=context,
                first_sentence=index,
                last_sentence=index,
                paragraph=span.paragraph,
                speaker=speaker,
                group_first=groups[index][0],
                group_last=groups[index][1],
            )
        )
    return sentences + passages(document, sentences)


def passages(document: Document, sentences: list[Chunk]) -> list[Chunk]:
    """Windows of up to PASSAGE_SENTENCES consecutive sentences, one starting at each sentence."""
    if len(sentences) <= 1:
        return []
    windows: list[Chunk] = []
    for first in range(max(1, len(sentences) - PASSAGE_SENTENCES + 1)):
        last = min(first + PASSAGE_SENTENCES, len(sentences)) - 1
        start, end = sentences[first].start, sentences[last].end
        passage_text = document.text[start:end]
        windows.append(
            Chunk(
                kind="passage",
                doc_id=document.id,
                start=start,
                end=end,
                text=passage_text,
                context=f"{document.title}. {passage_text}" if first == 0 else passage_text,
                first_sentence=first,
                last_sentence=last,
                paragraph=sentences[first].paragraph,
            )
        )
    return windows


def chunk_documents(documents: list[Document]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_document(document))
    return chunks
