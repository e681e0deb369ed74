"""HTML, PDF and DOCX files: their text, metadata and pages; files that give no text; and one
folder of all five formats answered from, in Python and on the command line. Every file is made
here: HTML as a string, PDFs with reportlab (and pypdf for metadata and encryption), DOCX files
with python-docx."""

from __future__ import annotations

import builtins
import datetime
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

import qa.loader
from qa import QA, QuestionError
from qa.cli import main
from qa.loader import load_corpus
from qa.records import Document

from conftest import MUSEUM, NEWS, REPO, FakeEmbedder, NeutralReader

NAVIGATION = "Subscribe to our weekly newsletter"
BANNER = "We use cookies to improve your experience"
PAGE_FOOTER = "All rights reserved"
HTML_ARTICLE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Library extends its opening hours | Eastmouth Gazette</title>
<meta property="og:site_name" content="Eastmouth Gazette">
<meta name="author" content="Sam Reed">
<meta property="article:published_time" content="2024-03-04T10:00:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/newsletter">{NAVIGATION}</a></nav>
<div class="cookie-banner">{BANNER}. Accept all cookies to continue browsing.</div>
<article><h1>Library extends its opening hours</h1>
<p>The town library will stay open until nine in the evening from next month, the librarian said.</p>
<p>The longer hours are paid for by a grant of £40,000 from the county.</p>
<p>"Students asked us for somewhere quiet to work after school," said the librarian, Ana Lima.</p>
</article>
<footer>Copyright 2024 Eastmouth Gazette. {PAGE_FOOTER}.</footer>
</body></html>"""
HTML_MENU_ONLY = f"""<html><head><title>Eastmouth Gazette</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/newsletter">{NAVIGATION}</a></nav>
<div id="cookie-consent"><p>{BANNER}. Accept all cookies to continue browsing.</p></div>
<footer>Copyright 2024 Eastmouth Gazette. {PAGE_FOOTER}.</footer></body></html>"""

RUNNING_HEADER = "Eastmouth Harbour Board Annual Review"
RUNNING_FOOTER = "Page {page} of {pages}"
REVIEW_PAGES = [
    ["Foreword",
     "The harbour board met eleven times this year and approved a new plan",
     "for the moorings along the east quay."],
    ["Repairs",
     "The harbour wall repairs will cost £2.3m and are due to finish in",
     "October, the board's engineer said.",
     "Dredging of the channel starts in May."],
    ["Fees",
     "Mooring fees rise by three per cent from April."],
]
WRAPPED_SENTENCE = ("The harbour wall repairs will cost £2.3m and are due to finish in October, "
                    "the board's engineer said.")
SCHOOL_PARAGRAPHS = ["School wins science prize",
                     "Eastmouth Academy won the regional science prize for its tide gauge project.",
                     "The pupils will show the gauge at a fair in London in July."]
SCHOOL_TABLE = [["Team", "Year 10 physics club"], ["Prize", "£500 and a trophy"]]
MUSEUM_MD = "---\ntitle: Museum reopens after flood\ndate: 2024-02-02\nsource: City News\n---\n" + MUSEUM

GOOD = ["bridge.txt", "library.html", "museum.md", "review.pdf", "school.docx"]
BAD = {  # file name: words its reason holds
    "locked.pdf": "password",
    "scanned.pdf": "no text",
    "damaged.pdf": "damaged",
    "corrupt.docx": "not a DOCX file",
    "not-word.docx": "damaged, or not a DOCX file",
    "menu.html": "no article text",
    "letter.pdf": "not a PDF but a zip archive",
    "report.docx": "not a DOCX file but a PDF",
}


def pdf_bytes(pages: list[list[str]], *, header: str | None = None, footer: str | None = None) -> bytes:
    """A PDF with one page per list of lines (an empty list gives a page holding only a shape)."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for number, lines in enumerate(pages, 1):
        if header:
            page.drawString(72, 800, header)
        for row, line in enumerate(lines):
            page.drawString(72, 700 - 16 * row, line)
        if not lines:
            page.rect(100, 300, 300, 200, fill=1)
        if footer:
            page.drawString(72, 40, footer.format(page=number, pages=len(pages)))
        page.showPage()
    page.save()
    return buffer.getvalue()


def rewritten(pdf: bytes, edit: Callable[[PdfWriter], object]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    edit(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def review_pdf() -> bytes:
    return rewritten(pdf_bytes(REVIEW_PAGES, header=RUNNING_HEADER, footer=RUNNING_FOOTER),
                     lambda writer: writer.add_metadata({"/Title": "Harbour Board review",
                                                         "/Author": "Harbour Board",
                                                         "/CreationDate": "D:20240304100000+00'00'"}))


def school_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "School wins science prize"
    document.core_properties.author = "Priya Shah"
    document.core_properties.created = datetime.datetime(2024, 6, 1, 9, 30)
    document.add_heading(SCHOOL_PARAGRAPHS[0], 0)
    document.add_paragraph(SCHOOL_PARAGRAPHS[1])
    table = document.add_table(rows=len(SCHOOL_TABLE), cols=3)
    for row, (label, value) in zip(table.rows, SCHOOL_TABLE):
        row.cells[0].text = label
        row.cells[1].merge(row.cells[2]).text = value
    document.add_paragraph(SCHOOL_PARAGRAPHS[2])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_good_files(folder: Path) -> None:
    (folder / "bridge.txt").write_text(NEWS, encoding="utf-8")
    (folder / "museum.md").write_text(MUSEUM_MD, encoding="utf-8")
    (folder / "library.html").write_text(HTML_ARTICLE, encoding="utf-8")
    (folder / "review.pdf").write_bytes(review_pdf())
    (folder / "school.docx").write_bytes(school_docx())


def write_bad_files(folder: Path) -> None:
    plain = pdf_bytes([["The harbour board keeps its minutes locked."]])
    (folder / "locked.pdf").write_bytes(rewritten(plain, lambda writer: writer.encrypt("secret", algorithm="AES-256")))
    (folder / "scanned.pdf").write_bytes(pdf_bytes([[], []]))
    (folder / "damaged.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    (folder / "corrupt.docx").write_bytes(os.urandom(2000))
    with zipfile.ZipFile(folder / "not-word.docx", "w") as archive:
        archive.writestr("notes.txt", "A zip archive, but no Word document inside.")
    (folder / "menu.html").write_text(HTML_MENU_ONLY, encoding="utf-8")
    (folder / "letter.pdf").write_bytes(school_docx())
    (folder / "report.docx").write_bytes(plain)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    made = tmp_path_factory.mktemp("mixed")
    write_good_files(made)
    write_bad_files(made)
    return made


@pytest.fixture(scope="module")
def corpus(folder):
    return load_corpus(folder)


@pytest.fixture(scope="module")
def index_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("indexes")


@pytest.fixture(scope="module")
def bot(folder, index_root) -> QA:
    return QA.from_directory(folder, index_dir=index_root, embedder=FakeEmbedder(), reader=NeutralReader())


def test_every_format_is_read_and_nothing_but_the_bad_files_is_left_out(corpus):
    assert sorted(corpus.documents) == GOOD
    assert len(corpus.skipped) == len(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_file_without_text_is_skipped_with_a_warning_naming_it_and_why(corpus, folder, name):
    lines = [line for line in corpus.skipped if line.startswith(f"{folder / name}: ")]
    assert len(lines) == 1, corpus.skipped
    assert BAD[name] in lines[0] and lines[0].endswith("skipped")


def test_html_gives_the_article_and_its_metadata_without_navigation_or_banners(corpus):
    page = corpus.documents["library.html"]
    assert "The longer hours are paid for by a grant of £40,000 from the county." in page.text
    for boilerplate in (NAVIGATION, BANNER, PAGE_FOOTER, "Home"):
        assert boilerplate not in page.text
    assert (page.title, page.author, page.date, page.outlet) == (
        "Library extends its opening hours", "Sam Reed", "2024-03-04", "Eastmouth Gazette")
    assert not page.pages and page.page_of(0) is None


def test_a_page_whose_wrapper_is_named_after_cookies_keeps_its_article(tmp_path):
    article = (HTML_ARTICLE.replace("<body>", '<body class="cookie-consent-given">')
               .replace("<article>", '<div id="cookie-wrapper"><article>').replace("</article>", "</article></div>"))
    (tmp_path / "library.html").write_text(article, encoding="utf-8")
    page = load_corpus(tmp_path).documents["library.html"]
    assert "The longer hours are paid for by a grant of £40,000 from the county." in page.text
    assert BANNER not in page.text


def test_pdf_text_has_its_pages_without_running_header_or_footer(corpus):
    review = corpus.documents["review.pdf"]
    assert RUNNING_HEADER not in review.text and "Page" not in review.text
    assert WRAPPED_SENTENCE in review.text
    assert len(review.pages) == len(REVIEW_PAGES)
    for number, lines in enumerate(REVIEW_PAGES, 1):
        for line in lines:
            assert review.page_of(review.text.index(line)) == number
    assert review.text[review.pages[1]:].startswith("Repairs")
    assert (review.title, review.author, review.date) == ("Harbour Board review", "Harbour Board", "2024-03-04")


def test_docx_gives_paragraphs_and_table_rows_in_order_and_its_core_properties(corpus):
    school = corpus.documents["school.docx"]
    rows = [" | ".join(row) for row in SCHOOL_TABLE]
    assert school.text == "\n\n".join([*SCHOOL_PARAGRAPHS[:2], *rows, SCHOOL_PARAGRAPHS[2]])
    assert (school.title, school.author, school.date) == ("School wins science prize", "Priya Shah", "2024-06-01")


def test_a_pdf_locked_only_against_changes_is_read(tmp_path):
    plain = pdf_bytes([["The minutes are open to all readers."]])
    (tmp_path / "minutes.pdf").write_bytes(
        rewritten(plain, lambda writer: writer.encrypt("", owner_password="board", algorithm="AES-256")))
    assert load_corpus(tmp_path).documents["minutes.pdf"].text == "The minutes are open to all readers."


def test_text_over_the_limit_from_a_small_pdf_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "review.pdf").write_bytes(review_pdf())
    (tmp_path / "note.txt").write_text("A short note.", encoding="utf-8")
    monkeypatch.setattr(qa.loader, "MAX_FILE_BYTES", 100)
    corpus = load_corpus(tmp_path)
    assert list(corpus.documents) == ["note.txt"]
    assert any("review.pdf" in line and "character limit" in line for line in corpus.skipped)


LOAD_WITHOUT = """
import json, sys
for module in sys.argv[2:]:
    sys.modules[module] = None  # import raises ModuleNotFoundError, as when it is not installed
from qa.loader import load_corpus
corpus = load_corpus(sys.argv[1])
print(json.dumps({"documents": sorted(corpus.documents), "skipped": corpus.skipped}))
"""


def test_a_missing_extractor_package_skips_its_files_naming_the_format_and_the_package(tmp_path):
    """lxml_html_clean and python-docx kept from being imported, in a process of its own so that
    trafilatura's imports run for real: lxml.html.clean hides the missing module behind an
    ImportError of its own, and python-docx's module is `docx`."""
    write_good_files(tmp_path)
    result = subprocess.run([sys.executable, "-c", LOAD_WITHOUT, str(tmp_path), "lxml_html_clean", "docx"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["documents"] == ["bridge.txt", "museum.md", "review.pdf"]
    assert loaded["skipped"] == [
        f"{tmp_path / name}: reading {kind} needs the package {package}, which is not installed: "
        f"run `pip install {package}`, skipped"
        for name, kind, package in [("library.html", "HTML", "lxml_html_clean"), ("school.docx", "DOCX", "python-docx")]]


def test_a_library_that_fails_to_import_is_named_to_install_again(tmp_path, monkeypatch):
    (tmp_path / "review.pdf").write_bytes(review_pdf())
    (tmp_path / "bridge.txt").write_text(NEWS, encoding="utf-8")
    real_import = builtins.__import__

    def broken_pypdf(name, *args, **kwargs):
        if name == "pypdf":
            raise ImportError("libcrypto.so.3: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken_pypdf)
    corpus = load_corpus(tmp_path)
    assert list(corpus.documents) == ["bridge.txt"]
    assert corpus.skipped == [f"{tmp_path / 'review.pdf'}: reading PDF needs pypdf, which fails to import "
                              "(libcrypto.so.3: cannot open shared object file): run `pip install "
                              "--force-reinstall pypdf`, skipped"]


def test_page_of_counts_pages_from_one_and_passes_over_empty_ones():
    document = Document(id="d.pdf", text="x" * 30, title="d", path="d.pdf", pages=(0, 10, 10, 20))
    assert [document.page_of(offset) for offset in (0, 9, 10, 19, 20, 29)] == [1, 1, 3, 3, 4, 4]
    assert Document(id="d.txt", text="x", title="d", path="d.txt").page_of(0) is None


def test_every_chunk_is_exact_text_of_its_document(bot):
    assert {chunk.doc_id for chunk in bot.index.chunks} == set(GOOD)
    for chunk in bot.index.chunks:
        assert bot.documents[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text


WORDS = ["who", "what", "when", "how", "much", "said", "cost", "harbour", "wall", "repairs", "library",
         "hours", "grant", "museum", "flood", "bridge", "mayor", "school", "prize", "pupils", "London",
         "fees", "moorings", "October", "ferry", "£2.3m", "table", "trophy", "nine"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(lambda words: " ".join(words) + "?"),
                 st.text(max_size=80)))
def test_every_quote_from_every_format_is_exact_text_and_names_its_page_where_there_are_pages(bot, question):
    try:
        reply = bot.answer(question, top_k=5)
    except QuestionError:
        return
    for quote in reply.quotes:
        document = bot.documents[quote.source]
        assert document.text[quote.start:quote.end] == quote.text
        assert document.text[quote.context_start:quote.context_end] == quote.context
        assert quote.page == document.page_of(quote.start)
        assert (quote.page is not None) == (quote.source == "review.pdf")


def test_a_quote_from_page_two_of_a_pdf_names_page_two(bot):
    reply = bot.answer("How much will the harbour wall repairs cost?")
    best = reply.quotes[0]
    assert (best.source, best.text, best.page) == ("review.pdf", WRAPPED_SENTENCE, 2)
    assert reply.to_json()["quotes"][0]["page"] == 2
    assert f"`review.pdf`, p. 2, characters {best.start}–{best.end}" in reply.text


def test_the_saved_index_of_the_folder_loads_again_and_quotes_the_same_page(bot, folder, index_root):
    again = QA.from_directory(folder, index_dir=index_root, embedder=FakeEmbedder(), reader=NeutralReader())
    assert not again.built
    question = "How much will the harbour wall repairs cost?"
    assert again.answer(question).to_json() == bot.answer(question).to_json()


def test_cli_ask_over_the_folder_quotes_the_page_and_warns_about_each_bad_file(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    question = "How much will the harbour wall repairs cost?"
    options = ["--corpus", str(folder), "--index-dir", str(tmp_path)]
    assert main(["ask", question, *options]) == 0
    printed = capsys.readouterr()
    assert "· review.pdf, p. 2, characters" in printed.out
    assert WRAPPED_SENTENCE in printed.out.replace("\n   ", " ").replace("**", "")
    warnings = [line for line in printed.err.splitlines() if line.startswith("qa: warning: ")]
    assert sorted(Path(line.removeprefix("qa: warning: ").split(": ")[0]).name for line in warnings) == sorted(BAD)
    assert main(["ask", question, *options, "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)["quotes"][0]
    assert (quote["source"], quote["page"]) == ("review.pdf", 2)
