"""The Milvus store with the real model: the bundled article's dev questions get the same first
quote from a store as from the folder, and two `qa serve --store` replicas, started after the
build by another process, answer the JSON API and the chat alike, under 20 clients at once.
Slow: real model, real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa import QA

from conftest import BUNDLED
from serving import LiteServer, connect, post_answer, running_qa_serve
from test_end_to_end import DEV_QUESTIONS

pytestmark = pytest.mark.slow

CLIENTS = 20
QUESTIONS_EACH = 5
QUESTIONS = [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def folder_bot(tmp_path_factory):
    return QA.from_directory(BUNDLED, index_dir=tmp_path_factory.mktemp("idx"))


@pytest.fixture(scope="module")
def served_store(tmp_path_factory):
    """A Milvus Lite server holding the bundled article, written by `qa index --store`."""
    server = LiteServer(tmp_path_factory.mktemp("milvus"))
    try:
        written = subprocess.run([sys.executable, "-m", "qa.cli", "index", str(BUNDLED), "--store", server.uri],
                                 capture_output=True, text=True, timeout=300)
        assert written.returncode == 0, written.stderr
        yield server.uri
    finally:
        server.stop()


def first_quote(reply) -> tuple:
    quote = reply.quotes[0] if reply.quotes else None
    return reply.answered, quote and (quote.source, quote.start, quote.end, quote.text)


def test_dev_questions_get_the_folders_first_quote_from_a_store_file(tmp_path, folder_bot):
    uri = str(tmp_path / "dev.db")
    models = {"embedder": folder_bot.embedder, "reader": folder_bot.reranker.reader}
    QA.from_directory(BUNDLED, store=uri, **models)
    replica = QA.from_store(uri, **models)
    assert QUESTIONS
    for question in QUESTIONS:
        assert first_quote(replica.answer(question)) == first_quote(folder_bot.answer(question)), question


def test_two_replicas_answer_the_api_and_the_chat_alike_under_load(served_store, folder_bot):
    from gradio_client import Client

    with running_qa_serve("--store", served_store) as first, running_qa_serve("--store", served_store) as second:
        replies = {}
        for question in QUESTIONS:
            status, reply = post_answer(connect(first), {"question": question})
            assert status == 200 and post_answer(connect(second), {"question": question}) == (200, reply)
            assert [quote["text"] for quote in reply["quotes"][:1]] == \
                [quote.text for quote in folder_bot.answer(question).quotes[:1]]
            replies[question] = reply
        chats = [Client(url, verbose=False) for url in (first, second)]
        for question in QUESTIONS[:5]:
            shown = [chat.predict(message=question, api_name="/ask")[0]["content"] for chat in chats]
            assert shown[0] == shown[1]

        def client(number: int) -> list[tuple[int, dict, str]]:
            url = (first, second)[number % 2]
            connection = connect(url)
            asked = [QUESTIONS[(number + turn) % len(QUESTIONS)] for turn in range(QUESTIONS_EACH)]
            return [(*post_answer(connection, {"question": question}), question) for question in asked]

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [result for batch in pool.map(client, range(CLIENTS)) for result in batch]
    assert len(results) == CLIENTS * QUESTIONS_EACH
    assert [status for status, _, _ in results if status != 200] == []
    assert all(reply == replies[question] for _, reply, question in results)
