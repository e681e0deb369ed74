"""The rerank model over the ranker's and the reader's scores (qa/rerank.py), as fitted by `make tune`."""

from __future__ import annotations

import numpy as np
import pytest

from qa import QA
from qa.reader import Reading
from qa.rerank import UNREAD, load_rerank, rerank_features

STORY = """---
author: Priya Nandakumar
---
Council approves riverside housing plan

By Priya Nandakumar

The council approved a plan for 400 homes on the old riverside depot on Tuesday.

The developer, Larchmont Homes, wrote to residents last month to explain the scheme.

Building is due to start next spring.
"""


class KeenReader:
    """Scores every sentence holding `favourite` at `score`, the rest at 0: a reader sure of the
    wrong sentence."""

    def __init__(self, favourite: str, score: float) -> None:
        self.favourite, self.score = favourite, score

    def read(self, question, windows):
        return [[Reading(score=self.score if self.favourite in window.text[start:end] else 0.0, span=None, no_answer=0.0)
                 for start, end in window.spans] for window in windows]


def test_rerank_features_are_the_ranker_log_odds_the_bounded_reader_score_and_the_metadata_flag():
    rows = rerank_features(np.array([0.5, 0.9]), np.array([3.0, -np.inf]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(rows, [[0.0, 3.0, 0.0], [np.log(9.0), UNREAD, 1.0]])


def test_the_fitted_rerank_weighs_the_reader_about_as_much_as_the_ranker_and_trusts_a_stated_byline():
    ranker, reader, metadata = load_rerank().weights
    assert 0.5 < reader / ranker < 2.0
    assert metadata > 2 * reader


@pytest.mark.parametrize("question", ["Which journalist wrote this story?", "Who is the author of this article?"])
def test_a_byline_asked_for_is_quoted_though_the_reader_prefers_another_sentence(
        tmp_path, index_dir, fake_embedder, monkeypatch, question):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "housing.txt").write_text(STORY, encoding="utf-8")
    monkeypatch.setattr("qa.engine.shipped_reader", lambda: KeenReader("wrote to residents", 4.0))
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    answer = bot.answer(question)
    assert answer.quotes[0].text == "By Priya Nandakumar"
