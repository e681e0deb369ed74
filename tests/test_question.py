"""The question read once: the `Question` record and the stages that take it."""

import json
from dataclasses import replace

import pytest

from qa import Turn
from qa import question as question_module
from qa.question import AnswerType, read_question

from conftest import REPO


def test_the_words_are_read_into_one_record():
    question = read_question("  What is the\x00 population of Brazil?  ")
    assert question.text == "What is the population of Brazil?"
    assert question.kind is AnswerType.COUNT
    assert question.terms == ("popul", "brazil")
    assert question.subjects == (("brazil",),)
    assert question.for_quoting and question.conversation is None and question.spelling is None


def test_a_follow_up_carries_the_conversation_it_leans_on():
    earlier = Turn("Why did the city museum close?")
    question = read_question("What did it cost?", [earlier])
    assert question.conversation.turns == "Why did the city museum close?"
    assert read_question("What did the Eastmouth bridge cost?", [earlier]).conversation is None


def test_an_answer_reads_the_words_once(fake_bot, monkeypatch):
    first = "How much did the bridge cost?"
    history = [Turn.of(first, fake_bot.answer(first))]
    kinds = []
    read = question_module._kind
    monkeypatch.setattr(question_module, "_kind", lambda *args: kinds.append(args[0]) or read(*args))
    fake_bot.answer("When did it open?", history)
    assert kinds == ["When did it open?"]


def test_the_retriever_fills_in_the_corpus_s_spelling_once(fake_bot):
    question = read_question("How much did the bridje cost?")
    spelled = fake_bot.retriever.spelled(question)
    assert spelled.spelling.respelled == "How much did the bridge cost?"
    assert "bridg" in spelled.spelling.terms
    assert replace(spelled, spelling=None) == question
    assert len(fake_bot.retriever.candidates(spelled).rows)
    with pytest.raises(ValueError, match="spelled"):
        fake_bot.retriever.candidates(question)


@pytest.mark.parametrize(("message", "goes_on"), [
    ("Tell me more", True), ("Go on, please.", True), ("And then?", True), ("ok, continue", True), ("More!", True),
    ("Tell me more about the bridge", False), ("What happens next year?", False), ("More than what?", False),
])
def test_a_request_to_go_on_from_the_last_quote(message, goes_on):
    assert read_question(message).goes_on is goes_on


def test_of_the_repo_s_question_sets_only_the_two_greetings_read_as_small_talk_and_none_asks_to_go_on():
    def questions(value):
        """Every question in a JSON record: "question" and "q" fields and conversation "turns", nested."""
        if isinstance(value, list):
            return [text for item in value for text in questions(item)]
        if not isinstance(value, dict):
            return []
        own = [value[key] for key in ("question", "q") if isinstance(value.get(key), str)]
        return own + list(value.get("turns", [])) + [text for item in value.values() for text in questions(item)]

    asked = [line.strip() for name in ("offtopic_questions.txt", "offtopic_heldout.txt")
             for line in (REPO / "tools" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in [*(REPO / "tests" / "data").glob("*.jsonl"), *(REPO / "tools" / "synthetic-news-more").glob("*.jsonl")]:
        asked += [text for line in path.read_text(encoding="utf-8").splitlines() for text in questions(json.loads(line))]
    assert len(asked) > 3000
    read = [read_question(text) for text in asked]
    assert [question.text for question in read if question.small_talk] == ["hello", "hi there, how are you?"]
    assert not [question.text for question in read if question.goes_on]
