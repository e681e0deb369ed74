"""Follow-ups: tell whether a question leans on earlier turns, and what it leans on.

A question leans on the conversation when it refers back ("it", "he", "there", "that"),
opens with "and" / "what about", or is too short to stand alone, and names nobody new. Its
context is the user's turns back to the last one that stood alone, and the words the last
answer quoted (they name the story the conversation is about). What it leaves out: resolving
which earlier entity a pronoun means (the whole earlier question is carried), and the rest of
the assistant's turns (source lines, notes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa import render
from qa.text import terms

_REFERS_BACK = re.compile(
    r"\b(it|its|he|him|his|she|her|hers|they|them|their|theirs|there|then|that|this|those|these|"
    r"the same|the former|the latter)\b", re.IGNORECASE)
_CONTINUES = re.compile(r"^\s*(and|but|also|so|what about|how about|and what|what else)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]+")
SHORT = 3
"""Questions with at most this many content terms rarely stand alone."""


def leans_on_history(question: str) -> bool:
    if _NAME.search(question.strip()):
        return False
    return bool(_REFERS_BACK.search(question) or _CONTINUES.search(question) or len(terms(question)) <= SHORT)


@dataclass(frozen=True)
class Conversation:
    """What a follow-up leans on."""

    turns: str
    """The earlier user turns it depends on, oldest first."""
    last_quote: str
    """The words the last answer quoted, which tie the conversation to one story ("" if none)."""


def conversation_context(question: str, history: Sequence[dict[str, str]] | None) -> Conversation | None:
    """What `question` leans on in `history`; None when it stands alone."""
    if not history or not leans_on_history(question):
        return None
    earlier = [m["content"] for m in history if m.get("role") == "user" and m.get("content", "").strip()]
    carried: list[str] = []
    for turn in reversed(earlier):
        carried.insert(0, turn)
        if not leans_on_history(turn):
            break
    return Conversation(turns=" ".join(carried), last_quote=_last_quote(history)) if carried else None


def _last_quote(history: Sequence[dict[str, str]]) -> str:
    """The quoted lines of the last assistant reply, when it answered rather than abstained."""
    replies = [m.get("content", "") for m in history if m.get("role") == "assistant"]
    if not replies or render.NO_ANSWER in replies[-1]:  # notes may stand before it
        return ""
    return render.quoted_words(replies[-1])
