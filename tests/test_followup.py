import pytest

from qa import QA, QuestionError, Turn
from qa.followup import Conversation, conversation_context, leans_on_history
from qa.records import Quoted
from qa.render import read_turns

from conftest import MUSEUM, NEWS


@pytest.mark.parametrize("question", ["Who wrote it?", "Where does he lecture?", "Over how many years?",
                                      "And who is producing it?", "What is his official job title?"])
def test_questions_that_refer_back(question):
    assert leans_on_history(question)


@pytest.mark.parametrize("question", ["Who at ITV decided to bring The X Factor back for a second series?",
                                      "How much did Gordon Brown pledge to the vaccine fund in 2005?"])
def test_questions_that_stand_alone(question):
    assert not leans_on_history(question)


def test_context_reaches_back_to_the_last_question_that_stood_alone():
    history = read_turns([
        {"role": "user", "content": "Which book won the Guardian First Book Award?"},
        {"role": "assistant", "content": "A book about mutants."},
        {"role": "user", "content": "Who wrote it?"},
        {"role": "assistant", "content": "Armand Marie Leroi."},
    ])
    assert conversation_context("Where does he lecture?", history) == Conversation(
        turns="Which book won the Guardian First Book Award? Who wrote it?", last_quote="",
        names="Guardian First Book Award")
    assert conversation_context("Where does he lecture?", ()) is None
    assert conversation_context("Which museum reopened on Friday in the city?", history) is None


@pytest.fixture
def two_story_bot(tmp_path, index_dir, fake_embedder):
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "bridge.txt").write_text(NEWS, encoding="utf-8")
    (folder / "museum.txt").write_text(MUSEUM, encoding="utf-8")
    return QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)


def test_follow_up_is_answered_from_the_story_of_the_previous_turn(two_story_bot):
    first = "Why did the city museum close before it reopened on Friday?"
    history = [{"role": "user", "content": first},
               {"role": "assistant", "content": two_story_bot.answer(first).text}]
    alone = two_story_bot.answer("What did it cost to build?")
    followed = two_story_bot.answer("What did it cost to build?", history)
    assert followed.quotes[0].source == "museum.txt"
    assert "£900,000" in followed.quotes[0].text
    assert alone.quotes[0].source == "bridge.txt"


def test_a_thank_you_between_turns_does_not_break_the_follow_up(two_story_bot):
    first = "Why did the city museum close before it reopened on Friday?"
    history = [{"role": "user", "content": first},
               {"role": "assistant", "content": two_story_bot.answer(first).text}]
    thanked = [*history, {"role": "user", "content": "Thanks!"},
               {"role": "assistant", "content": two_story_bot.answer("Thanks!").text}]
    question = "What did it cost to build?"
    assert two_story_bot.answer(question, thanked) == two_story_bot.answer(question, history)
    assert two_story_bot.answer(question, thanked).quotes[0].source == "museum.txt"


def test_self_contained_question_is_not_disturbed_by_history(two_story_bot):
    history = [{"role": "user", "content": "Why did the city museum close?"},
               {"role": "assistant", "content": "Flooding."}]
    question = "How much did the Eastmouth footbridge cost to build?"
    assert two_story_bot.answer(question, history).quotes == two_story_bot.answer(question).quotes



def test_a_follow_up_reads_the_same_from_the_engine_s_answers_as_from_their_rendered_text(two_story_bot):
    first = "Why did the city museum close before it reopened on Friday?"
    reply = two_story_bot.answer(first)
    kept = [Turn.of(first, reply)]
    shown = [{"role": "user", "content": first}, {"role": "assistant", "content": reply.text}]
    assert read_turns(shown) == tuple(kept)
    assert kept[0].quoted.source == "museum.txt" and kept[0].quoted.text == reply.quotes[0].text
    question = "What did it cost to build?"
    assert two_story_bot.answer(question, kept) == two_story_bot.answer(question, shown)


def test_the_last_answer_s_quote_is_carried_but_not_an_abstention_s():
    answered = "> “The bridge cost **£4\\.2m** &amp; more\\.”\n\n— *Harbour town* · `bridge.txt`, characters 1–2"
    history = [{"role": "user", "content": "What did the bridge cost?"}, {"role": "assistant", "content": answered}]
    carried = conversation_context("And when did it open?", read_turns(history))
    assert carried.last_quote == "“The bridge cost £4.2m & more.”" and carried.last_source == "bridge.txt"
    abstained = "The documents don't say. The closest passage I found, which may be related:\n\n> “Other words.”"
    history[1] = {"role": "assistant", "content": abstained}
    assert conversation_context("And when did it open?", read_turns(history)).last_quote == ""
    history[1] = {"role": "assistant", "content": "*Searched as “x”, in the documents' spelling.*\n\n" + abstained}
    assert conversation_context("And when did it open?", read_turns(history)).last_quote == ""


@pytest.mark.parametrize(("names", "question", "read_as"), [
    ("Armand Leroi", "Where does he lecture?", "Where does Armand Leroi lecture?"),
    ("Eastmouth", "What did its bridge cost?", "What did Eastmouth's bridge cost?"),
    ("Eastmouth", "What did it cost to build it?", "What did it cost to build it?"),
    ("Jane Porter, Eastmouth", "What did she say?", "What did she say?"),
    ("", "What did she say?", "What did she say?"),
    ("Jane Porter", "And then?", "And then?"),
    ("Kaveri's", "Where does he work?", "Where does Kaveri work?"),
    ("Kaveri’s", "What are its plans?", "What are Kaveri's plans?"),
    ("of Vistula's", "How much beer did it sell?", "How much beer did Vistula sell?"),
])
def test_the_reader_gets_the_one_pronoun_replaced_by_the_one_name(names, question, read_as):
    assert Conversation(turns="", last_quote="", names=names).resolved(question) == read_as


def _reply(highlighted: str) -> str:
    return f"> “It was,” said **{highlighted}** of the council\\.\n\n— *Harbour town* · `bridge.txt`, characters 1–2"


@pytest.mark.parametrize(("asked", "answer", "follow_up", "read_as"), [
    ("Who runs the Eastmouth council?", "Jane Porter", "What did she say?", "What did Jane Porter say?"),
    ("Which firm built the bridge?", "Harbour Works", "When did its crews start?", "When did Harbour Works's crews start?"),
    ("What did the Eastmouth council decide?", "Jane Porter", "What did she say?", "What did Eastmouth say?"),
    ("Who is Ann Lee?", "Jane Porter", "What did she say?", "What did Ann Lee say?"),
    ("Which month did Eastmouth start the works?", "March", "Why did it take so long?", "Why did Eastmouth take so long?"),
    ("Who runs the Eastmouth council?", "Jane Porter", "What did she say about him?", "What did she say about him?"),
])
def test_a_pronoun_after_a_who_or_which_question_stands_for_its_answer(asked, answer, follow_up, read_as):
    history = read_turns([{"role": "user", "content": asked}, {"role": "assistant", "content": _reply(answer)}])
    assert conversation_context(follow_up, history).resolved(follow_up) == read_as


def test_the_answer_of_the_latest_who_question_is_carried_through_a_chain_of_follow_ups():
    history = read_turns([{"role": "user", "content": "Which former leader became a peer?"},
                          {"role": "assistant", "content": _reply("Neil Kinnock")},
                          {"role": "user", "content": "What title will he take?"},
                          {"role": "assistant", "content": _reply("Baron Kinnock")}])
    assert conversation_context("Who went with him?", history).answer_name == "Neil Kinnock"
    history += read_turns([{"role": "user", "content": "Who wrote it?"}, {"role": "assistant", "content": _reply("Ann Lee")}])
    assert conversation_context("Where does she lecture?", history).answer_name == "Ann Lee"
    abstained = read_turns([{"role": "user", "content": "Who runs the council?"},
                            {"role": "assistant", "content": "The documents don't say. The closest passage: " + _reply("Jo")}])
    assert conversation_context("What did she say?", abstained).answer_name == ""


def test_plain_text_history_is_read_back_into_turns():
    said = ("*Searched as “x”, in the documents' spelling.*\n\n> “We are **proud** of it\\_now,” said Jo\\.\n\n"
            "— the mayor, Jane \\*Porter\\*, in *Harbour town \\(BBC, 2004\\)* · `` a`b.txt ``, p. 2, "
            "characters 10–42 (the same words, or nearly, are also in `c.txt`)")
    turns = read_turns([{"role": "assistant", "content": "Hello."},
                        {"role": "user", "content": "Who said it?"}, {"role": "assistant", "content": said},
                        {"role": "user", "content": "And then?"}])
    assert turns == (
        Turn("", quoted=None),
        Turn("Who said it?", quoted=Quoted("“We are proud of it_now,” said Jo.", source="a`b.txt", start=10, end=42,
                                           speaker="the mayor, Jane *Porter*", highlight="proud")),
        Turn("And then?", replied=False),
    )
    assert read_turns([{"role": "assistant", "content": "> Words without a source line."}])[0].quoted == \
        Quoted("Words without a source line.")
    with pytest.raises(QuestionError, match="history"):
        read_turns([{"role": "robot", "content": "x"}])
