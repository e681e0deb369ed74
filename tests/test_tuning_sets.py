"""The held-out sets `make tune` fits on (tools/heldout.py) and how tools/tune.py picks the threshold."""

import json
import random

import numpy as np
import pytest

from qa.loader import load_corpus

from conftest import tool



@pytest.mark.parametrize("seed", range(12))
def test_a_story_dressed_as_news_answers_about_its_byline_only_where_the_byline_says(tmp_path, seed):
    heldout = tool("heldout")
    text, cases = heldout.dressed_as_news("Geology", "Rocks form in three ways.", random.Random(seed))
    (tmp_path / "Geology.txt").write_text(text, encoding="utf-8")
    document = next(iter(load_corpus(tmp_path).documents.values()))
    assert document.title == "Geology" and document.author and document.outlet and document.date
    assert document.text.rstrip().endswith("Rocks form in three ways.")
    known = {"author": [document.author], "source": [document.outlet], "date": [document.date]}
    for case in cases:
        field = next(name for name, asked in heldout.METADATA_QUESTIONS.items() if case["question"] in asked)
        assert case["answerable"] == bool(case["answers"])
        assert all(answer in document.text for answer in case["answers"])
        if field != "date":  # a date may be written out in words; the others are said as stored
            assert case["answerable"] == any(value in document.text for value in known[field])


def test_the_threshold_is_the_highest_that_keeps_false_abstentions_within_budget():
    tune = tool("tune")
    probability = np.r_[np.linspace(0.2, 0.99, 100), [0.05, 0.1]]
    answerable = np.r_[np.ones(100, dtype=bool), [False, False]]
    threshold = tune.chosen_threshold(probability, answerable)
    assert np.mean(probability[answerable] < threshold) <= tune.FALSE_ABSTENTION_BUDGET
    assert np.mean(probability[answerable] < threshold + 0.01) > tune.FALSE_ABSTENTION_BUDGET


def test_synthetic_stories_are_written_as_a_folder_whose_answers_the_loader_finds_in_their_story(tmp_path):
    from test_reader import STORY

    tool("heldout").write_stories(tmp_path, [STORY])
    corpus = load_corpus(tmp_path / "corpus")
    (document,) = corpus.documents.values()
    assert (document.title, document.date, document.outlet) == ("Tollbridge sold", "2020-01-02", "Wire")
    assert document.text == STORY["text"]
    rows = [json.loads(line) for line in (tmp_path / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["answerable"] for row in rows] == [True, True, False]
    assert all(answer in document.text for row in rows for answer in row["answers"])
    assert {row["source"] for row in rows} == {"syn-h1-007.txt"}
    (conversation,) = map(json.loads, (tmp_path / "conversations.jsonl").read_text(encoding="utf-8").splitlines())
    assert conversation["turns"] == STORY["conversations"][0]["turns"] and conversation["answers"] == ["the sale was fair"]


def test_the_fit_stories_follow_ups_are_asked_after_the_engine_s_answer_to_their_first_turn(
        tmp_path, monkeypatch, fake_embedder):
    from test_reader import STORY

    tune = tool("tune")
    tool("heldout").write_stories(tmp_path / "news", [STORY])
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "indexes"))
    monkeypatch.setattr(tune, "HELD_OUT", tmp_path)
    monkeypatch.setattr(tune, "ASKED_OFF_TOPIC", ())
    items = tune.collect("heldout-news", fake_embedder)
    assert [item.set_name for item in items] == ["heldout-news"] * 3 + ["follow-ups"]
    follow_up = items[-1]
    assert follow_up.question == "What did she say?" and follow_up.answerable
    assert follow_up.asked.conversation.turns == "Who runs Harbour Group?"
