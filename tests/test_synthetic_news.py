"""The real engine on fictional news it never trained or was fitted on: a slice of the
synthetic-news validation part (`tools/train_reader.synthetic_part`). Slow: real model."""

import pytest

from qa import QA
from qa.evaluate import evaluate, read_cases

from conftest import tool

pytestmark = pytest.mark.slow

STORIES = 6
"""The first this many validation stories (by id): one folder."""


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    stories = sorted(tool("train_reader").synthetic_stories("validation"), key=lambda s: s["id"])[:STORIES]
    folder = tmp_path_factory.mktemp("synthetic-val")
    tool("heldout").write_stories(folder, stories)
    return folder, QA.from_directory(folder / "corpus", index_dir=tmp_path_factory.mktemp("idx"))


def test_validation_stories_meet_the_measured_figures(news):
    """Round 9 on these six stories (one folder) measured hit@1 51/60, hit@3 59, 1 false
    abstention, 4/30 look-alikes declined, confidence AUC 0.766, follow-ups 9/12; the gates leave
    a few questions of margin."""
    folder, bot = news
    figures = evaluate(bot, read_cases(folder / "questions.jsonl") + read_cases(folder / "conversations.jsonl")).summary()
    assert (figures["answerable"], figures["unanswerable"], figures["conversations"]) == (60, 30, 12), figures
    assert figures["hit@1"] >= 48, figures
    assert figures["hit@3"] >= 56, figures
    assert figures["false_abstentions"] <= 3, figures
    assert figures["abstained"] >= 2, figures
    assert figures["abstention_auc"] >= 0.70, figures
    assert figures["conversation_hit@1"] >= 8, figures


def test_a_declined_look_alike_question_says_so_and_shows_the_closest_passage_as_such(news):
    folder, bot = news
    unanswerable = [c for c in read_cases(folder / "questions.jsonl") if not c.answerable]
    declined = [reply for reply in map(bot.answer, (c.question for c in unanswerable)) if not reply.answered]
    assert declined, "no look-alike question was declined"
    for reply in declined:
        assert reply.text.startswith("The documents don't say.") and "may be related" in reply.text
        assert reply.quotes and f"`{reply.quotes[0].source}`" in reply.text
