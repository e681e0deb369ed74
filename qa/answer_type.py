"""Answer types: whether a sentence holds the kind of answer a question asks for, and where.

The kind comes from the `Question` (`qa/question.py` reads it from the words): a date, a time of
day, a count, a sum of money, a share, a figure, a person or an organisation, a place, several
names, what a named thing is ("Who is X?": an apposition, or a title before the name) or what
an acronym stands for. A sentence holds one by surface patterns (digits, currency, month names,
capitalised words); the span is the one nearest the question's own words that the question does
not already give. What it leaves out: named-entity recognition proper, and reading the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from qa.chunker import person_name
from qa.question import AnswerType, Question
from qa.text import STOPWORDS, WORD, stem


_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_HAS_DATE = re.compile(rf"\b(1[0-9]{{3}}|20[0-9]{{2}}|{_MONTHS}|{_DAYS}|yesterday|today|tomorrow|"
                       rf"(last|next|this) (week|month|year)|century|[0-9]{{1,2}}(st|nd|rd|th)?\s+({_MONTHS}))\b",
                       re.IGNORECASE)
_HAS_NUMBER = re.compile(r"[0-9]|[£$€¥%]|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                         r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|dozen|"
                         r"per ?cent)\b", re.IGNORECASE)
_HAS_MONEY = re.compile(r"[£$€¥]|\b(pounds?|dollars?|euros?|pence|cents?|yen|rupees?|francs?|\d+(\.\d+)?(m|bn|p))\b",
                        re.IGNORECASE)
_YEAR = re.compile(r"\b(1[5-9]|20)[0-9]{2}s?\b")
_CAPITALISED_MONTHS = "|".join(month.capitalize() for month in _MONTHS.split("|"))
_DAY_OF_MONTH = re.compile(rf"\b[0-9]{{1,2}}(st|nd|rd|th)?\s+({_CAPITALISED_MONTHS})\b|"
                           rf"\b({_CAPITALISED_MONTHS})\s+[0-9]{{1,2}}(st|nd|rd|th)?\b")
"""Capitalised, as dates are written: "as many as 40 may have died" holds no date."""
_HAS_COUNT = re.compile(r"(?<![£$€¥\d.,])\b(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                        r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozens?|hundreds|thousands|millions|"
                        r"several)\b(?!\s*(%|per ?cent))", re.IGNORECASE)
_HAS_TIME = re.compile(r"\b\d{1,2}([:.][0-5][0-9])?\s*(am|pm|a\.m\.|p\.m\.|gmt|bst)(?!\w)|\b\d{1,2}:[0-5][0-9]\b|"
                       r"\b(noon|midday|midnight|o'clock)\b", re.IGNORECASE)
_HAS_PERCENT = re.compile(r"%|\bper ?cent\b|\b(half|quarter|third|thirds|majority|minority)\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z'’]+(?:\s+[A-Z][a-z'’]+)*")


TITLE_WORDS = 5
TITLE_REACH = 80
"""Characters before a name searched for each word of its title (keeps long sentences linear)."""


def _identity_spans(sentence: str, question: Question) -> list[tuple[int, int]]:
    """Where the sentence says what the asked-about name is: an apposition ("X, a maker of
    ...,"), a copula ("X is the ..."), or a title right before it ("Chief Officer X")."""
    name = question.named
    if not name:
        return []
    spans = []
    for match in re.finditer(rf"\b{re.escape(name)}\b", sentence, re.IGNORECASE):
        if _NAME_GOES_ON.match(sentence, match.end()):
            continue  # part of a longer name ("The Island Def Jam Music Group")
        after = _DESCRIPTION_AFTER.match(sentence, match.end())
        if after:
            spans.append((after.start("description"), after.end("description")))
        title = _title_before(sentence, match.start())
        if title:
            spans.append(title)
    return spans


_DESCRIPTION_AFTER = re.compile(r"(?:,\s+|\s+(?:is|was|are|were)\s+)(?P<description>(?:a|an|the|one of)\s[^,;.]+)")
_NAME_GOES_ON = re.compile(r"\s+[A-Z]")
_WORD_BEFORE = re.compile(r"([\w'’-]+)\s+$")
_PRONOUNS = frozenset("i we you he she they it".split())
_PREPOSITIONS = frozenset("upon onto towards toward via within without across behind beyond among amid amongst "
                          "alongside like unlike near per beside besides despite except inside outside".split())
_VERB_ENDING = re.compile(r"[a-z](ed|ing)$")


def _title_before(sentence: str, end: int) -> tuple[int, int] | None:
    """The words right before `end` back to a function word or punctuation: a role or a
    description put before a name ("band's singer", "Chief Revenue Officer"). Not a verb:
    none after a pronoun ("I attack X") and no lower-case -ed/-ing word next to the name."""
    start = end
    stopped_by = None
    passed_capital = False
    for _ in range(TITLE_WORDS):
        word = _WORD_BEFORE.search(sentence, max(0, start - TITLE_REACH), start)
        if not word or word.group(1).lower() in STOPWORDS or word.group(1).lower() in _PREPOSITIONS:
            stopped_by = word.group(1).lower() if word else None
            break
        if passed_capital and word.group(1)[0].islower():
            break  # "attack Tory leader X": the title is "Tory leader"
        passed_capital = passed_capital or word.group(1)[0].isupper()
        start = word.start(1)
    if start == end or stopped_by in _PRONOUNS:
        return None
    last = sentence[start:end].split()[-1]
    return None if _VERB_ENDING.search(last) else (start, len(sentence[:end].rstrip()))


_EXPANSION_JOINERS = r"\s+(?:(?:of|and|for|the|on|in|to|de|du|&)\s+)*"


def _expansion_span(sentence: str, question: Question) -> tuple[int, int] | None:
    """Where the sentence spells out the asked acronym: capitalised words whose initials make it."""
    acronym = question.acronym
    if not acronym:
        return None
    pattern = r"\b" + _EXPANSION_JOINERS.join(rf"{letter}[\w'’-]*" for letter in acronym) + r"\b"
    match = re.search(pattern, sentence)
    return match.span() if match else None


def new_names(sentence: str, question: Question) -> int:
    """Capitalised words of the sentence (not its first) that the question does not mention."""
    asked = question.text.lower()
    return sum(1 for match in _CAPITALISED.finditer(sentence.strip("\"“‘' "))
               if match.group(0).lower() not in asked)


def holds(sentence: str, question: Question) -> bool:
    """Does the sentence contain something of the kind the question asks for?"""
    kind = question.kind
    if kind is AnswerType.DATE:
        return bool(_HAS_DATE.search(sentence))
    if kind is AnswerType.NUMBER:
        return bool(_HAS_NUMBER.search(sentence))
    if kind in (AnswerType.PERSON, AnswerType.PLACE):
        return new_names(sentence, question) > 0
    if kind is AnswerType.NAMES:
        return new_names(sentence, question) > 1
    if kind is AnswerType.IDENTITY:
        return bool(_identity_spans(sentence, question))
    if kind is AnswerType.EXPANSION:
        return _expansion_span(sentence, question) is not None
    if kind is AnswerType.COUNT:
        return bool(_HAS_COUNT.search(_YEAR.sub(" ", _DAY_OF_MONTH.sub(" ", sentence))))
    pattern = {AnswerType.MONEY: _HAS_MONEY, AnswerType.TIME: _HAS_TIME, AnswerType.PERCENT: _HAS_PERCENT}.get(kind)
    return bool(pattern and pattern.search(sentence))


_DATE_SPAN = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?"
    rf"(?:,?\s+\d{{4}})?|(?:{_DAYS})|(?:1[0-9]{{3}}|20[0-9]{{2}})s?|\d{{1,2}}(?:st|nd|rd|th)\s+century)\b",
    re.IGNORECASE)
_NUMBER_SPAN = re.compile(
    r"(?:[£$€¥]\s?)?\b\d[\d,]*(?:\.\d+)?(?:\s?(?:%|per ?cent|m|bn|k|million|billion|thousand|hundred))?\b%?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|dozen)(?:[\s-](?:hundred|thousand|million|billion))?\b",
    re.IGNORECASE)
_NAME_SPAN = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:of|the|de|and)?\s*[A-Z][\w'’\-]*)*")


def answer_span(text: str, question: Question) -> tuple[int, int] | None:
    """Offsets in `text` of the stretch that holds the kind of answer the question asks for.

    The date, time, figure, sum or name the question does not already mention, nearest to the
    question's own words; for several names the whole enumeration, for "Who is X?" the
    description or title of X. None when the kind is unknown or nothing fits.
    `text[start:end]` is the span.
    """
    kind = question.kind
    if kind is AnswerType.IDENTITY:
        return min(_identity_spans(text, question), default=None)
    if kind is AnswerType.EXPANSION:
        return _expansion_span(text, question)
    if kind not in _SPANS:
        return None
    pattern, fits = _SPANS[kind]
    if kind is AnswerType.COUNT:  # blank out dates, keeping offsets: "11 December" counts nothing
        text = _DAY_OF_MONTH.sub(lambda date: " " * len(date.group(0)), text)
    first = _nearest_span(pattern, fits, kind, text, question)
    if first is None or kind is not AnswerType.NAMES:
        return first
    start, end = first
    while (following := _LIST_NEXT.match(text, end)) is not None:
        end = following.end()
    return start, end


def _anything(_: str) -> bool:
    return True


_NOT_PERSONAL = frozenset("""
    street road avenue square bridge hospital university college school academy council party church
    cathedral house office department ministry company group club bank association commission committee
    museum gallery theatre court centre center institute foundation trust union agency authority service
    services board corporation parliament assembly government north south east west northern southern
    eastern western united kingdom states republic island islands city county river lake mount airport
    station stadium festival awards records music news radio television tv channel network league cup
    """.split())


_POSSESSIVE = re.compile(r"['’]s?$")
IMPERSONAL_DISTANCE = 80
"""How much further off, in characters, a name that is not a person's counts for "who" questions."""


def _looks_like_a_person(name: str) -> bool:
    """Two to five capitalised words, none of them a word for a place or an organisation:
    "Ann Hale", not "Great Ormond Street Hospital" or "Northern Ireland"."""
    words = name.split()
    return 2 <= len(words) <= 5 and not any(_POSSESSIVE.sub("", word.lower()) in _NOT_PERSONAL for word in words)


_SPANS: dict[AnswerType, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    AnswerType.DATE: (_DATE_SPAN, _anything),
    AnswerType.NUMBER: (_NUMBER_SPAN, _anything),
    AnswerType.MONEY: (_NUMBER_SPAN, lambda span: bool(_HAS_MONEY.search(span))),
    AnswerType.COUNT: (_NUMBER_SPAN, lambda span: not _YEAR.fullmatch(span) and not _HAS_MONEY.search(span)),
    AnswerType.PERCENT: (_NUMBER_SPAN, lambda span: bool(_HAS_PERCENT.search(span))),
    AnswerType.TIME: (_HAS_TIME, _anything),
    AnswerType.PERSON: (_NAME_SPAN, _anything),
    AnswerType.PLACE: (_NAME_SPAN, _anything),
    AnswerType.NAMES: (_NAME_SPAN, _anything),
}
"""Per kind: where spans may sit, and which of them are of that kind."""

_LIST_NEXT = re.compile(r"(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)[A-Z][\w'’\-]*(?:\s+[A-Z][\w'’\-]*)*")
"""The next name of an enumeration: ", B", " and B", ", and B"."""


_SENTENCE_END = re.compile(r"[a-z0-9\"”’)]{2}[.!?]$")
"""The end of a sentence, not of an abbreviation ("Mr.", "U.S.")."""


def _spans(pattern: re.Pattern[str], fits: Callable[[str], bool], kind: AnswerType, text: str,
           question: Question) -> Iterator[tuple[int, int]]:
    """Every stretch of `text` of the asked-for kind that the question does not already give."""
    asked = question.text.lower()
    for match in pattern.finditer(text):
        found = match.group(0).strip()
        if not found or found.lower() in asked or not fits(found):
            continue
        start = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
        if pattern is _NAME_SPAN:
            before = text[:match.start()].rstrip(" “\"‘'(\n")
            opens_sentence = not before or bool(_SENTENCE_END.search(before))
            if found.lower() in STOPWORDS or (opens_sentence and " " not in found):
                continue
            name = _name_part(found) if kind is AnswerType.PERSON else found
            at = found.rfind(name)  # -1 when the name's words were rejoined ("Ann\u00a0Hale")
            start, found = (start + at, name) if at >= 0 else (start, found)
            if found.lower() in asked:
                continue
        yield start, start + len(found)


def _nearest_span(pattern: re.Pattern[str], fits: Callable[[str], bool], kind: AnswerType, text: str,
                  question: Question) -> tuple[int, int] | None:
    """Of `_spans`, the one nearest the question's own words ("It was commissioned by Odo, the
    Bishop of Bayeux" for "Who commissioned it?"), for "who" a name that does not look like a
    person's counting as IMPERSONAL_DISTANCE characters further off; the first when the question's
    words are not there, and for an enumeration (NAMES), whose first name starts the list."""
    spans = list(_spans(pattern, fits, kind, text, question))
    if kind is AnswerType.NAMES or len(spans) < 2:
        return spans[0] if spans else None
    asked = set(question.terms)
    anchors = [match.span() for match in WORD.finditer(text) if stem(match.group(0).lower()) in asked]
    if not anchors:
        return spans[0]

    def distance(span: tuple[int, int]) -> int:
        nearest = min(max(0, start - span[1], span[0] - end) for start, end in anchors)
        impersonal = kind is AnswerType.PERSON and not _looks_like_a_person(text[span[0]:span[1]])
        return nearest + (IMPERSONAL_DISTANCE if impersonal else 0)

    return min(spans, key=distance)


def _name_part(run: str) -> str:
    """A person's name without the role words before it ("Finance Director Jo Lee" gives "Jo Lee")."""
    return person_name(run) or run
