"""Question intake: everything the engine learns from the asker's words, read once into a `Question`.

`read_question` cleans what a person typed (control characters become spaces, runs of white
space shrink to one, an over-long question is cut at a word boundary with a note saying so; a
question with no letters or digits is refused with a `QuestionError`), then reads from the words
what every later stage needs: the kind of answer asked for ("when" a date, "how many" a count,
"who" a person, "Who is X?" what X is, "What does BPI stand for?" an acronym's expansion,
"name the …s" several names), the named things the asked fact is about ("the population of
Brazil"), the document metadata asked about (author, date, outlet), whether it is a request
quoting cannot serve (write a poem, tell a joke, give advice, tell the time or today's weather,
talk about the bot itself), small talk (a greeting, a thank-you, a request for help) and the
reply it gets, whether it asks to go on from the last quote ("Tell me more"), and the conversation
it leans on (`qa/followup.py`). Retrieval, ranking, reading, quoting, highlighting and confidence
receive this record, never the raw string. What it leaves out: what the words alone cannot tell,
the corpus's own spelling of them (filled in by `Retriever.spelled`), spelling correction and
translation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from qa.chunker import ROLE_WORDS
from qa.embedder import dictionary_stems
from qa.errors import QuestionError
from qa.followup import Conversation, conversation_context
from qa.records import Spelling, Turn
from qa.text import STOPWORDS, stem, terms

MAX_QUESTION_CHARS = 1000
_SPACE = re.compile(r"\s+")


_NOT_FOR_QUOTING = re.compile(
    r"^(?:write|compose|draw|paint|create|generate|make up|invent|sing|rewrite|paraphrase|translate|summari[sz]e|"
    r"draft|code|solve|calculate)\s+(?:me|us|a|an|some|my|this|that|the|it|[\"“'])|"
    r"^(?:tell|give) me (?:a|an|some|another|\d+|two|three|four|five|ten|a few) (?:jokes?|stor(?:y|ies)|poems?|"
    r"riddles?|limericks?|songs?|tips?|ideas?|advice|suggestions?|recipes?)\b|"
    r"^(?:recommend|suggest)\s+(?:me\s+|us\s+)?(?:a|an|some|any|good|the best)\b|^what should i\b|"
    r"^(?:what|who|how) (?:is|are|was) your\b|^what is your (?:favou?rite|name|opinion|view|age)\b|"
    r"^(?:who|what) are you\W*$|^how are you(?: doing| today)?\W*$|"
    r"^(?:do|did) you (?:like|love|enjoy|feel|think|dream)\b|"
    r"^what (?:time|day|date) is it(?: now| today| in [\w ]+)?\W*$|^what is (?:the date|today's date)(?: today)?\W*$|"
    r"^(?:what|how) (?:is|will)\b.*\b(?:weather|forecast|temperature)\b(?:\s+\w+){0,4}\s+"
    r"(?:today|tomorrow|tonight|now|this weekend)\W*$")
GREETING_REPLY = "Hello. Ask me a question about the documents, and I'll answer by quoting them."
THANKS_REPLY = "You're welcome. Ask me anything else the documents may say."
ACKNOWLEDGED_REPLY = "Ask me anything else the documents may say."
HELP_REPLY = ("Ask me a question about the documents and I'll answer with the passage that says it, quoted "
              "exactly, and where it sits. When the documents don't say, I tell you so and show the closest "
              "passage. You can follow up (\"What did she say then?\"), or ask me to \"Tell me more\".")
_SMALL_TALK = (
    (re.compile(r"^(?:(?:hello|hi|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))"
                r"(?: there| again| everyone| all)?\W*)+(?:how are you(?: doing| today)?\W*)?$"), GREETING_REPLY),
    (re.compile(r"^(?:(?:ok|okay|great|perfect|good)[\s\W]+)?(?:(?:thanks|thank you|thx|cheers|many thanks|bye|"
                r"goodbye|see you)(?: (?:very|so) much| a lot| again| for (?:that|this|the help|your help))?"
                r"[\s\W]*)+$"), THANKS_REPLY),
    (re.compile(r"^(?:ok|okay|great|cool|perfect|got it|i see|understood|alright|all right)\W*$"),
     ACKNOWLEDGED_REPLY),
    (re.compile(r"^(?:help|help me|what can you do|what do you do|what can i ask(?: you)?|how does this work|"
                r"how do i use (?:this|you))\W*$"), HELP_REPLY),
)
"""Messages that only greet, thank, acknowledge or ask for help, and the reply each gets."""
SMALL_TALK_CHARS = 100
_GOES_ON = re.compile(r"^(?:(?:please|and|ok|okay|so)[\s\W]+)?(?:tell me more|more|more please|go on|continue|"
                      r"keep going|read on|what comes next|and then|then what)"
                      r"(?:[\s,]+please)?\W*$")
"""A message asking for the words after the last quote ("Tell me more", "Go on")."""
CANNOT_QUOTE = ("I only answer from the documents, by quoting them: I can't write, summarise, give advice, "
                "tell today's time or weather, or talk about myself. Ask me something the documents may say.")


class AnswerType(Enum):
    """The kind of answer a question asks for."""

    NONE = "none"
    DATE = "date"
    NUMBER = "number"
    PERSON = "person"
    PLACE = "place"
    NAMES = "names"
    """Several named things: "Name the bands", "What are the names of the winners?"."""
    MONEY = "money"
    COUNT = "count"
    """"How many": a figure that is neither a year nor a sum of money."""
    TIME = "time"
    """A time of day: "What time does the concert start?"."""
    PERCENT = "percent"
    IDENTITY = "identity"
    """What a named thing is: "Who is Jane Porter?" wants her role, "What is Acme?" its description."""
    EXPANSION = "expansion"
    """What an acronym stands for: "What does BPI stand for?" wants the words its letters begin."""


@dataclass(frozen=True)
class Question:
    """Everything the engine learns from the asker's words (`read_question`), and, once the
    retriever has filled it in, how the corpus spells them."""

    text: str
    """The question as typed, cleaned (and cut when over MAX_QUESTION_CHARS)."""
    notes: tuple[str, ...] = ()
    """What the reply should say about how the question was read (that it was cut)."""
    for_quoting: bool = True
    """False for requests that quoting cannot serve ("Write me a poem", "What's your favourite colour?")
    and for small talk ("Hello", "Thanks!", "What can you do?")."""
    goes_on: bool = False
    """It asks for what the document says after the last quote ("Tell me more", "Go on")."""
    small_talk: str | None = None
    """The reply to a greeting, a thank-you or a request for help, which quotes nothing; None for
    anything else."""
    kind: AnswerType = AnswerType.NONE
    """The kind of answer it asks for."""
    terms: tuple[str, ...] = ()
    """Its stemmed content terms, as typed."""
    named: str | None = None
    """The name a "Who is X?" / "What is X?" question asks about."""
    acronym: str | None = None
    """The acronym whose expansion a "What does BPI stand for?" question asks for."""
    subjects: tuple[tuple[str, ...], ...] = ()
    """The terms of each name the asked fact is about: "the population of Brazil" gives (("brazil",),)."""
    metadata: tuple[str, ...] = ()
    """The document metadata fields (author, date, outlet) it asks about."""
    conversation: Conversation | None = None
    """What it leans on in the earlier turns; None when it stands alone."""
    spelling: Spelling | None = None
    """How the corpus spells it: filled in by `Retriever.spelled`, never from the words alone."""


def read_question(raw: object, history: Sequence[Turn] = ()) -> Question:
    """Read a question, with the conversation before it, once: see the module's docstring."""
    text, notes = _cleaned(raw)
    acronym = _expanded_acronym(text)
    named = _identified(text)
    small_talk = small_talk_reply(text)
    return Question(
        text=text,
        notes=notes,
        for_quoting=small_talk is None and _for_quoting(text),
        small_talk=small_talk,
        goes_on=bool(_GOES_ON.match(_lowered(text))),
        kind=_kind(text, acronym, named),
        terms=tuple(terms(text)),
        named=named,
        acronym=acronym,
        subjects=tuple(tuple(terms(match.group("name"))) for match in _NAMED_AFTER.finditer(text)),
        metadata=_metadata_asked(text),
        conversation=conversation_context(text, history),
    )


_POLITE_OPENING = re.compile(r"^(?:(?:please|hey|hi|ok|okay|so|now)\W+|(?:can|could|would|will) you\s+|i want you to\s+)+",
                             re.IGNORECASE)
""""Please", "Could you" and the like before what a person actually asks."""


def _for_quoting(text: str) -> bool:
    lowered = _POLITE_OPENING.sub("", _lowered(text).replace("what's", "what is"))
    return not _NOT_FOR_QUOTING.search(lowered)


def small_talk_reply(text: str) -> str | None:
    """The reply to a message that only greets ("Hi there!"), thanks ("Thanks, bye"), acknowledges
    ("OK") or asks for help ("What can you do?"); None for anything else, and for anything longer
    than small talk runs (SMALL_TALK_CHARS)."""
    lowered = _lowered(text)
    if len(lowered) > SMALL_TALK_CHARS:
        return None
    return next((reply for pattern, reply in _SMALL_TALK if pattern.match(lowered)), None)


def _lowered(text: str) -> str:
    """`text` as the patterns above read it: lower case, curly apostrophes straight, single spaces
    (history messages reach `small_talk_reply` uncleaned)."""
    return " ".join(text.lower().replace("’", "'").split())


def _printable(character: str) -> str:
    category = unicodedata.category(character)
    if category in ("Cc", "Cs") or (category == "Cf" and character not in "\u200d\u200c"):
        return " "
    return character


def _cleaned(raw: object) -> tuple[str, tuple[str, ...]]:
    """The question as searched, and a note when it had to be cut."""
    if not isinstance(raw, str):
        raise QuestionError(f"The question must be text, not {type(raw).__name__}.")
    text = _SPACE.sub(" ", "".join(_printable(ch) for ch in raw)).strip()
    if not text:
        raise QuestionError("The question is empty: type a question about the documents.")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("The question has no words in it: type a question about the documents.")
    notes: list[str] = []
    if len(text) > MAX_QUESTION_CHARS:
        cut = text.rfind(" ", 0, MAX_QUESTION_CHARS)
        text = text[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS].rstrip()
        notes.append(f"The question was {len(raw):,} characters long; only its first {len(text):,} were used.")
    return text, tuple(notes)


_QUESTION_TYPES = [
    (AnswerType.TIME, re.compile(r"\bwhat time\b(?!\s+(?:period|frame|span|scale|of (?:the )?year))")),
    (AnswerType.PERCENT, re.compile(r"\b(what|by what) (percentage|percent|proportion|share|fraction)\b")),
    (AnswerType.MONEY, re.compile(
        r"\bhow much\b(?!.*\b(time|longer|land|space|weight|water|power|energy|area)\b)(?=.*\b(money|cash|pay|paid|cost|"
        r"costs|worth|spend|spent|earn|earned|raise|raised|fetch|fine|fined|charge|donate|donated|give|given|receive|"
        r"sell|sold|salary|budget|invest|invested)\b)|"
        r"\bwhat (?:(?:is|was|were|are|will be) )?(?:the |his |her |their |its )?(salary|price|fee|cost|budget|wage)\b")),
    (AnswerType.COUNT, re.compile(r"\bhow many\b|\bwhat (?:is|was|are|were) the (?:population|number) of\b")),
    (AnswerType.DATE, re.compile(
        r"\b(when|what (year|date|day|month|time|century|decade|period)|which (year|date|day|month|century|decade)|"
        r"how long ago|since when|in what (year|century|decade))\b")),
    (AnswerType.NUMBER, re.compile(
        r"\b(how (many|much|old|long|far|big|large|tall|high|often|fast)|what (percentage|proportion|share|number|"
        r"amount|sum|price|salary|cost|fee|figure|size|age|rate)|what (is|was|were|are) the (budget|cost|price|value|"
        r"salary|population|size|total|number|temperature|height|length|width|depth|distance|speed|weight|area|"
        r"capacity|altitude|duration|(?:boiling|melting|freezing) point)|by how)\b")),
    (AnswerType.PERSON, re.compile(r"^\W*(who|whom|whose|name|list)\b|\b(who|whom|whose)\b(?!.*\b(what|when|where)\b)")),
    (AnswerType.PLACE, re.compile(r"\b(where|what (country|city|town|county|region|place|state|area)|"
                                  r"which (country|city|town|county|region|place|state|area)|"
                                  r"what (is|was) the capital (city )?of)\b")),
]


_NAMING = re.compile(r"^\W*(?:name|list)\s+(?:the\s+|all\s+|some\s+)?(?P<named>.+)|\bnames of (?:the\s+)?(?P<of>.+)")
_PHRASE_END = re.compile(r"\s(?:of|that|which|who|whose|in|on|at|for|from|with|by|to|does|do|did|is|are|was|were|"
                         r"has|have|had|can|will|would)\s|[^\w\s'’-]")


def _asks_for_several(lowered: str) -> bool:
    """Does a naming question ("name the …", "the names of …") ask for a plural noun?"""
    match = _NAMING.search(lowered)
    if not match:
        return False
    phrase = next(group for group in match.groups() if group)
    head = _PHRASE_END.split(f" {phrase} ", maxsplit=1)[0].split()
    return bool(head) and head[-1].endswith("s") and not head[-1].endswith(("ss", "us", "is"))


_IDENTITY_QUESTION = re.compile(r"^\W*(?:who|what)\s+(?:is|are|was|were)\s+(?!the\b|a\b|an\b|it\b|this\b|that\b|"
                                r"they\b|he\b|she\b)(?P<name>[\w'’.&-]+(?:\s+[\w'’.&-]+){0,4}?)\s*\??\s*$",
                                re.IGNORECASE)


def _identified(question: str) -> str | None:
    """The name a "Who is X?" / "What is X?" question asks about, or None.

    In a question typed with capitals X must be capitalised ("What is Acme worried about?"
    asks no identity); in one typed all in lower case, X is at most three words."""
    match = _IDENTITY_QUESTION.match(question.strip())
    if not match:
        return None
    name = match.group("name")
    words = name.split()
    if _is_role(words[0]) or _is_role(words[-1]):
        return None  # "Who is Prime Minister?", "Who was President of France?" ask for a person
    if question.strip()[1:].islower():
        return name if len(words) <= 3 and not any(_NOT_A_NAME.search(word) for word in words) else None
    return name if all(word[0].isupper() or word.lower() in _NAME_JOINERS for word in words) else None


_NOT_A_NAME = re.compile(r"(ed|ing|ible|able|ful|ous|ive)$")
"""Endings of the participles and adjectives that follow "who is" in lower case ("who was arrested")."""


_MORE_ROLES = frozenset("ceo chancellor premier king queen pope captain coach".split())


def _is_role(word: str) -> bool:
    bare = word.lower().strip(".?!")
    return bare in ROLE_WORDS or bare in _MORE_ROLES


_NAME_JOINERS = frozenset({"of", "and", "&", "de", "the", "for"})


_EXPANSION_QUESTION = re.compile(r"\b(?P<acronym>[A-Za-z][A-Za-z&]{1,9})\s+(?i:stands?\s+for|is\s+short\s+for|short\s+for)\b")


def _expanded_acronym(question: str) -> str | None:
    """The acronym whose meaning a question asks ("What does BPI stand for?" gives "BPI"): written
    in capitals, or, in a question typed all in one case, a word that is no English word
    ("Which seat does she stand for?", "what does the party stand for" ask no acronym)."""
    match = _EXPANSION_QUESTION.search(question)
    if not match:
        return None
    acronym = match.group("acronym")
    typed_in_one_case = question.islower() or question.isupper()
    if typed_in_one_case:
        if stem(acronym.lower()) in dictionary_stems() or acronym.lower() in STOPWORDS:
            return None  # "what does the party stand for" asks about views, not letters
    elif not acronym.isupper():
        return None
    return acronym.upper().replace("&", "")


def _kind(question: str, acronym: str | None, named: str | None) -> AnswerType:
    lowered = _POLITE_OPENING.sub("", question.lower().strip())
    if acronym:
        return AnswerType.EXPANSION
    if named:
        return AnswerType.IDENTITY
    if _asks_for_several(lowered):
        return AnswerType.NAMES
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(lowered):
            return kind
    return AnswerType.NONE


_METADATA_QUESTIONS = {
    "author": re.compile(r"\b(author|wrote|written|writer|byline|journalist|reporter)\b"),
    "date": re.compile(r"\b(publication date|date of (the|this) (article|piece|story|report)|published|"
                       r"when was (this|the) (article|piece|story|report)|dated?)\b"),
    "outlet": re.compile(r"\b(reported|reports|outlet|publication(?! date)|newspaper|news (agency|site|source)|"
                         r"which (site|paper|agency|outlet))\b"),
}


_AUTHOR_OF_A_WORK = re.compile(r"\b(?:author|writer|wrote|reporter|journalist)\s+(?:of\s+|for\s+)?[A-Z0-9]")
"""'The author of Harry Potter', 'Who wrote Hamlet?': an author, not this document's."""


def _metadata_asked(question: str) -> tuple[str, ...]:
    """Which document metadata fields (author, date, outlet) a question asks about, if any."""
    lowered = question.lower()
    asked = tuple(field for field, pattern in _METADATA_QUESTIONS.items() if pattern.search(lowered))
    return tuple(field for field in asked if field != "author" or not _AUTHOR_OF_A_WORK.search(question))


_NAMED_AFTER = re.compile(r"\b(?:of|in|from|about|for)\s+(?:the\s+)?(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)")
"""A name the question's fact is about: "the population of Brazil", "the longest river in Africa"."""
