"""The chat's logic without a browser: respond(), history shapes, escaping."""

import gradio as gr
import pytest

from conftest import NEWS
from qa import QA, render
from qa.app import build_demo, corpus_heading, example_questions, make_respond, normalize_history
from qa.live import LiveEngine
from qa.question import CANNOT_QUOTE


@pytest.fixture
def respond(fake_bot):
    return make_respond(LiveEngine(fake_bot))


def contents(messages):
    return [m.content for m in messages]


def test_answer_then_one_source_block_per_quote(respond, fake_bot):
    messages = respond("How much did the bridge cost?", [])
    reply = fake_bot.answer("How much did the bridge cost?")
    assert messages[0].metadata in (None, {}) or not messages[0].metadata.get("title")
    blocks = messages[1:]
    if reply.answered:
        assert len(blocks) == len(reply.quotes)
        assert blocks[0].metadata["title"].startswith("Source 1 — Harbour town opens new bridge")
    assert "£4.2m" in blocks[0].content
    assert "bridge.txt" in blocks[0].content and "characters" in blocks[0].content


def test_abstention_shows_the_closest_passage_marked_as_such(respond, monkeypatch):
    monkeypatch.setattr("qa.engine.THRESHOLD", 1.01)  # every answer falls below it
    messages = respond("What is the boiling point of mercury in kelvin?", [])
    assert messages[0].content.startswith("The documents don't say.")
    assert messages[1].metadata["title"].startswith("Closest passage")


def test_a_request_for_a_poem_gets_one_plain_message_without_sources(respond):
    messages = respond("Write me a poem about the harbour.", [])
    assert contents(messages) == [CANNOT_QUOTE]


def test_tell_me_more_in_the_chat_goes_on_from_the_chat_s_own_last_answer(respond, fake_bot):
    question = "Who is the mayor?"
    history = [{"role": "user", "content": question}, *respond(question, [])]
    messages = respond("Tell me more", history)
    expected = fake_bot.answer("Tell me more", [{"role": "user", "content": question},
                                               {"role": "assistant", "content": fake_bot.answer(question).text}])
    assert expected.answered and expected.text in messages[0].content
    assert messages[0].content.startswith("*Goes on from the last quote")


@pytest.mark.parametrize("history", [
    [{"role": "user", "content": "Who is the mayor?"},
     {"role": "assistant", "content": "Jane Porter."},
     {"role": "assistant", "content": "quote", "metadata": {"title": "Source 1 — x"}}],
    [{"role": "user", "content": [{"type": "text", "text": "Who is the mayor?"}]},
     {"role": "assistant", "content": [{"type": "text", "text": "Jane Porter."}]}],
    [["Who is the mayor?", "Jane Porter."]],
    [gr.ChatMessage(role="user", content="Who is the mayor?"), gr.ChatMessage(role="assistant", content="Jane Porter."),
     gr.ChatMessage(role="assistant", content="quote", metadata={"title": "Source 1 — x"})],
])
def test_history_shapes_normalise_to_engine_messages(history, respond):
    assert normalize_history(history) == [
        {"role": "user", "content": "Who is the mayor?"},
        {"role": "assistant", "content": "Jane Porter."},
    ]
    assert respond("How much did the bridge cost?", history)


def test_bad_questions_get_a_plain_reply_not_an_exception(respond):
    for message in ["", "   ", "?!?!", None]:
        (only,) = respond(message, [])
        assert only.content.startswith("⚠️") and "question" in only.content


def test_unexpected_failure_becomes_a_message(fake_bot, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fake_bot, "answer", broken)
    (only,) = make_respond(LiveEngine(fake_bot))("Anything?", [])
    assert "went wrong" in only.content and "boom" not in only.content


def test_each_chat_answer_hands_its_freed_memory_back_whether_it_succeeds_or_not(respond, monkeypatch):
    released = []
    monkeypatch.setattr("qa.app.release_freed", lambda: released.append(True))
    assert not respond("How much did the bridge cost?", [])[0].content.startswith("⚠️")
    assert respond("?!?!", [])[0].content.startswith("⚠️")
    assert released == [True, True]


def test_html_in_documents_and_questions_is_escaped(tmp_path, index_dir, fake_embedder):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "x.txt").write_text("The payload was <img src=x onerror=alert(1)> in the <script>alert(2)</script> page.",
                                  encoding="utf-8")
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    messages = make_respond(LiveEngine(bot))("What was the <b>payload</b>?", [])
    for message in messages:
        assert "<img" not in message.content and "<script>" not in message.content
    assert any("&lt;img src=x onerror=alert(1)&gt;" in m.content for m in messages)


def test_heading_and_examples_come_from_the_corpus(fake_bot):
    title, description = corpus_heading(fake_bot)
    assert title == "Ask about: Harbour town opens new bridge"
    assert example_questions(fake_bot)[0] == "What did Jane Porter say?"


def test_demo_builds_with_a_named_api_endpoint(fake_bot):
    demo = build_demo(LiveEngine(fake_bot))
    assert isinstance(demo, gr.Blocks)
    assert "/ask" in {f"/{d.api_name}" for d in demo.fns.values() if d.api_name}


@pytest.mark.parametrize(("name", "span"), [
    ("my_notes.txt", "`my_notes.txt`"),
    ("a&b <i>.txt", "`a&b <i>.txt`"),
    ("odd`name``.txt", "``` odd`name``.txt ```"),
])
def test_file_names_are_shown_as_they_are_in_a_code_span(name, span):
    assert render.code(name) == span


def test_a_source_block_names_the_file_without_markdown_escapes(tmp_path, index_dir, fake_embedder):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "harbour_news.txt").write_text(NEWS, encoding="utf-8")
    bot = QA.from_directory(folder, index_dir=index_dir, embedder=fake_embedder)
    messages = make_respond(LiveEngine(bot))("How much did the bridge cost?", [])
    assert "`harbour_news.txt`" in messages[0].content and "`harbour_news.txt` ·" in messages[1].content
