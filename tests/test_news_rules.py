"""Issue 9's general rules on small made-up news stories, with the real model. Slow.

Headlines are metadata, not answers; the kind of answer asked for picks the sentence holding
one; quotations are found by who said them, also when a later sentence only says "She added".
"""

import pytest

from qa import QA
from qa.chunker import person_name

pytestmark = pytest.mark.slow

HARBOUR = """Council approves new harbour wall for Westport

The county council has approved a new harbour wall for Westport after years of flooding.

Work on the wall will begin on 3 March and should take eighteen months.

The wall will cost £12m, paid for by the council and a government grant.

"This wall will protect homes for the next fifty years," said the council leader, Maria Lopez.

She added that residents had waited too long for the work to start.

Opponents said the money would be better spent on the town's roads.
"""

FESTIVAL = """Folk festival moves to a bigger site

The Westport folk festival is moving to a bigger site on the edge of town this summer.

Organisers expect 20,000 visitors over the three days, twice last year's crowd.

"We simply outgrew the old field," said festival director Tom Reed.
"""


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("news")
    (folder / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "festival.txt").write_text(FESTIVAL, encoding="utf-8")
    return QA.from_directory(folder, index_dir=tmp_path_factory.mktemp("idx"))


def test_the_headline_is_the_title_and_never_the_quote(bot):
    reply = bot.answer("Has the council approved a new harbour wall for Westport?")
    headline_end = HARBOUR.index("\n")
    assert reply.answered
    assert reply.quotes[0].title == "Council approves new harbour wall for Westport"
    assert all(q.start > headline_end for q in reply.quotes if q.source == "harbour.txt")


@pytest.mark.parametrize("question, answer_words", [
    ("When will work on the harbour wall begin?", "3 March"),
    ("How much will the harbour wall cost?", "£12m"),
    ("How many visitors do the festival organisers expect?", "20,000"),
    ("Who leads the council?", "Maria Lopez"),
])
def test_the_sentence_with_the_asked_for_kind_of_answer_comes_first(bot, question, answer_words):
    best = bot.answer(question).quotes[0]
    assert answer_words in best.text
    start, end = best.highlight
    assert answer_words in bot.documents[best.source].text[start:end]


def test_what_a_named_person_said_is_their_quotation_with_the_speaker(bot):
    best = bot.answer("What did Maria Lopez say about the wall?").quotes[0]
    assert "protect homes for the next fifty years" in best.text
    assert person_name(best.speaker) == "Maria Lopez"


def test_a_sentence_that_only_says_she_is_found_by_her_name(bot):
    best = bot.answer("What did Maria Lopez add about residents?").quotes[0]
    assert best.text.startswith("She added that residents had waited too long")


def test_what_the_festival_director_said_comes_from_the_other_story(bot):
    best = bot.answer("What did Tom Reed say about the old field?").quotes[0]
    assert best.source == "festival.txt" and person_name(best.speaker) == "Tom Reed"
