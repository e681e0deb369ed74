"""The HTTP server under load, with a login, and with slow or greedy clients, through the chat's
endpoint (gradio_client) and the JSON API. Slow: real server.

All traffic goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.question import read_question
from serving import bundled_copy, connect, post_answer, running_server
from test_api import BAD_REQUESTS, OVER_CAP, assert_plain_error

pytestmark = pytest.mark.slow

USERS = 20
QUESTIONS_EACH = 10
QUESTIONS = [  # each names something, so none is read as a follow-up of the client's earlier turns
    "Who chairs the board of Azercosmos?", "When was Azercosmos established?",
    "What did Azercosmos and Voyager Space sign?", "What can space technology transform, says Voyager?",
    "How are signals from Azerspace satellites delivered?", "Who reported the news from Azerbaijan?",
    "What will be set up in Azerbaijan?", "Which opportunities will Voyager Space and Azercosmos focus on?",
    "What is the capital of France?", "How many people work at Voyager Space?",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return bundled_copy(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def server_index(tmp_path_factory):
    return tmp_path_factory.mktemp("idx")


@pytest.fixture(scope="module")
def server(corpus, server_index):
    with running_server(corpus, server_index) as url:
        yield url


def reply_text(client, question: str) -> str:
    return client.predict(message=question, api_name="/ask")[0]["content"]


def test_twenty_concurrent_users_get_the_single_user_answers(server):
    from gradio_client import Client

    solo = Client(server, verbose=False)
    expected = {question: reply_text(solo, question) for question in QUESTIONS}

    def user(number: int) -> list[tuple[str, str, float]]:
        client = Client(server, verbose=False)
        asked = []
        for turn in range(QUESTIONS_EACH):
            question = QUESTIONS[(number + turn) % len(QUESTIONS)]
            started = time.perf_counter()
            asked.append((question, reply_text(client, question), time.perf_counter() - started))
        return asked

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        results = [item for batch in pool.map(user, range(USERS), timeout=600) for item in batch]
    elapsed = time.perf_counter() - started
    assert len(results) == USERS * QUESTIONS_EACH
    mismatched = [question for question, text, _ in results if text != expected[question]]
    assert not mismatched
    latencies = sorted(seconds for _, _, seconds in results)
    print(f"{len(results)} answers in {elapsed:.1f} s ({len(results) / elapsed:.1f}/s), "
          f"p50 {latencies[len(latencies) // 2]:.2f} s, p95 {latencies[int(len(latencies) * 0.95)]:.2f} s")


def test_a_slow_client_does_not_stall_the_others(server):
    from gradio_client import Client

    host, port = server.split("//")[1].strip("/").split(":")
    stalled = socket.create_connection((host, int(port)), timeout=5)
    try:
        stalled.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
        started = time.perf_counter()
        assert reply_text(Client(server, verbose=False), "Who chairs the board?")
        assert time.perf_counter() - started < 30
    finally:
        stalled.close()


def test_a_huge_question_over_http_is_shortened_with_a_note(server):
    from gradio_client import Client

    text = reply_text(Client(server, verbose=False), "Who chairs the board? " * 10_000)
    assert "220,000 characters long; only its first" in text


def test_login_protects_page_and_api(corpus, tmp_path_factory):
    from gradio_client import Client

    with running_server(corpus, tmp_path_factory.mktemp("idx"), "--auth", "reader:s3cret") as url:
        with pytest.raises(Exception):
            Client(url, verbose=False).predict(message="Who chairs the board?", api_name="/ask")
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        assert reply_text(client, "Who chairs the board?")
        question = {"question": "Who chairs the board?"}
        assert_plain_error(post_answer(connect(url), question), 401)
        wrong = base64.b64encode(b"reader:guess").decode()
        assert_plain_error(post_answer(connect(url), question, {"Authorization": f"Basic {wrong}"}), 401)
        right = base64.b64encode(b"reader:s3cret").decode()
        status, reply = post_answer(connect(url), question, {"Authorization": f"Basic {right}"})
        assert status == 200 and reply["quotes"]


def test_json_api_replies_as_qa_ask_json_does(server, corpus, server_index):
    question = "Who chairs the board of Azercosmos?"
    status, reply = post_answer(connect(server), {"question": question})
    printed = subprocess.run([sys.executable, "-m", "qa.cli", "ask", question, "--corpus", str(corpus), "--json"],
                             env={**os.environ, "QA_INDEX_DIR": str(server_index)}, capture_output=True,
                             text=True, check=True, timeout=300).stdout
    assert status == 200
    assert reply == json.loads(printed)
    assert reply["quotes"] and set(reply) == {"question", "answered", "confidence", "text", "quotes", "notes"}


def test_json_api_cuts_a_question_over_a_thousand_characters_with_a_note(server):
    question = "Who chairs the board? " * 100
    status, reply = post_answer(connect(server), {"question": question})
    assert status == 200
    assert "only its first" in reply["notes"][0] and reply["notes"][0] == read_question(question).notes[0]


@pytest.mark.parametrize(("body", "headers", "status", "words"), BAD_REQUESTS)
def test_bad_input_over_http_gets_a_plain_json_error(server, body, headers, status, words):
    assert_plain_error(post_answer(connect(server), body, headers), status, words)


def test_a_body_over_the_cap_gets_413_over_http(server):
    assert_plain_error(post_answer(connect(server), OVER_CAP), 413, "bytes")


def test_twenty_concurrent_json_clients_get_the_single_client_answers_without_errors(server):
    def gist(reply: dict) -> tuple:
        """What the answer says and quotes (scores aside)."""
        return reply["answered"], reply["text"], [(q["source"], q["start"], q["end"]) for q in reply["quotes"]]

    solo = connect(server)
    expected = {question: gist(post_answer(solo, {"question": question})[1]) for question in QUESTIONS}

    def user(number: int) -> list[tuple[str, int, dict]]:
        connection = connect(server)
        questions = [QUESTIONS[(number + turn) % len(QUESTIONS)] for turn in range(QUESTIONS_EACH)]
        return [(question, *post_answer(connection, {"question": question})) for question in questions]

    with ThreadPoolExecutor(max_workers=USERS) as pool:
        results = [item for batch in pool.map(user, range(USERS), timeout=600) for item in batch]
    assert len(results) == USERS * QUESTIONS_EACH
    assert [status for _, status, _ in results if status != 200] == []
    assert [question for question, _, reply in results if gist(reply) != expected[question]] == []
