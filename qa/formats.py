"""Formats: the text and metadata of HTML, PDF and DOCX files, for the loader.

One function per format takes a file's bytes and returns an `Extracted`: the text that quotes
are cut from, what the file says about itself (title, date, author, site) and, for a PDF, where
each page starts in the text. Each library (trafilatura, pypdf, python-docx) is imported by its
function, at the first file of its kind, so `import qa` does not pay for them; when it, or a
package it needs, is missing, that function raises `MissingPackage` naming the package to install.

- HTML: trafilatura's main text, one paragraph per block it keeps (paragraph, heading, list
  item, table row). Navigation, footers and cookie or consent banners are pruned first.
- PDF: each page's text in reading order; lines repeated at the top or bottom of most pages
  (running headers, footers, page numbers) are dropped, and wrapped lines are joined into
  paragraphs. An encrypted file is read when it opens without a password.
- DOCX: body paragraphs and table rows in document order (a row's cells joined by " | "); the
  core properties give title, author and created date.

A file that yields no text (encrypted, damaged, of another format, only images or boilerplate)
raises `UnreadableFile` with the reason. What it leaves out: OCR (a scanned PDF has no text to
give), PDF page labels (pages are counted from 1), de-hyphenation (a word split at a line end
keeps its hyphen), and the headers, footers, footnotes, comments, text boxes and nested tables
of a DOCX file.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from qa.errors import MissingPackage, UnreadableFile

PAGE_EDGE_LINES = 2
"""Lines at the top and at the bottom of a PDF page that may be a running header or footer."""
SHORT_LINE = 0.7
"""A PDF line shorter than this share of its page's longest line ends a paragraph (it is a
paragraph's last line, or a heading), unless the next line goes on in lower case."""
CELL_SEPARATOR = " | "
_BOILERPLATE = [
    "//nav", "//footer", "//*[@role='navigation']",
    "//body//*[(contains(@id, 'cookie') or contains(@class, 'cookie') or contains(@id, 'consent')"
    " or contains(@class, 'consent')) and not(.//article or .//main or .//h1)]",
]
"""Pruned before trafilatura reads a page. Its extraction leaves them out of an article anyway,
but on a page without one its fallback would return them as the text. A banner never holds the
article or the page's headline: an element named so that does is a wrapper, kept (so is
`<body class="cookies-accepted">`)."""
_DIGITS = re.compile(r"\d+")
_BEGINNINGS = (("PDF", b"%PDF-"), ("zip archive", b"PK\x03\x04"),
               ("Word/Excel 97-2003 file", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
"""How files of other kinds begin, to name what a file under a wrong extension really is."""
_PACKAGES = {"docx": "python-docx", "dateutil": "python-dateutil"}
"""The package to install for a module of the formats' libraries, or of the packages they need,
where pip names it otherwise than the module."""


@dataclass(frozen=True)
class Extracted:
    """A file's text and what the file says about itself."""

    text: str
    title: str | None = None
    date: str | None = None
    author: str | None = None
    outlet: str | None = None
    pages: tuple[int, ...] = ()
    """Where each page starts in `text`, for formats with pages (PDF)."""


@contextmanager
def _parsing(kind: str) -> Iterator[None]:
    """Whatever a parser raises on a damaged file, as `UnreadableFile`.

    pypdf, python-docx and lxml raise many kinds of exception on bad input (PdfReadError,
    ValueError, KeyError, BadZipFile, zlib and struct errors, XMLSyntaxError, RecursionError...),
    with no documented set to expect, and none is worth more than skipping the file. So all are
    caught, but only around the library calls: a mistake in this module still surfaces."""
    try:
        yield
    except Exception as error:
        detail = _first_line(error)
        raise UnreadableFile(f"damaged, or not a {kind} file ({type(error).__name__}"
                             f"{': ' + detail if detail else ''})") from error


def _first_line(error: BaseException) -> str:
    return str(error).strip().partition("\n")[0][:120]


@contextmanager
def _importing(kind: str, library: str) -> Iterator[None]:
    """An ImportError of the `library` that reads `kind` as `MissingPackage`, naming the package
    to install: the module found missing anywhere in the library's imports, or else the library
    itself (installed, but failing to import), to install again."""
    try:
        yield
    except ImportError as error:
        module = _missing_module(error)
        if module:
            package = _PACKAGES.get(module, module)
            raise MissingPackage(f"reading {kind} needs the package {package}, which is not "
                                 f"installed: run `pip install {package}`") from error
        raise MissingPackage(f"reading {kind} needs {library}, which fails to import "
                             f"({_first_line(error)}): run `pip install --force-reinstall {library}`") from error


def _missing_module(error: BaseException | None) -> str | None:
    """The top-level module that an import found missing: `error`'s own, or one raised before it.
    It may sit a few raises deep: lxml.html.clean, which trafilatura imports, raises an
    ImportError of its own `from None` when lxml_html_clean is absent, and keeps that one only
    as the context."""
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return error.name.partition(".")[0]
        error = error.__cause__ or error.__context__
    return None


def _check_kind(data: bytes, kind: str, beginning: bytes | None) -> None:
    """`UnreadableFile` when the file does not begin as `kind` does (`beginning`), or begins as
    a file of another kind: its extension is wrong."""
    head = data[:1024].lstrip()
    if beginning is not None and head.startswith(beginning):
        return
    found = next((name for name, start in _BEGINNINGS if head.startswith(start)), None)
    if beginning is not None or found:
        raise UnreadableFile(f"not {kind} but a {found} (wrong extension)" if found
                             else f"not {kind} (damaged, or another kind of file)")


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None


def from_html(data: bytes) -> Extracted:
    """The page's main text and its metadata (trafilatura finds the encoding)."""
    _check_kind(data, "HTML", None)
    with _importing("HTML", "trafilatura"):
        import trafilatura

    with _parsing("HTML"):
        found = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False,
                                            prune_xpath=_BOILERPLATE)
    paragraphs = [line.strip() for line in (found.text if found and found.text else "").splitlines()]
    text = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    if not text:
        raise UnreadableFile("no article text found, only navigation, banners or nothing")
    return Extracted(text=text, title=found.title or None, date=found.date or None,
                     author=found.author or None, outlet=found.sitename or None)


def from_pdf(data: bytes) -> Extracted:
    """The text of every page, running headers and footers removed, with where each page starts."""
    _check_kind(data, "a PDF", b"%PDF-")
    with _importing("PDF", "pypdf"):
        from pypdf import PdfReader

    with _parsing("PDF"):
        reader = PdfReader(io.BytesIO(data))
        locked = reader.is_encrypted and not reader.decrypt("")
    if locked:
        raise UnreadableFile("encrypted, it opens only with a password")
    with _parsing("PDF"):
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title, author = (info.title, info.author) if info else (None, None)
    try:
        created = info.creation_date if info else None
    except ValueError:  # a creation date pypdf cannot parse says nothing, and costs no text
        created = None
    lines = _without_running_lines([[line.strip() for line in page.splitlines() if line.strip()] for page in pages])
    text, starts = _paragraphs(lines)
    if not text:
        raise UnreadableFile("no text in it (a scanned or image-only PDF?)")
    return Extracted(text=text, title=str(title) if title else None, author=str(author) if author else None,
                     date=_day(created), pages=starts)


def _running_key(line: str) -> str:
    """A line as compared across pages: page numbers and other figures left out."""
    return " ".join(_DIGITS.sub("", line).split())


def _without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Each page's lines less the running header and footer: lines among the first (last)
    PAGE_EDGE_LINES of more than half the pages, and of two at least, that read the same but for
    figures."""
    def repeated(edges: list[list[str]]) -> set[str]:
        counts = Counter(key for edge in edges for key in {_running_key(line) for line in edge})
        return {key for key, count in counts.items() if count >= 2 and count * 2 > len(pages)}

    heads = repeated([lines[:PAGE_EDGE_LINES] for lines in pages])
    feet = repeated([lines[-PAGE_EDGE_LINES:] for lines in pages])
    kept: list[list[str]] = []
    for lines in pages:
        start, end = 0, len(lines)
        while start < min(PAGE_EDGE_LINES, end) and _running_key(lines[start]) in heads:
            start += 1
        while end > max(start, len(lines) - PAGE_EDGE_LINES) and _running_key(lines[end - 1]) in feet:
            end -= 1
        kept.append(lines[start:end])
    return kept


def _paragraphs(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """The pages' lines as one text, and the offset where each page starts in it.

    A line is joined to the next with a space (directly after a hyphen that ends a word part),
    a sentence running over a page break included; a short line ends its paragraph unless the
    next line goes on in lower case."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    previous, previous_short = "", False
    for lines in pages:
        starts.append(length)
        widest = max(map(len, lines), default=0)
        for number, line in enumerate(lines):
            if parts:
                if previous_short and not line[0].islower():
                    joint = "\n\n"
                elif previous.endswith("-") and previous[-2:-1].isalpha() and line[0].islower():
                    joint = ""
                else:
                    joint = " "
                parts.append(joint)
                length += len(joint)
                if number == 0:
                    starts[-1] = length
            parts.append(line)
            length += len(line)
            previous, previous_short = line, len(line) < SHORT_LINE * widest
    return "".join(parts), tuple(starts)


def from_docx(data: bytes) -> Extracted:
    """Body paragraphs and table rows in order, and the core properties."""
    _check_kind(data, "a DOCX file", b"PK\x03\x04")
    with _importing("DOCX", "python-docx"):
        import docx
        from docx.table import Table

    with _parsing("DOCX"):
        document = docx.Document(io.BytesIO(data))
        rows: list[list[str]] = []  # each table row's cells; a paragraph is a row of one cell
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                # A cell spanning columns comes once per column, as the same object.
                rows.extend([cell.text for cell in dict.fromkeys(row.cells)] for row in block.rows)
            else:
                rows.append([block.text])
        properties = document.core_properties
        title, author, created = properties.title, properties.author, properties.created
    blocks = (CELL_SEPARATOR.join(cell for cell in (" ".join(text.split()) for text in row) if cell) for row in rows)
    return Extracted(text="\n\n".join(block for block in blocks if block), title=title or None,
                     author=author or None, date=_day(created))
