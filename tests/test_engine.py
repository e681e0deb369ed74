import numpy as np
import pytest

from qa import QA, Answer, Document, QuestionError, Turn
from qa.engine import MAX_QUOTE_CHARS, NOTHING_TO_GO_ON_FROM
from qa.records import Quoted
from qa.confidence import THRESHOLD, name_absent, standout
from qa.question import (ACKNOWLEDGED_REPLY, CANNOT_QUOTE, GREETING_REPLY, HELP_REPLY, MAX_QUESTION_CHARS, THANKS_REPLY,
                         read_question)

from conftest import MUSEUM, NEWS


def assert_quotes_round_trip(bot, reply: Answer) -> None:
    for quote in reply.quotes:
        document = bot.documents[quote.source]
        assert document.text[quote.start:quote.end] == quote.text
        assert document.text[quote.context_start:quote.context_end] == quote.context
        assert quote.context_start <= quote.start and quote.end <= quote.context_end
        assert quote.title == document.title
        assert len(quote.text) <= 420
        if quote.highlight:
            start, end = quote.highlight
            assert quote.start <= start < end <= quote.end
            assert document.text[start:end] == quote.text[start - quote.start:end - quote.start]


def test_answer_quotes_exact_text_best_first(fake_bot):
    reply = fake_bot.answer("How much did the bridge cost?")
    assert isinstance(reply, Answer)
    assert reply.quotes[0].text == "The bridge cost £4.2m and took two years to build."
    assert [q.score for q in reply.quotes] == sorted((q.score for q in reply.quotes), reverse=True)
    assert_quotes_round_trip(fake_bot, reply)


def test_quotation_is_quoted_with_its_attribution(fake_bot):
    reply = fake_bot.answer("What did the mayor say links the two halves of the town?")
    top = reply.quotes[0]
    assert top.text == '"This bridge links the two halves of our town for the first time," said the mayor, Jane Porter.'
    assert top.speaker == "the mayor, Jane Porter"
    assert_quotes_round_trip(fake_bot, reply)


def test_quotes_do_not_repeat_a_sentence(fake_bot):
    reply = fake_bot.answer("bridge town mayor", top_k=5)
    spans = [(q.start, q.end) for q in reply.quotes]
    for i, (start, end) in enumerate(spans):
        for other_start, other_end in spans[i + 1:]:
            assert end <= other_start or other_end <= start


def test_top_k_limits_quotes(fake_bot):
    assert len(fake_bot.answer("bridge", top_k=1).quotes) == 1
    assert len(fake_bot.answer("bridge", top_k=4).quotes) == 4


def test_below_the_threshold_the_reply_says_so_and_offers_the_closest_passage(fake_bot, monkeypatch):
    """Which questions fall below the threshold is the real models' call (tests/test_end_to_end.py,
    tests/test_synthetic_news.py); here every confidence does."""
    monkeypatch.setattr("qa.engine.THRESHOLD", 1.01)
    reply = fake_bot.answer("What is the boiling point of mercury in kelvin?")
    assert not reply.answered
    assert reply.text.startswith("The documents don't say.")
    assert reply.quotes and "may be related" in reply.text
    assert 0.0 <= reply.confidence <= 1.0


def test_confident_answer_is_marked_answered(fake_bot):
    reply = fake_bot.answer("How much did the new footbridge in Eastmouth cost to build?")
    assert reply.answered and reply.confidence >= THRESHOLD
    assert "£4.2m" in reply.quotes[0].text


@pytest.mark.parametrize("question", ["", "   \n\t", "?!...", "\x00\x01"])
def test_questions_without_words_are_refused_clearly(fake_bot, question):
    with pytest.raises(QuestionError, match="question"):
        fake_bot.answer(question)


def test_control_characters_are_removed_not_fatal(fake_bot):
    reply = fake_bot.answer("How much did the\x00 bridge\x1b cost?")
    assert reply.question == "How much did the bridge cost?"


def test_huge_question_is_cut_with_a_note(fake_bot):
    reply = fake_bot.answer("bridge cost " * 20_000)
    assert len(reply.question) <= MAX_QUESTION_CHARS
    assert reply.notes and "only its first" in reply.notes[0]


def test_reading_a_question_rejects_non_text():
    with pytest.raises(QuestionError):
        read_question(None)


def test_history_is_accepted_and_validated(fake_bot):
    history = [{"role": "user", "content": "Who is the mayor?"}, {"role": "assistant", "content": "Jane Porter."}]
    assert fake_bot.answer("How much did the bridge cost?", history=history).quotes
    with pytest.raises(QuestionError, match="history"):
        fake_bot.answer("How much did the bridge cost?", history=[{"role": "robot", "content": "x"}])


def test_markup_in_documents_is_escaped_in_the_reply(tmp_path, index_dir, fake_embedder):
    from qa import QA

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.txt").write_text(
        "The payload was <img src=x onerror=alert(1)> and <script>alert(2)</script> here.", encoding="utf-8")
    bot = QA.from_directory(tmp_path / "c", index_dir=index_dir, embedder=fake_embedder)
    reply = bot.answer("What was the payload?")
    assert "<img" not in reply.text and "<script>" not in reply.text
    assert "&lt;img" in reply.text
    assert "<img src=x" in reply.quotes[0].text


def test_highlight_marks_the_figure_asked_for(fake_bot):
    reply = fake_bot.answer("How much did the bridge cost?")
    top = reply.quotes[0]
    assert fake_bot.documents[top.source].text[top.highlight[0]:top.highlight[1]] == "£4.2m"
    assert "**£4.2m**" in reply.text
    assert_quotes_round_trip(fake_bot, reply)


def test_highlight_marks_the_person_asked_for(fake_bot):
    reply = fake_bot.answer("Who is the mayor who said the bridge links the two halves of the town?")
    top = reply.quotes[0]
    assert top.text[top.highlight[0] - top.start:top.highlight[1] - top.start] == "Jane Porter"


def test_no_highlight_when_the_question_asks_for_no_particular_kind(fake_bot):
    assert fake_bot.answer("Tell me about the bridge").quotes[0].highlight is None


def test_copies_of_a_story_give_one_quote_that_names_every_copy(tmp_path, index_dir, fake_embedder):
    folder = tmp_path / "copies"
    folder.mkdir()
    (folder / "a.txt").write_text(NEWS, encoding="utf-8")
    (folder / "b.txt").write_text(NEWS, encoding="utf-8")
    (folder / "museum.txt").write_text(MUSEUM, encoding="utf-8")
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    reply = bot.answer("How much did the bridge cost to build?", top_k=3)
    top = reply.quotes[0]
    assert "£4.2m" in top.text
    assert {top.source, *top.also_in} == {"a.txt", "b.txt"}
    assert [q.text.split() for q in reply.quotes].count(top.text.split()) == 1
    assert "also in" in reply.text


def test_misspelt_question_is_answered_with_a_note_on_how_it_was_read(fake_bot):
    reply = fake_bot.answer("How much did the bridje cost?")
    assert reply.quotes[0].text == "The bridge cost £4.2m and took two years to build."
    assert reply.notes == ["Searched as “How much did the bridge cost?”, in the documents' spelling."]
    assert not fake_bot.answer("How much did the bridge cost?").notes


@pytest.mark.parametrize("request_text", [
    "Write me a poem about the bridge.", "Tell me a joke.", "Please summarise the story.",
    "What's your favourite colour?", "Give me three tips for better sleep.", "Can you write a haiku about it?",
    "Who are you?", "What should I cook for dinner?", "What is the weather like tomorrow?", "What time is it?",
    "What time is it in Tokyo?", "What is the date today?",
    "Can you recommend a book?",
])
def test_requests_that_quoting_cannot_serve_are_declined_plainly(fake_bot, request_text):
    reply = fake_bot.answer(request_text)
    assert not reply.answered and reply.quotes == [] and reply.confidence == 0.0
    assert reply.text == CANNOT_QUOTE


@pytest.mark.parametrize(("message", "reply"), [
    ("hello", GREETING_REPLY), ("Hi there, how are you?", GREETING_REPLY), ("Good morning!", GREETING_REPLY),
    ("Thanks!", THANKS_REPLY), ("OK, thank you very much.", THANKS_REPLY), ("Thanks, bye", THANKS_REPLY),
    ("ok", ACKNOWLEDGED_REPLY), ("Got it.", ACKNOWLEDGED_REPLY),
    ("help", HELP_REPLY), ("What can you do?", HELP_REPLY), ("How does this work?", HELP_REPLY),
])
def test_small_talk_gets_a_short_reply_and_no_quote(fake_bot, message, reply):
    answer = fake_bot.answer(message)
    assert not answer.answered and answer.quotes == [] and answer.text == reply


def test_tell_me_more_quotes_what_follows_the_last_quote_until_the_story_ends(fake_bot):
    question = "How much did the bridge cost?"
    turns = [Turn.of(question, fake_bot.answer(question))]
    document = fake_bot.documents["bridge.txt"]
    read_to = turns[0].quoted.end
    for _ in range(len(fake_bot.sentences["bridge.txt"])):
        reply = fake_bot.answer("Tell me more", turns)
        if not reply.answered:
            break
        quote = reply.quotes[0]
        assert document.text[quote.start:quote.end] == quote.text and len(quote.text) <= MAX_QUOTE_CHARS
        assert quote.start > read_to and not document.text[read_to:quote.start].strip(), "a sentence was skipped"
        read_to = quote.end
        turns.append(Turn.of("Tell me more", reply))
    assert not reply.answered and reply.quotes == [] and reply.text.startswith("That is where *Harbour town")
    assert not document.text[read_to:].strip()


def test_tell_me_more_goes_on_with_the_rest_of_a_sentence_too_long_for_one_quote(tmp_path, index_dir, fake_embedder):
    folder = tmp_path / "long"
    folder.mkdir()
    clauses = ", ".join(f"the {n}th stall on the quay sold fish and bread to the morning crowd" for n in range(1, 16))
    (folder / "market.txt").write_text(f"Market day\n\nThe market opened at dawn.\n\nOn market day {clauses}.\n\n"
                                       "The council said it would open again next week.\n", encoding="utf-8")
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    document = bot.documents["market.txt"]
    long_start = document.text.index("On market day")
    turns = [Turn("When did the market open?", quoted=Quoted.of(bot._quote(bot.sentences["market.txt"][1], 1.0)))]
    read_to = turns[0].quoted.end
    quoted = []
    while (reply := bot.answer("Go on", turns)).answered:
        quote = reply.quotes[0]
        assert document.text[quote.start:quote.end] == quote.text and len(quote.text) <= MAX_QUOTE_CHARS
        assert not document.text[read_to:quote.start].strip(), "words were skipped"
        quoted.append(quote)
        read_to = quote.end
        turns.append(Turn.of("Go on", reply))
    assert quoted[0].start == long_start and len(quoted) >= 3
    assert not document.text[read_to:].strip() and reply.text.startswith("That is where *Market day* ends.")


def test_tell_me_more_after_the_document_changed_says_there_is_nothing_to_go_on_from(fake_bot):
    question = "How much did the bridge cost?"
    reply = fake_bot.answer(question)
    quote = reply.quotes[0]
    moved = Quoted(quote.text, quote.source, quote.start + 7, quote.end + 7)
    assert fake_bot.answer("Tell me more", [Turn(question, quoted=moved)]).text == NOTHING_TO_GO_ON_FROM
    assert fake_bot.answer("Tell me more", [Turn.of(question, reply)]).answered


def test_go_on_reads_the_same_from_a_plain_text_history(fake_bot):
    question = "Who is the mayor?"
    reply = fake_bot.answer(question)
    shown = [{"role": "user", "content": question}, {"role": "assistant", "content": reply.text}]
    assert fake_bot.answer("Go on, please.", shown) == fake_bot.answer("Go on, please.", [Turn.of(question, reply)])
    assert fake_bot.answer("Go on, please.", shown).quotes[0].start > reply.quotes[0].end


def test_tell_me_more_with_no_quote_before_it_says_so(fake_bot):
    reply = fake_bot.answer("Tell me more")
    assert not reply.answered and reply.text == NOTHING_TO_GO_ON_FROM


@pytest.mark.parametrize("question", ["Hello, how much did the bridge cost?", "Thanks to whom was it built?",
                                      "Good day for the traders?", "Hi, who opened the bridge?",
                                      "What can the bridge carry?", "Who will help the traders?",
                                      "OK, when did it open?", "How does it work?", "Nice"])
def test_questions_that_open_like_small_talk_are_answered(question):
    asked = read_question(question)
    assert asked.for_quoting and asked.small_talk is None


@pytest.mark.parametrize("question", [
    "Who wrote the article?", "Tell me about the bridge.", "Give me the names of the traders.",
    "Who should pay for the bridge?", "Write-offs: how much was lost?", "What did the mayor write?",
    "When should I apply for the grant?", "How long does it take to change your name?", "Code name of the plan?",
    "Tell me the story of the bridge.", "Who are you voting for, according to the poll?",
    "What time does the concert start tonight?", "What was the weather forecast for the opening day?",
    "Recommended by whom?", "Which film did the critics recommend most?", "What is the date of the election?",
    "What time is it scheduled to start?", "What day is it held on?", "What was the temperature in Paris today?",
    "What did the forecast say about rain this weekend?",
])
def test_questions_that_merely_look_like_requests_are_answered(question):
    assert read_question(question).for_quoting


def test_standout_is_the_best_sentence_s_lead_over_the_tenth_best():
    crowd = np.full(50, 0.40)
    crowd[7] = 0.45
    clear = np.full(50, 0.30)
    clear[3] = 0.80
    assert standout(crowd) == pytest.approx(0.05)
    assert standout(clear) == pytest.approx(0.50)
    assert standout(np.array([0.5, 0.2])) == pytest.approx(0.3)
    assert standout(np.array([0.5])) == 0.0


def test_a_named_thing_the_document_never_mentions_is_noticed():
    island = Document(id="i.txt", text="About 3,000 people live on Dominica, which has a population of 70,000.",
                      title="Island census", path="i.txt")
    assert name_absent(read_question("What is the population of Brazil?"), island) == 1.0
    assert name_absent(read_question("What is the population of Dominica?"), island) == 0.0
    assert name_absent(read_question("What is the population of the island?"), island) == 0.0
    assert name_absent(read_question("How many people live in the Island Census area?"), island) == 0.0


def bridge_quotes(tmp_path, index_dir, fake_embedder, second_report: str):
    """The quotes on the bridge's cost from two files: NEWS and `second_report`."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text(NEWS, encoding="utf-8")
    (folder / "b.txt").write_text(second_report, encoding="utf-8")
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    return [q for q in bot.answer("How much did the bridge cost to build?", top_k=3).quotes if "£4.2m" in q.text]


def test_a_copy_with_a_corrected_typo_still_counts_as_a_copy(tmp_path, index_dir, fake_embedder):
    (top,) = bridge_quotes(tmp_path, index_dir, fake_embedder, NEWS.replace("two years", "two yaers"))
    assert {top.source, *top.also_in} == {"a.txt", "b.txt"}


def test_reports_that_differ_in_a_figure_are_not_copies(tmp_path, index_dir, fake_embedder):
    costs = bridge_quotes(tmp_path, index_dir, fake_embedder, NEWS.replace("two years", "3 years"))
    assert {q.source for q in costs} == {"a.txt", "b.txt"} and all(not q.also_in for q in costs)


def one_story_bot(tmp_path, index_dir, fake_embedder, story: str) -> QA:
    folder = tmp_path / "story"
    folder.mkdir()
    (folder / "story.txt").write_text(story, encoding="utf-8")
    return QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)


HARBOUR_MASTER = """Westport appoints harbour master

Westport council has appointed a new harbour master after a year-long search.

Former navy captain Ann Hale, 52, will take up the post in May.

The harbour handles 300 fishing boats a year.
"""


@pytest.mark.slow
def test_the_reader_finds_the_fact_in_the_sentence_after_the_one_that_sets_the_scene(tmp_path, index_dir,
                                                                                      fake_embedder):
    """The first reader quoted the fact first; the round-3 reader puts the scene-setting sentence
    first (highlighting "a new harbour master") and the fact second. Both mark the name."""
    bot = one_story_bot(tmp_path, index_dir, fake_embedder, HARBOUR_MASTER)
    reply = bot.answer("Who has Westport council appointed as harbour master?")
    fact = next(q for q in reply.quotes[:2] if q.text == "Former navy captain Ann Hale, 52, will take up the post in May.")
    assert bot.documents[fact.source].text[slice(*fact.highlight)] == "Ann Hale"
    assert_quotes_round_trip(bot, reply)


class DoubtingReader:
    """Finds "welcomed the opening" wherever it reads it, but scores it below "no answer"."""

    def read(self, question, windows):
        from qa.reader import Reading

        readings = []
        for window in windows:
            at = window.text.find("welcomed the opening")
            readings.append([Reading(score=-1.0, span=(at, at + 20) if start <= at < end else None, no_answer=0.0)
                             for start, end in window.spans])
        return readings


@pytest.mark.parametrize("threshold, marked", [(0.0, True), (1.01, False)])
def test_an_answered_reply_marks_the_reader_s_span_even_where_the_reader_doubted_it(fake_bot, monkeypatch,
                                                                                    threshold, marked):
    monkeypatch.setattr("qa.engine.THRESHOLD", threshold)
    fake_bot.reranker.reader = DoubtingReader()
    reply = fake_bot.answer("How did local traders react to the opening of the footbridge?")
    quote = reply.quotes[0]
    assert "welcomed the opening" in quote.text and reply.answered == marked
    assert (quote.highlighted == "welcomed the opening") if marked else quote.highlight is None


class SayingReader:
    """Reads nothing but says, through the answerability output, whether each window answers."""

    def __init__(self, answerable: float) -> None:
        self.answerable = answerable

    def read(self, question, windows):
        from qa.reader import Reading

        return [[Reading(score=0.0, span=None, no_answer=0.0, answerable=self.answerable) for _ in window.spans]
                for window in windows]


def test_the_reader_s_answerability_output_moves_the_confidence(fake_bot):
    question = "How did local traders react to the opening of the footbridge?"
    confidences = []
    for answerable in (-5.0, 0.0, 5.0):
        fake_bot.reranker.reader = SayingReader(answerable)
        reply = fake_bot.answer(question)
        assert "welcomed the opening" in reply.quotes[0].text
        confidences.append(reply.confidence)
    assert confidences[0] < confidences[1] < confidences[2]
