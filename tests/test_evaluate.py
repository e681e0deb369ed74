"""Grading: where a hit is counted, and when a highlight counts as holding the answer."""

from qa.evaluate import Case, Outcome, Report, hit_rank, separation
from qa.records import Answer, Quote


def outcome(quote_text: str, highlight: tuple[int, int] | None, answers=("Ann Hale",), *,
            confidence: float = 0.9) -> Outcome:
    quote = Quote(text=quote_text, source="a.txt", title="T", start=100, end=100 + len(quote_text), score=0.9,
                  highlight=highlight)
    answer = Answer(question="Who?", answered=True, text="", quotes=[quote], confidence=confidence)
    case = Case(turns=("Who?",), answers=answers, answerable=bool(answers))
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


def test_separation_is_the_chance_an_answerable_question_is_the_surer_one():
    assert separation([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert separation([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert separation([0.5], [0.5]) == 0.5
    # 0.9 beats both, 0.3 beats 0.2 only, and ties 0.3 (half): (2 + 1 + 0.5) / 4
    assert separation([0.9, 0.3], [0.2, 0.3]) == 3.5 / 4


def test_the_summary_gives_the_confidence_auc_only_when_both_kinds_were_asked():
    text = "Former captain Ann Hale, 52, starts in May."
    answerable = [outcome(text, None, confidence=0.8), outcome(text, None, confidence=0.4)]
    unanswerable = [outcome(text, None, answers=(), confidence=0.5)]
    assert Report(answerable + unanswerable).summary()["abstention_auc"] == 0.5
    assert "abstention_auc" not in Report(answerable).summary()
    assert "abstention_auc" not in Report(unanswerable).summary()
