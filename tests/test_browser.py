"""The chat in a real browser (Debian's Chromium driven by Playwright) and over gradio_client.

Starts `qa serve` on a free loopback port with the bundled article plus a document full of
markup, then asks questions as a person would. Screenshots go to test-artifacts/. Slow: real
model, real server.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from conftest import BUNDLED, REPO
from serving import running_server

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INJECTION = ("Security notice\n\nThe test payload was <img src=x onerror=\"window.__pwned=1\"> and "
             "<script>window.__pwned=2</script> inside the maintenance bulletin.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(BUNDLED / "announcement.txt", corpus / "announcement.txt")
    (corpus / "notice.txt").write_text(INJECTION, encoding="utf-8")
    with running_server(corpus, tmp_path_factory.mktemp("idx")) as url:
        yield url


def launch(playwright):
    """Debian's Chromium, headless, started by Playwright."""
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    ARTIFACTS.mkdir(exist_ok=True)
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"])


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        page.goto(server, wait_until="load")
        page.get_by_role("textbox").first.wait_for(timeout=60_000)
        yield page
        browser.close()


def ask(page, question: str, expected_text: str, timeout_ms: int = 90_000) -> None:
    box = page.get_by_role("textbox").first
    box.fill(question)
    box.press("Enter")
    page.get_by_text(expected_text).last.wait_for(timeout=timeout_ms)


def test_person_asks_and_sees_answer_with_quoted_source(page):
    ask(page, "In what year was the satellite operator established?", "Source 1 —")
    body = page.inner_text("body")
    assert "Established in 2010" in body
    assert "announcement.txt" in body
    page.get_by_text("Source 1 —").last.click()
    page.get_by_text("In context:").last.wait_for(timeout=10_000)
    assert "characters 1616–1804" in page.inner_text("body")
    page.wait_for_timeout(500)  # let the opened block finish rendering before the picture
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)


def test_unanswerable_question_says_so(page):
    ask(page, "What is the capital of France?", "The documents don't say")
    assert "Closest passage" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "chat-abstain.png"), full_page=True)


def test_markup_in_a_document_shows_as_text_and_never_runs(page):
    ask(page, "What was the test payload in the maintenance bulletin?", "onerror")
    assert page.evaluate("window.__pwned") is None
    assert "<img src=x" in page.inner_text("body")
    assert page.locator("img[src='x']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "chat-markup.png"), full_page=True)


def test_markup_typed_by_the_user_never_runs(page):
    ask(page, "<img src=x onerror=\"window.__typed=1\"> what was the payload?", "onerror")
    assert page.evaluate("window.__typed") is None


def test_gradio_client_round_trip(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    started = time.perf_counter()
    result = client.predict(message="Who is the board chairman?", api_name="/ask")
    elapsed = time.perf_counter() - started
    texts = [message["content"] for message in result]
    titles = [(message.get("metadata") or {}).get("title", "") for message in result]
    assert texts[0] and "announcement.txt" in texts[0]
    assert any(title.startswith(("Source 1 —", "Closest passage")) for title in titles)
    print(f"gradio_client round trip: {elapsed:.3f} s")
