"""Evaluation: run a question set through the engine and count what it got right.

A question set is JSONL: `{"question", "answers", "answerable", "source"?}` per line, or
`{"turns": [...], "answers", "source"?}` for a conversation whose last turn is graded (the
earlier turns and their answers are handed on as `Turn` records). A hit is
an accepted answer found (case and spacing aside) inside a returned quote; of the hits at rank 1
whose quote has a highlight, it counts those whose highlight and an accepted answer overlap (one
inside the other). How well the confidence parts answerable from unanswerable questions,
whatever the threshold, is its ROC AUC (`separation`). What it leaves out: grading the wording
of replies, and timing (see the benchmarks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.engine import QA
from qa.errors import CorpusError
from qa.records import Answer, Turn

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Case:
    turns: tuple[str, ...]
    answers: tuple[str, ...]
    answerable: bool
    source: str | None = None

    @property
    def question(self) -> str:
        return self.turns[-1]


@dataclass(frozen=True)
class Outcome:
    case: Case
    answer: Answer
    hit_rank: int | None
    """1-based rank of the first quote holding an accepted answer, None when none does."""

    @property
    def highlight_holds_answer(self) -> bool | None:
        """For a hit at rank 1 with a highlight: is the highlight inside an accepted answer, or
        an accepted answer inside it? None otherwise."""
        if self.hit_rank != 1 or not self.answer.quotes[0].highlight:
            return None
        marked = _normal(self.answer.quotes[0].highlighted)
        return any(marked in _normal(a) or _normal(a) in marked for a in self.case.answers if a.strip())

    @property
    def right_file(self) -> bool:
        return bool(self.answer.quotes) and self.answer.quotes[0].source == self.case.source


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _answerable(self, conversation: bool) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.answerable and (len(o.case.turns) > 1) == conversation]

    def summary(self) -> dict[str, float | int]:
        single = self._answerable(conversation=False)
        unanswerable = [o for o in self.outcomes if not o.case.answerable]
        turns = self._answerable(conversation=True)
        with_source = [o for o in single if o.case.source]
        figures: dict[str, float | int] = {
            "answerable": len(single),
            "hit@1": sum(o.hit_rank == 1 for o in single),
            "hit@3": sum(o.hit_rank is not None and o.hit_rank <= 3 for o in single),
            "false_abstentions": sum(not o.answer.answered for o in single),
            "unanswerable": len(unanswerable),
            "abstained": sum(not o.answer.answered for o in unanswerable),
        }
        highlighted = [held for held in (o.highlight_holds_answer for o in single) if held is not None]
        figures["highlighted@1"] = len(highlighted)
        figures["highlight_holds_answer"] = sum(highlighted)
        if single and unanswerable:
            figures["abstention_auc"] = round(separation([o.answer.confidence for o in single],
                                                         [o.answer.confidence for o in unanswerable]), 3)
        if with_source:
            figures["right_file@1"] = sum(o.right_file for o in with_source)
        if turns:
            figures["conversations"] = len(turns)
            figures["conversation_hit@1"] = sum(o.hit_rank == 1 for o in turns)
        return figures

    def failures(self) -> list[Outcome]:
        return [
            o for o in self.outcomes
            if (o.case.answerable and (o.hit_rank != 1 or not o.answer.answered))
            or (not o.case.answerable and o.answer.answered)
        ]


def separation(answerable: list[float], unanswerable: list[float]) -> float:
    """ROC AUC of the confidence as a test for "the corpus answers it": the chance that an
    answerable question, drawn at random, gets a higher confidence than an unanswerable one (ties
    count half). 1.0 separates them perfectly at some threshold, 0.5 is a coin."""
    high = np.asarray(answerable, dtype=np.float64)[:, None]
    low = np.asarray(unanswerable, dtype=np.float64)[None, :]
    return float(((high > low).sum() + 0.5 * (high == low).sum()) / (high.size * low.size))


def read_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot read the question set ({error})") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            turns = tuple(item["turns"]) if "turns" in item else (item["question"],)
            answers = tuple(item.get("answers") or ())
            cases.append(Case(turns=turns, answers=answers,
                              answerable=bool(item.get("answerable", bool(answers))),
                              source=item.get("source")))
        except (ValueError, KeyError, TypeError) as error:
            raise CorpusError(f"{path}:{number}: not a question record ({error})") from error
    return cases


def question_files(target: Path) -> tuple[list[Path], Path | None]:
    """The JSONL files to run, and the corpus beside them when `target` is an eval folder."""
    if target.is_dir():
        files = sorted(p for p in target.glob("*.jsonl"))
        if not files:
            raise CorpusError(f"{target}: no .jsonl question files in this folder")
        corpus = target / "corpus"
        return files, corpus if corpus.is_dir() else None
    return [target], None


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def hit_rank(answer: Answer, accepted: tuple[str, ...]) -> int | None:
    wanted = [_normal(a) for a in accepted if a.strip()]
    for rank, quote in enumerate(answer.quotes, 1):
        text = _normal(quote.text)
        if any(a in text for a in wanted):
            return rank
    return None


def asked_before(bot: QA, case: Case) -> list[Turn]:
    """The conversation `case`'s last question follows: its earlier turns, each answered by `bot`."""
    history: list[Turn] = []
    for turn in case.turns[:-1]:
        history.append(Turn.of(turn, bot.answer(turn, history)))
    return history


def run_case(bot: QA, case: Case) -> Outcome:
    answer = bot.answer(case.question, asked_before(bot, case))
    return Outcome(case=case, answer=answer, hit_rank=hit_rank(answer, case.answers))


def evaluate(bot: QA, cases: list[Case], *, progress: Callable[[], None] | None = None) -> Report:
    report = Report()
    for case in cases:
        report.outcomes.append(run_case(bot, case))
        if progress:
            progress()
    return report


def iter_failure_lines(report: Report) -> Iterator[str]:
    for outcome in report.failures():
        case, answer = outcome.case, outcome.answer
        top = answer.quotes[0] if answer.quotes else None
        if case.answerable:
            why = "abstained" if not answer.answered else f"hit at rank {outcome.hit_rank}" if outcome.hit_rank else "missed"
        else:
            why = "answered an unanswerable question"
        yield f"- [{why}, confidence {answer.confidence:.2f}] {' / '.join(case.turns)}"
        if case.answers:
            yield f"    expected: {' | '.join(case.answers)}" + (f" (in {case.source})" if case.source else "")
        if top:
            yield f"    top quote ({top.source}): {top.text[:200]}"
