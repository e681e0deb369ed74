"""Bad input and bad state: each ends in a clear message or a safe answer, and nothing is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import QA, QuestionError
from qa.cli import build_parser
from qa.index import CorpusIndex, corpus_key
from qa.loader import MAX_FILE_BYTES, load_corpus

from conftest import NEWS, REPO

TESTS = REPO / "tests"


@pytest.mark.parametrize("question", ["😀🎉🙂", "…—?!", "\u200b\u200b"])
def test_questions_without_words_are_refused_with_a_message(fake_bot, question):
    with pytest.raises(QuestionError, match="question"):
        fake_bot.answer(question)


@pytest.mark.parametrize("question", [
    "مرحبا how much did the bridge cost? שלום",
    "¿Cuánto costó el puente?",
    "橋の費用はいくらでしたか",
    "\u202eHow much did the bridge cost?\u202c",
    "<script>alert(1)</script> How much did the bridge cost?",
])
def test_mixed_scripts_other_languages_and_markup_get_an_answer_or_an_abstention(fake_bot, question):
    reply = fake_bot.answer(question)
    assert reply.text and 0.0 <= reply.confidence <= 1.0
    assert "<script>" not in reply.text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_answer_never_raises_anything_but_question_error(fake_bot, question):
    # The engine is read-only after construction, so sharing one across examples is sound.
    try:
        reply = fake_bot.answer(question)
    except QuestionError:
        return
    for quote in reply.quotes:
        assert fake_bot.documents[quote.source].text[quote.start:quote.end] == quote.text
        if quote.highlight:
            assert quote.start <= quote.highlight[0] < quote.highlight[1] <= quote.end


def test_oversized_file_is_skipped_with_a_warning_without_reading_it(tmp_path):
    (tmp_path / "huge.txt").write_bytes(b"word " * (MAX_FILE_BYTES // 5 + 1000))
    (tmp_path / "small.txt").write_text("A small story.", encoding="utf-8")
    started = time.perf_counter()
    corpus = load_corpus(tmp_path)
    assert time.perf_counter() - started < 5
    assert list(corpus.documents) == ["small.txt"]
    assert any("huge.txt" in line and "limit" in line for line in corpus.skipped)


def test_file_that_vanishes_while_loading_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "here.txt").write_text("Still here.", encoding="utf-8")
    import qa.loader as loader

    listed = loader.corpus_files(tmp_path) + [tmp_path / "gone.txt"]
    monkeypatch.setattr(loader, "corpus_files", lambda root: listed)
    corpus = load_corpus(tmp_path)
    assert list(corpus.documents) == ["here.txt"]
    assert any("gone.txt" in line and "disappeared" in line for line in corpus.skipped)


def test_warnings_about_skipped_files_reach_the_engine(tmp_path, index_dir, fake_embedder):
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "story.txt").write_text(NEWS, encoding="utf-8")
    bot = QA.from_directory(tmp_path, index_dir=index_dir, embedder=fake_embedder)
    assert any("empty.md" in warning for warning in bot.warnings)


BUILDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import FakeEmbedder
    from qa import QA

    class SlowEmbedder(FakeEmbedder):
        def encode(self, texts, *, progress=None):
            time.sleep({delay})
            return super().encode(texts, progress=progress)

    bot = QA.from_directory({corpus!r}, index_dir={index!r}, embedder=SlowEmbedder())
    print("built" if bot.built else "loaded", len(bot.index.chunks), flush=True)
""")


def builder(corpus: Path, index: Path, delay: float) -> subprocess.Popen:
    code = BUILDER.format(tests=str(TESTS), corpus=str(corpus), index=str(index), delay=delay)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_building_the_same_index_both_end_with_a_good_one(news_corpus, index_dir):
    first, second = builder(news_corpus, index_dir, 1.0), builder(news_corpus, index_dir, 1.0)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    words = sorted(out.split()[0] for out, _ in outputs)
    assert words == ["built", "loaded"]
    assert len({out.split()[1] for out, _ in outputs}) == 1


def test_a_build_killed_midway_leaves_no_index_that_could_be_served(news_corpus, index_dir, fake_embedder):
    process = builder(news_corpus, index_dir, 30.0)
    time.sleep(3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    documents = list(load_corpus(news_corpus).documents.values())
    key = corpus_key(documents, fake_embedder.fingerprint)
    assert CorpusIndex.load(index_dir / key[:24], key) is None
    bot = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert bot.built and bot.index.chunks
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".")]


def test_server_binds_to_loopback_and_never_shares_by_default():
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
    assert args.share == "never"


@pytest.mark.parametrize("value", ["nopassword", ":x", "user:"])
def test_bad_auth_option_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["serve", "--auth", value])
    assert stop.value.code == 2
    assert "USER:PASSWORD" in capsys.readouterr().err
