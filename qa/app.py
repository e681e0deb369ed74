"""Chat: a Gradio ChatInterface over the engine, with each quoted source in its own block.

`respond(message, history)` is the whole of the chat's logic: it hands the question and the
conversation to `QA.answer`, the conversation normalised to plain-text messages (source blocks
dropped) and read back into turns by `render.read_turns` (the chat's history holds only what
was shown), and renders the reply plus one collapsible block per quote (the quote, the passage
around it, file and offsets). Every piece of document or user text is escaped before it
reaches the page. `build_demo(live)` makes the Blocks; `qa serve` mounts them on the JSON API's
app (`qa/api.py`) and runs that. When the server takes uploads (`live.uploads`), a file box under
the chat adds a document: `add_document` checks the login, shows "Indexing <name>…" and then
what was added or why not, and updates the heading; the engine is swapped by `qa.live`.
What it leaves out: streaming, and removing documents through the page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from qa import render
from qa.chunker import person_name
from qa.engine import QA
from qa.errors import QAError, UploadError
from qa.live import LiveEngine
from qa.loader import SUFFIXES
from qa.memory import release_freed
from qa.records import Answer, Quote
from qa.upload import MAX_UPLOAD_BYTES, safe_name

log = logging.getLogger(__name__)
API_NAME = "ask"
LOGIN_NEEDED = "Log in to add documents."


def _text_of(content: Any) -> str:
    """Message content as text, whatever shape Gradio sent it in."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text_of(part) for part in content if part is not None).strip()
    return ""


def normalize_history(history: Sequence[Any] | None) -> list[render.Message]:
    """Gradio's history (message dicts or ChatMessages, or [user, bot] pairs) as plain-text messages.

    Source blocks (messages with a metadata title) are dropped: they are display, not dialogue.
    """
    messages: list[render.Message] = []
    for item in history or ():
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs = [("user", item[0]), ("assistant", item[1])]
            messages.extend({"role": r, "content": _text_of(c)} for r, c in pairs if _text_of(c))
            continue
        role = getattr(item, "role", None) or (item.get("role") if isinstance(item, dict) else None)
        metadata = getattr(item, "metadata", None) or (item.get("metadata") if isinstance(item, dict) else None)
        content = getattr(item, "content", None) if not isinstance(item, dict) else item.get("content")
        if role not in ("user", "assistant") or (metadata and metadata.get("title")):
            continue
        text = _text_of(content)
        if text:
            messages.append({"role": role, "content": text})
    return messages


def source_block(number: int, quote: Quote, bot: QA, *, closest: bool = False) -> gr.ChatMessage:
    document = bot.documents[quote.source]
    label = "Closest passage" if closest else f"Source {number}"
    title = f"{label} — {document.label()}"
    before = document.text[quote.context_start:quote.start].strip()
    after = document.text[quote.end:quote.context_end].strip()
    lines = [quote.marked("**", "**", render.escape)]
    if quote.speaker:
        lines.append(f"— {render.escape(quote.speaker)}")
    if before or after:
        passage = " ".join(part for part in (render.escape(before), f"**{render.escape(quote.text)}**",
                                             render.escape(after)) if part)
        lines.append(f"*In context:* {passage}")
    lines.append(f"{render.code(quote.source)} · {render.place(quote)} · score {quote.score:.2f}")
    if quote.also_in:
        lines.append(f"{render.ALSO_IN.capitalize()} " + ", ".join(map(render.code, quote.also_in)))
    return gr.ChatMessage(role="assistant", content="\n\n".join(lines),
                          metadata={"title": title, "status": "done"})


def reply_messages(reply: Answer, bot: QA) -> list[gr.ChatMessage]:
    messages = [gr.ChatMessage(role="assistant", content=_with_notes(reply))]
    if reply.answered:
        messages += [source_block(n, quote, bot) for n, quote in enumerate(reply.quotes, 1)]
    elif reply.quotes:
        messages.append(source_block(1, reply.quotes[0], bot, closest=True))
    return messages


def _with_notes(reply: Answer) -> str:
    notes = "".join(f"*{render.escape(note)}*\n\n" for note in reply.notes)
    return notes + reply.text


def _failed(action: str) -> str:
    return f"⚠️ Something went wrong while {action}; the server log has the details."


def make_respond(live: LiveEngine):
    def respond(message: Any, history: list[Any]) -> list[gr.ChatMessage]:
        """Answer one chat message from the corpus; errors become a plain reply, not a traceback."""
        bot = live.current
        try:
            reply = bot.answer(_text_of(message), render.read_turns(normalize_history(history)))
        except QAError as error:
            return [gr.ChatMessage(role="assistant", content=f"⚠️ {render.escape(str(error))}")]
        except Exception:  # the page must get a reply whatever happens; the log gets the detail
            log.exception("answering failed")
            return [gr.ChatMessage(role="assistant", content=_failed("answering"))]
        finally:
            release_freed()
        return reply_messages(reply, bot)

    return respond


def make_add_document(live: LiveEngine, *, login_required: bool):
    def add_document(path: str, request: gr.Request, progress: gr.Progress = gr.Progress()):
        """Add the uploaded file to the corpus; yields (status line, heading, file box)."""
        name = Path(path).name
        try:
            if login_required and not request.username:
                raise UploadError(LOGIN_NEEDED)
            clean_name = safe_name(name)
            yield f"Indexing {render.escape(clean_name)}…", gr.skip(), gr.skip()
            added = live.add(Path(path), name=name, progress=lambda done, total: progress(
                (done, total), desc=f"Indexing {clean_name}", unit="chunks"))
        except QAError as error:
            yield f"⚠️ {render.escape(str(error))}", gr.skip(), None
        except Exception:  # the page must get a reply whatever happens; the log gets the detail
            log.exception("adding %s failed", name)
            yield _failed("adding the document"), gr.skip(), None
        else:
            sentences = f"{added.sentences} sentence{'' if added.sentences == 1 else 's'}"
            yield (f"Added {render.escape(added.source)}: {sentences}. Ask about it.",
                   heading(live.current), None)
        finally:
            Path(path).unlink(missing_ok=True)  # Gradio's copy of the upload; the corpus has its own

    return add_document


def corpus_heading(bot: QA) -> tuple[str, str]:
    documents = list(bot.documents.values())
    if len(documents) == 1:
        document = documents[0]
        byline = ", ".join(part for part in (document.outlet, document.author, document.date) if part)
        return (f"Ask about: {document.title}",
                f"Answers quote the article{f' ({byline})' if byline else ''} word for word, with where "
                "each quote sits. When it doesn't say, the bot says so.")
    return (f"Ask about {len(documents)} documents",
            "Answers quote the documents word for word, naming the file and where each quote sits. "
            "When they don't say, the bot says so.")


def example_questions(bot: QA, limit: int = 3) -> list[str]:
    """Questions built from the corpus itself: what its quoted speakers said, who its people are."""
    examples: list[str] = []
    names: list[str] = []
    for sentences in bot.sentences.values():
        for sentence in sentences:
            name = person_name(sentence.speaker)
            if name and name not in names and len(name.split()) >= 2:
                names.append(name)
    examples += [f"What did {name} say?" for name in names[:2]]
    examples += [f"Who is {name}?" for name in names[2:3]]
    first = next(iter(bot.documents.values()))
    if len(examples) < limit:
        examples.append(f"What is “{first.title}” about?")
    return examples[:limit]


def heading(bot: QA) -> str:
    """The page's heading, as markdown: what the chat answers about."""
    title, description = corpus_heading(bot)
    return (f"<h1 style='text-align: center; margin-bottom: 1rem'>{render.escape(title)}</h1>\n\n"
            f"{render.escape(description)}")


def build_demo(live: LiveEngine, *, concurrency_limit: int = 4, login_required: bool = False) -> gr.Blocks:
    """The chat page; with `live.uploads`, a file box to add documents (only for a logged-in
    user when `login_required`)."""
    bot = live.current
    with gr.Blocks(title=render.escape(corpus_heading(bot)[0]), analytics_enabled=False) as demo:
        header = gr.Markdown(heading(bot))
        gr.ChatInterface(
            fn=make_respond(live),
            chatbot=gr.Chatbot(height=560, sanitize_html=True, render_markdown=True, label="qa"),
            examples=example_questions(bot),
            cache_examples=False,
            api_name=API_NAME,
            concurrency_limit=concurrency_limit,
            analytics_enabled=False,
            flagging_mode="never",
        )
        if live.uploads is not None:
            with gr.Row():
                upload = gr.File(label=f"Add a document ({' '.join(SUFFIXES)}; up to "
                                       f"{MAX_UPLOAD_BYTES // 2**20} MiB)",
                                 file_types=list(SUFFIXES), type="filepath", height=140)
                status = gr.Markdown(elem_id="upload-status")
            upload.upload(make_add_document(live, login_required=login_required), inputs=upload,
                          outputs=[status, header, upload], show_progress_on=upload, concurrency_limit=1,
                          api_visibility="private")
    return demo
