"""JSON over HTTP: `POST /api/answer` beside the chat, in the same `qa serve` process.

`create_app(live, ...)` returns the FastAPI app that `qa serve` runs; the chat is mounted on it
at "/", and both answer with the engine `live` holds (`qa.live`). The route takes
`{"question", "history"?, "top_k"?}` and replies with the same JSON as `qa ask --json`
(`Answer.to_json`); the pydantic models below are what `/docs` describes. The history's
plain-text messages are read back into turns by `render.read_turns`.
Bad input gets a 4xx reply `{"error": "<plain message>"}`: a body that is not JSON or does not
fit the request model, or not sent as `application/json` (422), a question the engine refuses
(`QAError`, 400), a body over `MAX_BODY_BYTES` (413), missing or wrong credentials when `auth`
is set (401, HTTP Basic), and more than `queue_size` requests already waiting for one of the
`concurrency` answering threads (429). A Milvus store that fails to answer (`IndexStoreError`:
unreachable, gone, timed out) is a 503 naming it. Any other failure that is not the request's
fault is a 500 with a plain message; the traceback goes to the server log only.
What it leaves out: sessions (the client sends the history), streaming, rate limits, TLS.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import render
from qa.engine import DEFAULT_TOP_K, QA
from qa.errors import IndexStoreError, QAError
from qa.live import LiveEngine
from qa.memory import release_freed
from qa.question import MAX_QUESTION_CHARS
from qa.records import Answer, Turn

PATH = "/api/answer"
MAX_BODY_BYTES = 1_000_000
"""The same 1 MB cap as Gradio's uploads when the chat takes no documents."""
MAX_TOP_K = 10
TOO_LARGE = f"The body is over {MAX_BODY_BYTES:,} bytes."
FAILED = "Something went wrong while answering; the server log has the details."


class Message(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictStr


class AnswerRequest(BaseModel):
    """A question, with the conversation before it when it is a follow-up."""

    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(
        description=f"The question. Over {MAX_QUESTION_CHARS:,} characters it is cut at a word boundary "
                    "and the reply's notes say so.",
        examples=["Who chairs the board?"])
    history: list[Message] = Field(
        default_factory=list,
        description='The conversation so far, oldest first, for follow-ups such as "Who wrote it?".')
    top_k: StrictInt = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K, description="How many quotes to return at most.")


class QuoteReply(BaseModel):
    """Exact words from one document; `text == document[start:end]`."""

    text: str
    source: str = Field(description="The document's path inside the corpus folder.")
    title: str
    start: int = Field(description="Character offset of the quote in the document's text.")
    end: int
    score: float
    context: str = Field(description="The passage around the quote, for display; not part of it.")
    context_start: int
    context_end: int
    speaker: str | None = Field(description="Who is quoted, when the sentence is a quotation.")
    also_in: list[str] = Field(description="Other documents holding the same words, or nearly.")
    highlight: tuple[int, int] | None = Field(
        description="Document offsets of the words inside the quote that most likely answer, or null.")
    page: int | None = Field(
        None, description="The page the quote starts on, counted from 1, for a document with pages (PDF); "
                          "null otherwise.")


class AnswerReply(BaseModel):
    """The same JSON as `qa ask --json` prints."""

    question: str = Field(description="The question as it was searched (cleaned, perhaps shortened).")
    answered: bool = Field(description="False when the documents don't say.")
    confidence: float = Field(ge=0, le=1)
    text: str = Field(description="The reply in markdown, quoting the best source.")
    quotes: list[QuoteReply] = Field(description="Best first; when not answered, the closest passage.")
    notes: list[str] = Field(description="How the question was handled (shortened, respelled).")


class ErrorReply(BaseModel):
    """What was wrong with the request, in one plain sentence."""

    error: str


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    """The first validation error as one plain line, e.g. "history[0].role: Input should be ..."."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return f"The body is not valid JSON ({first['ctx']['error']})."
    place = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"][1:]).lstrip(".")
    if not place:
        return ('The body must be a JSON object such as {"question": "Who chairs the board?"}, '
                "sent with Content-Type: application/json.")
    return f"{place}: {first['msg']}."


class _DeclaredSizeCap:
    """A 413 JSON reply, before reading anything, to a body whose Content-Length is over the cap.

    Bodies sent without a length (chunked) are counted by the route's own `max_body_size`; a
    declared length is answered here because Starlette's limiter would reply in plain text."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                return await _error(413, TOO_LARGE)(scope, receive, send)
        await self.app(scope, receive, send)


def _login_check(auth: tuple[str, str]):
    expected_user, expected_password = (part.encode() for part in auth)
    basic = HTTPBasic(auto_error=False, realm="qa")

    def check(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:
        if credentials is None or not (
                secrets.compare_digest(credentials.username.encode(), expected_user)
                & secrets.compare_digest(credentials.password.encode(), expected_password)):
            raise HTTPException(401, "Log in with the server's --auth user and password (HTTP Basic).",
                                headers={"WWW-Authenticate": 'Basic realm="qa"'})

    return check


def _answered(bot: QA, question: str, history: list[Turn], *, top_k: int) -> Answer:
    """`bot`'s answer, its freed working memory handed back before the thread takes another."""
    try:
        return bot.answer(question, history, top_k=top_k)
    finally:
        release_freed()


def create_app(live: LiveEngine, *, auth: tuple[str, str] | None = None, concurrency: int = 4,
               queue_size: int = 64) -> FastAPI:
    """The API app: `POST /api/answer`, its OpenAPI page at `/docs`."""
    app = FastAPI(title="qa", summary="Answers quoted from the documents.", version="1",
                  docs_url="/docs", redoc_url=None)
    router = APIRouter(dependencies=[Depends(_login_check(auth))] if auth else [])
    limiter = anyio.CapacityLimiter(concurrency)

    @router.post(PATH, response_model=AnswerReply, max_body_size=MAX_BODY_BYTES,
                 responses={status: {"model": ErrorReply} for status in (400, 401, 413, 422, 429)})
    async def answer(request: AnswerRequest) -> dict:
        """Quote the sentences that answer the question, or say that the documents don't say."""
        if limiter.borrowed_tokens >= limiter.total_tokens and limiter.statistics().tasks_waiting >= queue_size:
            raise HTTPException(429, "The server is busy; try again in a moment.", headers={"Retry-After": "1"})
        history = render.read_turns([message.model_dump() for message in request.history])
        reply = await anyio.to_thread.run_sync(
            partial(_answered, live.current, request.question, history, top_k=request.top_k), limiter=limiter)
        return reply.to_json()

    app.include_router(router)
    app.add_middleware(_DeclaredSizeCap)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        message = TOO_LARGE if error.status_code == 413 else str(error.detail)
        return _error(error.status_code, message, error.headers)

    @app.exception_handler(QAError)
    async def refused(_: Request, error: QAError) -> JSONResponse:
        return _error(503 if isinstance(error, IndexStoreError) else 400, str(error))

    @app.exception_handler(Exception)
    async def failed(_: Request, __: Exception) -> JSONResponse:
        return _error(500, FAILED)  # Starlette re-raises the error after this reply: the log gets it

    return app
