"""Question intake: clean what a person typed into something safe to search with.

Control characters become spaces, runs of white space shrink to one, and an over-long question
is cut at a word boundary (with a note saying so). A question with no letters or digits is
refused with a `QuestionError`. What it leaves out: spelling correction and translation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qa.errors import QuestionError

MAX_QUESTION_CHARS = 1000
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanQuestion:
    text: str
    notes: tuple[str, ...] = ()


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
    return CleanQuestion(text=text, notes=tuple(notes))
