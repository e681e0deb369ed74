"""The question read once: the `Question` record and the stages that take it."""

from dataclasses import replace

import pytest

from qa import Turn
from qa import question as question_module
from qa.question import AnswerType, read_question


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
