"""Rendering: an answer's quotes as the markdown reply shown in the chat and returned by the API,
and that markdown read back.

Document text is escaped so that markup inside a document (HTML tags, markdown emphasis) shows
as the characters it is made of. A client that keeps only the text of a conversation (the chat's
history, the JSON API's `history`) has its messages read back into `Turn` records by
`read_turns`, the one place rendered replies are parsed: the quoted words, and the source,
offsets and speaker of the source line. What it leaves out: the plain-text layout of the CLI,
which formats quotes itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace

from qa.errors import QuestionError
from qa.records import Document, Quote, Quoted, Turn

Message = dict[str, str]
"""A plain-text chat message: {"role": "user" | "assistant", "content": str}."""

NO_ANSWER = "The documents don't say."
ALSO_IN = "the same words, or nearly, are also in"
"""Said of a quote whose story has copies in other files."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_ESCAPED = re.compile(r"\\(.)")
_QUOTED_LINE = re.compile(r"^>\s?(.*)$", re.MULTILINE)
_HIGHLIGHT = re.compile(r"\*\*(.+?)\*\*")
"""The bold words `blockquote` marks as the answer."""
_SOURCE_LINE = re.compile(r"^— (?:(?P<speaker>.+?), in )?\*.*\* · (?P<fence>`+) ?(?P<source>.+?) ?(?P=fence), "
                          r"(?:p\. \d+, )?characters (?P<start>\d+)–(?P<end>\d+)", re.MULTILINE)
"""The line `source_line` writes."""


def escape(text: str) -> str:
    """Text safe to put inside markdown: HTML escaped, markdown punctuation backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def blockquote(quote: Quote) -> str:
    """The quote as a markdown blockquote, its highlight in bold."""
    text = quote.marked("**", "**", escape)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def _unescaped(text: str) -> str:
    """`escape` undone."""
    return html.unescape(_ESCAPED.sub(r"\1", text))


def _quoted_words(reply: str) -> tuple[str, str | None]:
    """The words of a reply's blockquotes as plain text (`blockquote` and `escape` undone), and
    the words it marked in bold (None without any)."""
    marked = " ".join(_QUOTED_LINE.findall(reply))
    bold = _HIGHLIGHT.search(marked)
    return _unescaped(marked.replace("**", "")).strip(), _unescaped(bold.group(1)) if bold else None


def code(text: str) -> str:
    """`text` as a markdown code span, shown exactly as it is (a file name such as `my_notes.txt`):
    nothing inside a span is read as markup, and its fence is one backtick longer than any run
    of backticks in the text."""
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def place(quote: Quote) -> str:
    """Where the quote sits in its document: "p. 2, characters 812–903" (page only for a
    document with pages). Plain text, safe in markdown as it is."""
    page = f"p. {quote.page}, " if quote.page else ""
    return f"{page}characters {quote.start}–{quote.end}"


def source_line(quote: Quote, document: Document) -> str:
    said = f"{escape(quote.speaker)}, in " if quote.speaker else ""
    copies = f" ({ALSO_IN} {', '.join(map(code, quote.also_in))})" if quote.also_in else ""
    return f"— {said}*{escape(document.label())}* · {code(quote.source)}, {place(quote)}{copies}"


def answer(best: Quote, document: Document) -> str:
    return "\n\n".join([blockquote(best), source_line(best, document)])


def story_ends(document: Document) -> str:
    """The reply to "Tell me more" when the last quote ends its document."""
    return f"That is where *{escape(document.label())}* ends. Ask me something else the documents may say."


def no_answer(closest: Quote | None, document: Document | None) -> str:
    reply = NO_ANSWER
    if closest is None or document is None:
        return reply
    return "\n\n".join([
        reply + " The closest passage I found, which may be related:",
        blockquote(closest),
        source_line(closest, document),
    ])


def read_turns(messages: Sequence[Message]) -> tuple[Turn, ...]:
    """A plain-text conversation, oldest first, as turns: each user message asks a question, and
    each assistant message is the reply to the question before it, its quote read back from what
    `answer` wrote (notes before it are passed over; a reply that says `NO_ANSWER` quoted none)."""
    turns: list[Turn] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant") \
                or not isinstance(message.get("content"), str):
            raise QuestionError('history must be a list of {"role": "user"|"assistant", "content": str} messages '
                                "(or of qa.Turn records).")
        if message["role"] == "user":
            turns.append(Turn(message["content"], replied=False))
        elif turns and not turns[-1].replied:
            turns[-1] = replace(turns[-1], replied=True, quoted=_quoted(message["content"]))
        else:
            turns.append(Turn("", quoted=_quoted(message["content"])))
    return tuple(turns)


def _quoted(reply: str) -> Quoted | None:
    """What a rendered reply quoted as its answer: None when it abstained or quoted nothing."""
    words, highlight = ("", None) if NO_ANSWER in reply else _quoted_words(reply)
    if not words:
        return None
    line = _SOURCE_LINE.search(reply)
    if not line:
        return Quoted(words, highlight=highlight)
    speaker = _unescaped(line["speaker"]) if line["speaker"] else None
    return Quoted(words, source=line["source"], start=int(line["start"]), end=int(line["end"]), speaker=speaker,
                  highlight=highlight)
