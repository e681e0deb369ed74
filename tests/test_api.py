"""The JSON API in-process: the reply contract, every kind of bad input, login, a full queue."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from qa.api import FAILED, MAX_BODY_BYTES, create_app
from qa.live import LiveEngine
from qa.records import Quote

MAYOR = [{"role": "user", "content": "Who is the mayor?"}, {"role": "assistant", "content": "Jane Porter."}]


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BAD_REQUESTS = [  # (body, extra headers, status, words the error message holds)
    pytest.param(b'{"question": "Who is the mayor?"', {}, 422, "not valid JSON", id="malformed JSON"),
    pytest.param(b"", {}, 422, "JSON object", id="empty body"),
    pytest.param(b'["Who is the mayor?"]', {}, 422, "JSON object", id="body not an object"),
    pytest.param(b"question=Who+is+the+mayor%3F", FORM, 422, "Content-Type: application/json", id="form body"),
    pytest.param(_json({}), {}, 422, "question: Field required", id="no question"),
    pytest.param(_json({"question": 42}), {}, 422, "question: Input should be a valid string", id="number"),
    pytest.param(_json({"question": None}), {}, 422, "question", id="null question"),
    pytest.param(_json({"question": ""}), {}, 400, "The question is empty", id="empty question"),
    pytest.param(_json({"question": " \t "}), {}, 400, "The question is empty", id="blank question"),
    pytest.param(_json({"question": "?!…"}), {}, 400, "no words", id="no words"),
    pytest.param(_json({"question": "Who?", "history": "Who is the mayor?"}), {}, 422, "history", id="history a string"),
    pytest.param(_json({"question": "Who?", "history": ["Who is the mayor?"]}), {}, 422, "history[0]", id="history of strings"),
    pytest.param(_json({"question": "Who?", "history": [{"role": "system", "content": "x"}]}), {}, 422,
                 "history[0].role", id="history role"),
    pytest.param(_json({"question": "Who?", "history": [{"role": "user", "content": 5}]}), {}, 422,
                 "history[0].content", id="history content"),
    pytest.param(_json({"question": "Who?", "top_k": 0}), {}, 422, "top_k", id="top_k zero"),
    pytest.param(_json({"question": "Who?", "top_k": "3"}), {}, 422, "top_k", id="top_k a string"),
    pytest.param(_json({"question": "Who?", "k": 3}), {}, 422, "k: Extra inputs are not permitted", id="unknown field"),
]
OVER_CAP = b'{"question": "' + b"a" * MAX_BODY_BYTES + b'"}'


@pytest.fixture
def client(fake_bot):
    with TestClient(create_app(LiveEngine(fake_bot))) as client:
        yield client


def post(client: TestClient, body: dict | bytes, **kwargs):
    content = _json(body) if isinstance(body, dict) else body
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.post("/api/answer", content=content, headers=headers, **kwargs)


def as_json(reply) -> dict:
    """An Answer as a JSON client receives it (tuples become lists)."""
    return json.loads(json.dumps(reply.to_json()))


def outcome(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def assert_plain_error(reply: tuple[int, dict], status: int, words: str = "") -> None:
    """`reply` (status, parsed body) is `{"error": "<message holding words>"}` with `status`."""
    got, body = reply
    assert got == status
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    assert words in body["error"] and "Traceback" not in body["error"]


def test_reply_is_the_engines_answer_as_qa_ask_json_prints_it(client, fake_bot):
    response = post(client, {"question": "How much did the bridge cost?"})
    assert response.status_code == 200
    reply = response.json()
    assert reply == as_json(fake_bot.answer("How much did the bridge cost?"))
    assert reply["answered"] and "£4.2m" in reply["quotes"][0]["text"]
    assert {"text", "source", "title", "start", "end", "score", "highlight", "speaker", "also_in"} <= set(reply["quotes"][0])


def test_history_and_top_k_reach_the_engine(client, fake_bot):
    question = "What did she say?"
    assert fake_bot.answer(question, MAYOR).to_json() != fake_bot.answer(question).to_json()
    assert post(client, {"question": question, "history": MAYOR}).json() == as_json(fake_bot.answer(question, MAYOR))
    assert len(fake_bot.answer(question).quotes) > 1
    assert post(client, {"question": question, "top_k": 1}).json() == as_json(fake_bot.answer(question, top_k=1))


def test_a_question_over_a_thousand_characters_is_cut_with_a_note(client):
    response = post(client, {"question": "How much did the bridge cost? " * 100})
    assert response.status_code == 200
    assert response.json()["notes"] == ["The question was 3,000 characters long; only its first 998 were used."]


@pytest.mark.parametrize(("body", "headers", "status", "words"), BAD_REQUESTS)
def test_bad_input_gets_a_plain_json_error(client, body, headers, status, words):
    assert_plain_error(outcome(post(client, body, headers=headers)), status, words)


def test_a_body_over_the_cap_is_refused_whether_its_length_is_declared_or_not(client):
    assert_plain_error(outcome(post(client, OVER_CAP)), 413, f"{MAX_BODY_BYTES:,} bytes")
    chunks = (OVER_CAP[i:i + 65536] for i in range(0, len(OVER_CAP), 65536))
    assert_plain_error(outcome(post(client, chunks)), 413, f"{MAX_BODY_BYTES:,} bytes")


def test_login_is_required_when_the_server_has_one(fake_bot):
    with TestClient(create_app(LiveEngine(fake_bot), auth=("reader", "s3cret"))) as client:
        question = {"question": "How much did the bridge cost?"}
        missing = post(client, question)
        assert_plain_error(outcome(missing), 401, "--auth")
        assert missing.headers["www-authenticate"].startswith("Basic")
        assert_plain_error(outcome(post(client, question, auth=("reader", "wrong"))), 401)
        assert_plain_error(outcome(post(client, question, auth=("someone", "s3cret"))), 401)
        assert post(client, question, auth=("reader", "s3cret")).status_code == 200


def test_a_full_queue_answers_429_and_the_waiting_request_still_gets_its_answer(fake_bot, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    answer = fake_bot.answer

    def slow_answer(*args, **kwargs):
        entered.set()
        release.wait(30)
        return answer(*args, **kwargs)

    monkeypatch.setattr(fake_bot, "answer", slow_answer)
    with TestClient(create_app(LiveEngine(fake_bot), concurrency=1, queue_size=0)) as client:
        first = {}
        worker = threading.Thread(target=lambda: first.update(
            response=post(client, {"question": "How much did the bridge cost?"})))
        worker.start()
        assert entered.wait(30)
        assert_plain_error(outcome(post(client, {"question": "Who is the mayor?"})), 429, "busy")
        release.set()
        worker.join(30)
    assert first["response"].status_code == 200


def test_an_engine_failure_is_a_plain_500_without_the_traceback(fake_bot, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(fake_bot, "answer", broken)
    with TestClient(create_app(LiveEngine(fake_bot)), raise_server_exceptions=False) as client:
        response = post(client, {"question": "How much did the bridge cost?"})
    assert response.status_code == 500
    assert response.json() == {"error": FAILED}
    assert "secret internals" not in response.text


def test_each_answer_hands_its_freed_memory_back_whether_it_succeeds_or_not(client, monkeypatch):
    released = []
    monkeypatch.setattr("qa.api.release_freed", lambda: released.append(True))
    assert post(client, {"question": "How much did the bridge cost?"}).status_code == 200
    assert post(client, {"question": "?!…"}).status_code == 400
    assert released == [True, True]


def test_the_openapi_schema_describes_the_request_and_the_reply(client, fake_bot):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/answer"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerReply")
    models = schema["components"]["schemas"]
    assert set(models["AnswerRequest"]["properties"]) == {"question", "history", "top_k"}
    assert models["AnswerRequest"]["required"] == ["question"]
    assert set(models["AnswerReply"]["properties"]) == set(fake_bot.answer("Who is the mayor?").to_json())
    assert set(models["QuoteReply"]["properties"]) == set(Quote.__dataclass_fields__)
    assert client.get("/docs").status_code == 200
