"""Follow-ups: tell whether a question leans on earlier turns, and what it leans on.

A question leans on the conversation when it refers back ("it", "he", "there", "that"),
opens with "and" / "what about", or is too short to stand alone, and names nobody new. Its
context is the user's turns back to the last one that stood alone. What it leaves out:
resolving which earlier entity a pronoun means (the whole earlier question is carried), and
the assistant's turns (their quotes come from the documents anyway).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def conversation_context(question: str, history: Sequence[dict[str, str]] | None) -> str | None:
    """The earlier user turns this question depends on, oldest first; None when it stands alone."""
    if not history or not leans_on_history(question):
        return None
    earlier = [m["content"] for m in history if m.get("role") == "user" and m.get("content", "").strip()]
    carried: list[str] = []
    for turn in reversed(earlier):
        carried.insert(0, turn)
        if not leans_on_history(turn):
            break
    return " ".join(carried) or None
