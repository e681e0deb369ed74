"""Grading: where a hit is counted, and when a highlight counts as holding the answer."""

from qa.evaluate import Case, Outcome, hit_rank
from qa.records import Answer, Quote


def outcome(quote_text: str, highlight: tuple[int, int] | None, answers=("Ann Hale",)) -> Outcome:
    quote = Quote(text=quote_text, source="a.txt", title="T", start=100, end=100 + len(quote_text), score=0.9,
                  highlight=highlight)
    answer = Answer(question="Who?", answered=True, text="", quotes=[quote], confidence=0.9)
    case = Case(turns=("Who?",), answers=answers, answerable=True)
    return Outcome(case=case, answer=answer, hit_rank=hit_rank(answer, answers))


def test_a_highlight_holds_the_answer_when_one_lies_inside_the_other():
    text = "Former captain Ann Hale, 52, starts in May."
    name = (100 + text.index("Ann"), 100 + text.index(", 52"))
    assert outcome(text, name).highlight_holds_answer is True
    assert outcome(text, (100, 100 + len("Former captain Ann Hale"))).highlight_holds_answer is True
    assert outcome(text, (100 + text.index("May"), 100 + len(text) - 1)).highlight_holds_answer is False


def test_no_highlight_or_no_hit_is_not_graded():
    text = "Former captain Ann Hale, 52, starts in May."
    assert outcome(text, None).highlight_holds_answer is None
    assert outcome(text, (100, 106), answers=("Tom Reed",)).highlight_holds_answer is None
