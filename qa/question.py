"""Question intake: clean what a person typed into something safe to search with.

Control characters become spaces, runs of white space shrink to one, and an over-long question
is cut at a word boundary (with a note saying so). A question with no letters or digits is
refused with a `QuestionError`. Requests that quoting cannot serve (write a poem, tell a joke,
give advice, tell the time or today's weather, talk about the bot itself) are recognised so the
engine can say so instead of quoting something vaguely alike. What it leaves out: spelling
correction (see `LexicalIndex.respell`) and translation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qa.errors import QuestionError
from qa.text import POLITE_OPENING

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
CANNOT_QUOTE = ("I only answer from the documents, by quoting them: I can't write, summarise, give advice, "
                "tell today's time or weather, or talk about myself. Ask me something the documents may say.")


@dataclass(frozen=True)
class CleanQuestion:
    text: str
    notes: tuple[str, ...] = ()
    for_quoting: bool = True
    """False for requests that quoting cannot serve ("Write me a poem", "What's your favourite colour?")."""


def for_quoting(text: str) -> bool:
    lowered = POLITE_OPENING.sub("", text.lower().replace("’", "'").replace("what's", "what is"))
    return not _NOT_FOR_QUOTING.search(lowered)


def _printable(character: str) -> str:
    category = unicodedata.category(character)
    if category in ("Cc", "Cs") or (category == "Cf" and character not in "\u200d\u200c"):
        return " "
    return character


def clean_question(raw: object) -> CleanQuestion:
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
    return CleanQuestion(text=text, notes=tuple(notes), for_quoting=for_quoting(text))
