"""Rendering: an answer's quotes as the markdown reply shown in the chat and returned by the API.

Document text is escaped so that markup inside a document (HTML tags, markdown emphasis) shows
as the characters it is made of. What it leaves out: the plain-text layout of the CLI, which
formats quotes itself.
"""

from __future__ import annotations

import html
import re

from qa.records import Document, Quote

NO_ANSWER = "The documents don't say."
ALSO_IN = "the same words, or nearly, are also in"
"""Said of a quote whose story has copies in other files."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_ESCAPED = re.compile(r"\\(.)")
_QUOTED_LINE = re.compile(r"^>\s?(.*)$", re.MULTILINE)


def escape(text: str) -> str:
    """Text safe to put inside markdown: HTML escaped, markdown punctuation backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def blockquote(quote: Quote) -> str:
    """The quote as a markdown blockquote, its highlight in bold."""
    text = quote.marked("**", "**", escape)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def quoted_words(reply: str) -> str:
    """The words of a reply's blockquotes as plain text: `blockquote` and `escape` undone."""
    quoted = " ".join(_QUOTED_LINE.findall(reply))
    return html.unescape(_ESCAPED.sub(r"\1", quoted.replace("**", ""))).strip()


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


def no_answer(closest: Quote | None, document: Document | None) -> str:
    reply = NO_ANSWER
    if closest is None or document is None:
        return reply
    return "\n\n".join([
        reply + " The closest passage I found, which may be related:",
        blockquote(closest),
        source_line(closest, document),
    ])
