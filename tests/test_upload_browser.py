"""Adding a document through the chat in a real browser (Debian's Chromium driven by Playwright),
and Gradio's upload route over HTTP.

Starts `qa serve --allow-upload` on a free loopback port, drops a generated .docx about a
made-up festival into the page, waits for it to be indexed and asks about it; drops a file over
the cap; then starts a server with a login and tries to upload without it. Screenshots go to
test-artifacts/. Slow: real model, real server.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import docx
import httpx
import pytest

from qa.upload import MAX_UPLOAD_BYTES
from serving import bundled_copy, running_server
from test_browser import ARTIFACTS, ask, launch

pytestmark = pytest.mark.slow

FESTIVAL = [
    "The Quillmere Lantern Festival will return to the village of Brackenholt on 14 September.",
    "Its organiser, Tamsin Orvell, said that 3,400 paper lanterns would be floated on the River Wenn.",
    "The festival was first held in 1987, after a flood destroyed the village's old mill.",
]
WATCH_STATUS = """() => {
  window.__statuses = [];
  new MutationObserver(() => {
    const box = document.querySelector('#upload-status');
    const text = box ? box.innerText.trim() : '';
    if (text && window.__statuses[window.__statuses.length - 1] !== text) window.__statuses.push(text);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
INDEXING_MS = 240_000
VIEWPORT = {"width": 1200, "height": 1100}


def festival_docx(folder: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Lantern festival returns to Brackenholt"
    document.core_properties.created = datetime(2024, 8, 30, tzinfo=timezone.utc)
    for paragraph in FESTIVAL:
        document.add_paragraph(paragraph)
    path = folder / "Lantern festival.docx"
    document.save(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return bundled_copy(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def server(corpus, tmp_path_factory):
    with running_server(corpus, tmp_path_factory.mktemp("idx"), "--allow-upload") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, server):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(server, wait_until="load")
    page.get_by_role("textbox").first.wait_for(timeout=60_000)
    page.evaluate(WATCH_STATUS)
    yield page
    page.close()


def test_a_dropped_document_is_indexed_then_answered_from_and_named_in_sources(page, corpus, tmp_path):
    page.locator("input[type=file]").set_input_files(festival_docx(tmp_path))
    page.get_by_text("Added Lantern_festival.docx:").wait_for(timeout=INDEXING_MS)
    statuses = page.evaluate("window.__statuses")
    assert statuses == ["Indexing Lantern_festival.docx…", "Added Lantern_festival.docx: 3 sentences. Ask about it."]
    assert "Ask about 2 documents" in page.inner_text("body")
    assert (corpus / "Lantern_festival.docx").is_file()
    page.screenshot(path=str(ARTIFACTS / "upload-added.png"), full_page=True)

    ask(page, "How many paper lanterns will be floated on the river?", "Source 1 —")
    page.get_by_text("Source 1 —").last.click()
    page.get_by_text("In context:").last.wait_for(timeout=10_000)
    body = page.inner_text("body")
    assert "Source 1 — Lantern festival returns to Brackenholt" in body
    assert "3,400 paper lanterns" in body and "Lantern_festival.docx" in body
    page.wait_for_timeout(500)  # let the opened block finish rendering before the picture
    page.screenshot(path=str(ARTIFACTS / "upload-answer.png"), full_page=True)


def test_a_file_over_the_cap_is_refused_by_the_page_and_by_the_server(page, server, corpus, tmp_path):
    before = sorted(path.name for path in corpus.iterdir())
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (MAX_UPLOAD_BYTES // 5 + 1))
    page.locator("input[type=file]").set_input_files(big)
    refusal = page.get_by_text("exceed the maximum allowed size").first
    refusal.wait_for(timeout=30_000)
    assert '"big.txt"' in refusal.inner_text()
    page.wait_for_timeout(800)  # the message slides in: let it settle before the picture
    page.screenshot(path=str(ARTIFACTS / "upload-too-large.png"))

    sent = httpx.post(f"{server}gradio_api/upload", files={"files": ("big.txt", big.read_bytes())}, timeout=120)
    assert sent.status_code == 413 and "maximum allowed size" in sent.text
    assert sorted(path.name for path in corpus.iterdir()) == before


def test_with_a_login_nobody_can_upload_without_it(browser, tmp_path_factory, tmp_path):
    folder = bundled_copy(tmp_path_factory.mktemp("locked"))
    with running_server(folder, tmp_path_factory.mktemp("idx"), "--allow-upload", "--auth", "reader:s3cret") as url:
        sent = httpx.post(f"{url}gradio_api/upload", files={"files": ("notes.txt", b"Hello there.")}, timeout=60)
        assert sent.status_code == 401
        joined = httpx.post(f"{url}gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"},
                            timeout=60)
        assert joined.status_code == 401

        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.get_by_role("button", name="Login").wait_for(timeout=60_000)
        assert page.locator("input[type=file]").count() == 0
        page.screenshot(path=str(ARTIFACTS / "upload-login.png"), full_page=True)

        page.get_by_label("username").fill("reader")
        page.get_by_label("password").fill("s3cret")
        page.get_by_role("button", name="Login").click()
        page.get_by_role("textbox").first.wait_for(timeout=60_000)
        page.locator("input[type=file]").set_input_files(festival_docx(tmp_path))
        page.get_by_text("Added Lantern_festival.docx:").wait_for(timeout=INDEXING_MS)
        context.close()
    assert sorted(path.name for path in folder.iterdir()) == ["Lantern_festival.docx", "announcement.txt"]
