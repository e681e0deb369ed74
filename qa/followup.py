"""Follow-ups: tell whether a question leans on earlier turns, and what it leans on.

A question leans on the conversation when it refers back ("it", "he", "there", "that"),
opens with "and" / "what about", or is too short to stand alone, and names nobody new. Its
context is the user's turns back to the last one that stood alone, the names those turns
mention (what "it" or "he" most likely stands for), and the words the last answer quoted and
the document they come from (the story the conversation is about). For the reader, a follow-up
with one pronoun is read with a name in its place: the answer to the latest earlier "who" or
"which" turn (the first name in the words its reply marked), else the one earlier name. It reads
earlier turns as `Turn` records: what was asked and what the reply quoted, never the rendered
reply. What it leaves out: telling apart several pronouns in one follow-up ("What did he say
about him?" is read as asked), resolving which of several earlier names a pronoun means (the
whole earlier question is carried), and reading plain-text replies back into turns
(`qa.render.read_turns`, at the edge).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.chunker import names_in
from qa.records import Turn
from qa.text import terms

_REFERS_BACK = re.compile(
    r"\b(it|its|he|him|his|she|her|hers|they|them|their|theirs|there|then|that|this|those|these|"
    r"the same|the former|the latter)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(it|its|he|him|his|she|her|they|them|their)\b", re.IGNORECASE)
_POSSESSIVE = {"its", "his", "her", "their"}
_POSSESSIVE_MARK = re.compile(r"['’]s?$")
_LEADING_OF = re.compile(r"^of\s+")
_CONTINUES = re.compile(r"^\s*(and|but|also|so|what about|how about|and what|what else)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]+")
_ASKS_WHO = re.compile(r"^\W*(who|whom|which)\b", re.IGNORECASE)
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
    names: str
    """The names those turns mention, each once ("" if none)."""
    last_source: str | None = None
    """The document the last answer quoted: the story a follow-up asks about (None if unknown)."""
    answer_name: str = ""
    """The first name in the words an answer marked, of the latest earlier turn that asked who or
    which: what "he" or "it" then stands for ("Who runs Harbour Group?" ... "What did she say?")."""

    def resolved(self, question: str) -> str:
        """`question` with its one pronoun replaced by the name it most likely stands for, for the
        reader, which reads one question alone: the answer to a "who" or "which" turn ("What did
        she say?" after "Who runs Harbour Group?" answered Ann Lee), else the one name the earlier
        turns mention ("Where does he lecture?" after a turn naming only Armand Leroi); unchanged
        when there is no such name or more than one pronoun."""
        pronouns = list(_PRONOUN.finditer(question))
        name = self.answer_name or (self.names if ", " not in self.names else "")
        if len(pronouns) != 1 or not name:
            return question
        found = pronouns[0]
        name = _bare_name(name) + ("'s" if found.group(0).lower() in _POSSESSIVE else "")
        return question[: found.start()] + name + question[found.end():]


def _bare_name(name: str) -> str:
    """A name as it stands for a pronoun: without the possessive it was asked with ("Kaveri's
    results" gives Kaveri) or a leading "of" ("Which of Vistula's markets")."""
    return _POSSESSIVE_MARK.sub("", _LEADING_OF.sub("", name))


def conversation_context(question: str, history: Sequence[Turn]) -> Conversation | None:
    """What `question` leans on in `history`; None when it stands alone."""
    if not history or not leans_on_history(question):
        return None
    carried: list[Turn] = []
    for turn in reversed([turn for turn in history if turn.question.strip()]):
        carried.insert(0, turn)
        if not leans_on_history(turn.question):
            break
    if not carried:
        return None
    replies = [turn for turn in history if turn.replied]
    last = replies[-1].quoted if replies else None
    turns = " ".join(turn.question for turn in carried)
    answer_name = next(filter(None, map(_answer_name, reversed(carried))), "")
    return Conversation(turns=turns, last_quote=last.text if last else "", names=names_in(turns),
                        last_source=last.source if last else None, answer_name=answer_name)


def _answer_name(turn: Turn) -> str:
    """The first name in what `turn`'s reply marked as its answer, when it asked who or which
    person, firm or thing: not a date or a figure ("Which year ...?"), nor who a named person is
    ("Who is Ann Lee?", after which "she" is Ann Lee)."""
    from qa.question import AnswerType, read_question  # qa.question reads follow-ups with this module

    if not _ASKS_WHO.match(turn.question) or not turn.quoted or not turn.quoted.highlight:
        return ""
    if read_question(turn.question).kind not in (AnswerType.PERSON, AnswerType.PLACE, AnswerType.NAMES, AnswerType.NONE):
        return ""
    return names_in(turn.quoted.highlight).split(", ")[0]
