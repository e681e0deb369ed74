"""What kind of answer a question asks for, whether a sentence holds one, and where it sits."""

from dataclasses import replace

import pytest

from qa.answer_type import answer_span, holds
from qa.question import AnswerType, Question, read_question


def asking(kind: AnswerType, question: str) -> Question:
    """`question` as read, asking for `kind` whatever its words say."""
    return replace(read_question(question), kind=kind)


@pytest.mark.parametrize("question, kind", [
    ("When did the bridge open?", AnswerType.DATE),
    ("In what year was the firm founded?", AnswerType.DATE),
    ("How much did the bridge cost?", AnswerType.MONEY),
    ("What salary will she receive?", AnswerType.MONEY),
    ("How much a week are carers paid?", AnswerType.MONEY),
    ("How many people work there?", AnswerType.COUNT),
    ("What is the population of the island?", AnswerType.COUNT),
    ("What time does the concert start?", AnswerType.TIME),
    ("What percentage of voters turned out?", AnswerType.PERCENT),
    ("How old is the mayor?", AnswerType.NUMBER),
    ("How much of the town was flooded?", AnswerType.NUMBER),
    ("Who opened the bridge?", AnswerType.PERSON),
    ("Name the chairman of the board.", AnswerType.PERSON),
    ("Where is the museum?", AnswerType.PLACE),
    ("What is the capital of the region?", AnswerType.PLACE),
    ("Name the bands on the bill.", AnswerType.NAMES),
    ("List all members of the group", AnswerType.NAMES),
    ("What are the names of the winners?", AnswerType.NAMES),
    ("What did the council sign?", AnswerType.NONE),
    ("Who is Jane Porter?", AnswerType.IDENTITY),
    ("what is acme", AnswerType.IDENTITY),
    ("What is Acme worried about?", AnswerType.NONE),
    ("Who is the mayor?", AnswerType.PERSON),
    ("who was arrested?", AnswerType.PERSON),
    ("Who is Prime Minister?", AnswerType.PERSON),
    ("Who was President of France?", AnswerType.PERSON),
    ("What time period did the dinosaurs live in?", AnswerType.DATE),
    ("How much rain falls a year?", AnswerType.NUMBER),
    ("What is the boiling point of water in Fahrenheit?", AnswerType.NUMBER),
    ("Can you name the bands on the bill?", AnswerType.NAMES),
    ("What does BPI stand for?", AnswerType.EXPANSION),
    ("what is the adss short for", AnswerType.EXPANSION),
    ("Which seat does she stand for?", AnswerType.NONE),
    ("What does Labour stand for?", AnswerType.NONE),
    ("what does the party stand for", AnswerType.NONE),
    ("WHAT DOES BPI STAND FOR?", AnswerType.EXPANSION),
])
def test_question_types(question, kind):
    assert read_question(question).kind is kind


def test_several_names_need_more_than_one_new_name():
    question = read_question("Name the bands on the bill.")
    assert holds("The bill has Blur, Oasis and Pulp.", question)
    assert not holds("The bill was drawn up in London.", question)
    assert holds("The bill was drawn up in London.", read_question("Who drew up the bill?"))


@pytest.mark.parametrize("kind, sentence, expected", [
    (AnswerType.COUNT, "The ban comes in by the spring of 2006.", False),
    (AnswerType.COUNT, "He scooped the £10,000 prize.", False),
    (AnswerType.COUNT, "The bill passed by 12 votes.", True),
    (AnswerType.COUNT, "The final takes place on 11 December.", False),
    (AnswerType.COUNT, "As many as 40 may have died.", True),
    (AnswerType.MONEY, "Mr Boateng, 53, is to become high commissioner.", False),
    (AnswerType.MONEY, "The studio was sold for $3m.", True),
    (AnswerType.TIME, "The band plays on Tuesday, 14 June.", False),
    (AnswerType.TIME, "Doors open at 7.30pm.", True),
    (AnswerType.PERCENT, "Turnout rose to 61% this year.", True),
    (AnswerType.PERCENT, "Turnout rose sharply this year.", False),
])
def test_figures_of_the_asked_for_kind(kind, sentence, expected):
    assert holds(sentence, Question(text="", kind=kind)) is expected


@pytest.mark.parametrize("kind, text, question, expected", [
    (AnswerType.NAMES, "The line-up has Blur, Oasis and Pulp, with tickets from Monday.", "Name the bands.",
     "Blur, Oasis and Pulp"),
    (AnswerType.NAMES, "It runs Alpha-1, Alpha-2, and Beta satellites.", "Name the satellites.",
     "Alpha-1, Alpha-2, and Beta"),
    (AnswerType.PERSON, "The bridge was opened by the mayor, Jane Porter, on Monday.", "Who opened the bridge?",
     "Jane Porter"),
    (AnswerType.PERSON, "A harbour master was appointed. Former captain Ann Hale starts in May.",
     "Who was appointed harbour master?", "Ann Hale"),
    (AnswerType.PERSON, "Great Ormond Street Hospital professor Al Green, 60, was chosen.", "Who was chosen?",
     "Al Green"),
    (AnswerType.PERSON, "The prize went to Eastmouth Rovers Club this year.", "Who won the prize?",
     "Eastmouth Rovers Club"),
    (AnswerType.DATE, "Founded in 2010, it now has 40 staff.", "When was it founded?", "2010"),
    (AnswerType.DATE, "Founded in 1990, the club moved to its new ground in 2004.",
     "When did the club move to its new ground?", "2004"),
    (AnswerType.PERSON, "It was commissioned by Odo, the Bishop of Bayeux.", "Who commissioned it?", "Odo"),
    (AnswerType.MONEY, "Built in 2010 by 40 staff, the bridge cost £4.2m.", "How much did the bridge cost?", "£4.2m"),
    (AnswerType.COUNT, "Since 2010 the club has won 14 titles for £2m.", "How many titles has it won?", "14"),
    (AnswerType.COUNT, "On 3 May, 40,000 fans watched.", "How many fans watched?", "40,000"),
    (AnswerType.PERCENT, "In 2004, 3 in 5 voters, or 61%, turned out.", "What percentage turned out?", "61%"),
    (AnswerType.TIME, "On 14 June the doors open at 7.30pm.", "What time do the doors open?", "7.30pm"),
    (AnswerType.IDENTITY, "Shares in Acme, a maker of anvils, rose.", "What is Acme?", "a maker of anvils"),
    (AnswerType.IDENTITY, "Acme is the oldest firm in town.", "What is Acme?", "the oldest firm in town"),
    (AnswerType.IDENTITY, "\"We are proud,\" said the town's mayor Jane Porter.", "Who is Jane Porter?",
     "town's mayor"),
    (AnswerType.IDENTITY, "He vowed to never attack Tory leader Jane Porter.", "Who is Jane Porter?", "Tory leader"),
    (AnswerType.EXPANSION, "The Association of Directors of Social Services (ADSS) objected.",
     "What does ADSS stand for?", "Association of Directors of Social Services"),
    (AnswerType.EXPANSION, "Figures from the BPI, the British Phonographic Industry, show it.", "what does bpi stand for",
     "British Phonographic Industry"),
])
def test_answer_span_is_the_asked_for_stretch_of_the_text(kind, text, question, expected):
    start, end = answer_span(text, asking(kind, question))
    assert text[start:end] == expected


def test_identity_needs_a_description_or_a_title_beside_the_name():
    question = read_question("Who is Jane Porter?")
    assert question.kind is AnswerType.IDENTITY and question.named == "Jane Porter"
    assert holds("The bridge was opened by the mayor Jane Porter.", question)
    assert not holds("The bridge was opened by Jane Porter on Monday.", question)
    assert not holds("The mayor opened the bridge.", question)
    assert not holds("I attack Jane Porter politically.", question)
    assert not holds("The council criticised Jane Porter today.", question)
    assert not holds("He chairs the Jane Porter Trust.", question)
    assert holds("Tory leader Jane Porter spoke.", question)
    assert not holds("They build upon Jane Porter's work.", question)
    assert not holds("She met Jane Porter a week ago.", question)


def test_an_acronym_is_expanded_only_by_words_whose_initials_spell_it():
    question = read_question("What does DNA stand for?")
    assert question.kind is AnswerType.EXPANSION and question.acronym == "DNA"
    assert not holds("There are 200,000 backlogged DNA samples.", question)
    assert not holds("Detectives Now Ask for help.", read_question("What does DNB stand for?"))
    assert holds("Detectives Now Ask for help.", question)


def test_a_name_written_with_an_unusual_space_is_still_a_span_of_the_text():
    text = "Jo Lee said the captain is Ann\u00a0Hale, who joined."
    start, end = answer_span(text, asking(AnswerType.PERSON, "Who is the new captain?"))
    assert 0 <= start < end <= len(text)


def test_names_the_question_already_gives_are_not_the_answer():
    text = "Jane Porter said Tom Reed would run the ferry."
    start, end = answer_span(text, read_question("Who did Jane Porter say would run the ferry?"))
    assert text[start:end] == "Tom Reed"


@pytest.mark.parametrize("question, fields", [
    ("Who is the author of this piece?", ("author",)),
    ("Who wrote the article?", ("author",)),
    ("What is the publication date?", ("date",)),
    ("Who reported the news first?", ("outlet",)),
    ("Who is the author of Harry Potter?", ()),
    ("Who wrote Hamlet?", ()),
    ("Who opened the bridge?", ()),
])
def test_questions_about_the_document_itself(question, fields):
    assert read_question(question).metadata == fields


