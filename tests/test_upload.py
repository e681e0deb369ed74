"""Adding documents through the chat, without a browser: names, caps, storing, the engine swap,
the page's handler and its login check, and the folders `qa serve --allow-upload` uses."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import gradio as gr
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from conftest import BUNDLED, MUSEUM
from qa import QA
from qa.api import create_app
from qa.app import LOGIN_NEEDED, build_demo, make_add_document, make_respond
from qa.cli import build_parser, main
from qa.errors import UploadError
from qa.live import LiveEngine
from qa.loader import SUFFIXES, corpus_files, is_ignored
from qa.upload import MAX_STEM_BYTES, MAX_UPLOAD_BYTES, Uploads, safe_name, store, upload_folders

MUSEUM_QUESTION = "Who is the director of the city museum?"


@pytest.mark.parametrize(("sent", "stored"), [
    ("report.pdf", "report.pdf"),
    ("Report.PDF", "Report.pdf"),
    ("../../etc/cron.d/notes.txt", "notes.txt"),
    ("C:\\Users\\me\\Desktop\\minutes.docx", "minutes.docx"),
    (".hidden.md", "hidden.md"),
    ("~$lock.docx", "lock.docx"),
    ("#draft#.txt", "draft.txt"),
    ("my report (final).txt", "my_report_final.txt"),
    ("<img src=x onerror=alert(1)>.html", "img_src_x_onerror_alert_1.html"),
    ("a\u202etxt.md", "a_txt.md"),
    ("отчёт за май.htm", "отчёт_за_май.htm"),
    ("....txt", "document.txt"),
    (".pdf", "document.pdf"),
])
def test_names_are_cut_to_a_safe_last_part(sent, stored):
    assert safe_name(sent) == stored


@pytest.mark.parametrize("sent", ["notes", "notes.exe", "notes.txt.exe", "archive.tar.gz", "notes.txt ", ""])
def test_a_name_without_a_readable_suffix_is_refused_naming_the_formats(sent):
    with pytest.raises(UploadError, match=r"only \.txt, \.md"):
        safe_name(sent)


@given(st.text(max_size=400), st.sampled_from(SUFFIXES))
def test_any_name_becomes_one_visible_bounded_name_the_loader_reads(stem, suffix):
    name = safe_name(stem + suffix.upper())
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name.endswith(suffix) and not is_ignored(name)
    assert len(name.encode()) <= MAX_STEM_BYTES + len(suffix)
    assert safe_name(name) == name


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    """Where Gradio would have put the uploaded files."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder


def upload(incoming: Path, name: str, content: str | bytes = MUSEUM) -> Path:
    path = incoming / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_a_stored_file_is_a_whole_copy_under_its_safe_name(tmp_path, incoming):
    folder = tmp_path / "corpus"
    folder.mkdir()
    stored = store(upload(incoming, "museum.txt"), name="../Museum News.txt", folder=folder)
    assert stored == folder / "Museum_News.txt"
    assert stored.read_text(encoding="utf-8") == MUSEUM
    assert sorted(p.name for p in folder.iterdir()) == ["Museum_News.txt"]


def test_a_taken_name_gets_a_number_and_the_same_file_again_is_refused(tmp_path, incoming):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "museum.txt").write_text("An older museum story.\n", encoding="utf-8")
    first = store(upload(incoming, "museum.txt"), name="museum.txt", folder=folder)
    assert first.name == "museum-2.txt"
    with pytest.raises(UploadError, match="museum-2.txt is already among the documents"):
        store(upload(incoming, "museum.txt"), name="museum.txt", folder=folder)
    assert (folder / "museum.txt").read_text(encoding="utf-8") == "An older museum story.\n"
    assert sorted(p.name for p in folder.iterdir()) == ["museum-2.txt", "museum.txt"]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", "", "empty"),
    ("blank.md", "  \n\n", "empty"),
    ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "not valid UTF-8 text (byte 3)"),
    ("binary.txt", b"\x00\x01\x02binary", "looks like a binary file"),
    ("notes.docx", "plain text under a .docx name", "not a DOCX file"),
    ("scan.pdf", b"%PDF-1.4 truncated", "PDF"),
])
def test_a_file_the_loader_would_pass_over_is_refused_with_its_reason_and_leaves_nothing(
        tmp_path, incoming, name, content, reason):
    folder = tmp_path / "corpus"
    folder.mkdir()
    with pytest.raises(UploadError) as refused:
        store(upload(incoming, name, content), name=name, folder=folder)
    message = str(refused.value)
    assert message.startswith(f"{name} was not added: ") and reason in message
    assert ".upload-" not in message and str(folder) not in message
    assert list(folder.iterdir()) == []


def test_a_file_over_the_cap_is_refused_before_it_is_copied(tmp_path, incoming):
    folder = tmp_path / "corpus"
    folder.mkdir()
    big = incoming / "big.txt"
    with big.open("wb") as out:
        out.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(UploadError, match=r"big.txt was not added: it is 20.0 MiB, over the 20 MiB limit"):
        store(big, name="big.txt", folder=folder)
    assert list(folder.iterdir()) == []


def test_a_copy_that_fails_midway_leaves_no_part_of_the_file(tmp_path, incoming, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()

    def disk_full(source, target):
        target.write(source.read(10))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("qa.upload.shutil.copyfileobj", disk_full)
    with pytest.raises(UploadError, match=r"museum.txt could not be stored \(No space left on device\)"):
        store(upload(incoming, "museum.txt"), name="museum.txt", folder=folder)
    assert list(folder.iterdir()) == []


@pytest.fixture
def live(news_corpus, index_dir, fake_bot):
    return LiveEngine(fake_bot, uploads=upload_folders(corpus=str(news_corpus), folder=None), index_dir=index_dir)


def test_an_added_document_is_answered_from_and_named_in_sources(live, incoming, fake_bot):
    added = live.add(upload(incoming, "museum.txt"), name="museum.txt")
    assert added.source == "museum.txt" and added.sentences == len(live.current.sentences["museum.txt"]) > 0
    reply = live.current.answer(MUSEUM_QUESTION)
    assert reply.quotes[0].source == "museum.txt"
    assert set(fake_bot.documents) == {"bridge.txt"}, "the engine a request already holds is not changed"
    assert set(live.current.documents) == {"bridge.txt", "museum.txt"}


def test_an_upload_folder_inside_the_corpus_names_the_subfolder_in_sources(news_corpus, index_dir, fake_bot, incoming):
    live = LiveEngine(fake_bot, uploads=upload_folders(corpus=str(news_corpus), folder=str(news_corpus / "added")),
                      index_dir=index_dir)
    assert live.add(upload(incoming, "museum.txt"), name="museum.txt").source == "added/museum.txt"
    assert live.current.answer(MUSEUM_QUESTION).quotes[0].source == "added/museum.txt"


def test_a_refused_upload_leaves_the_engine_and_the_folder_as_they_were(live, incoming, news_corpus, fake_bot):
    with pytest.raises(UploadError, match="empty"):
        live.add(upload(incoming, "empty.txt", ""), name="empty.txt")
    assert live.current is fake_bot
    assert [p.name for p in news_corpus.iterdir()] == ["bridge.txt"]


def test_when_reading_the_folder_fails_the_file_is_removed_and_the_old_engine_stays(
        live, incoming, news_corpus, fake_bot, monkeypatch):
    def failing(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(QA, "from_directory", failing)
    with pytest.raises(MemoryError):
        live.add(upload(incoming, "museum.txt"), name="museum.txt")
    assert live.current is fake_bot
    assert [p.name for p in news_corpus.iterdir()] == ["bridge.txt"]


def test_questions_asked_while_a_document_is_indexed_get_answers_from_the_engine_before(
        live, incoming, fake_bot, monkeypatch):
    read_folder = QA.from_directory
    during: dict[str, object] = {}

    def reading(*args, **kwargs):
        new = read_folder(*args, **kwargs)
        during["engine"] = live.current
        during["messages"] = make_respond(live)("How much did the bridge cost?", [])
        return new

    monkeypatch.setattr(QA, "from_directory", reading)
    live.add(upload(incoming, "museum.txt"), name="museum.txt")
    assert during["engine"] is fake_bot
    assert "£4.2m" in during["messages"][1].content
    assert live.current is not fake_bot and "museum.txt" in live.current.documents


def test_two_uploads_at_once_both_end_up_in_the_engine(live, incoming, monkeypatch):
    """The second upload waits for the first to be indexed: were they interleaved, the first
    upload's engine (read before the second file was stored) would be swapped in last."""
    read_folder = QA.from_directory
    second_done = threading.Event()
    calls = []

    def first_waits(*args, **kwargs):
        new = read_folder(*args, **kwargs)
        calls.append(new)
        if len(calls) == 1:
            second_done.wait(1.5)  # only an interleaved second upload could finish within it
        return new

    monkeypatch.setattr(QA, "from_directory", first_waits)
    other = incoming / "other"
    other.mkdir()
    first = threading.Thread(target=live.add, args=(upload(incoming, "museum.txt"),), kwargs={"name": "museum.txt"})
    first.start()
    while not calls and first.is_alive():
        first.join(0.01)
    live.add(upload(other, "gallery.txt", "The gallery opened a new wing on Sunday.\n"), name="gallery.txt")
    second_done.set()
    first.join(30)
    assert {"museum.txt", "gallery.txt"} <= set(live.current.documents)


def test_the_json_api_answers_from_the_added_document(live, incoming):
    with TestClient(create_app(live)) as client:
        live.add(upload(incoming, "museum.txt"), name="museum.txt")
        reply = client.post("/api/answer", json={"question": MUSEUM_QUESTION}).json()
    assert reply["quotes"][0]["source"] == "museum.txt"


def test_a_server_without_uploads_refuses_to_add(fake_bot, incoming):
    with pytest.raises(UploadError, match="--allow-upload"):
        LiveEngine(fake_bot).add(upload(incoming, "museum.txt"), name="museum.txt")


def request_as(username: str | None) -> gr.Request:
    return gr.Request(username=username)


def test_the_page_shows_indexing_then_what_was_added_and_updates_the_heading(live, incoming):
    sent = upload(incoming, "museum.txt")
    steps = list(make_add_document(live, login_required=True)(str(sent), request_as("reader")))
    assert [status for status, _, _ in steps] == [
        "Indexing museum.txt…",
        f"Added museum.txt: {len(live.current.sentences['museum.txt'])} sentences. Ask about it."]
    assert "Ask about 2 documents" in steps[-1][1]
    assert steps[-1][2] is None, "the file box is emptied for the next file"
    assert not sent.exists(), "Gradio's copy of the upload is removed"
    messages = make_respond(live)(MUSEUM_QUESTION, [])
    assert messages[1].metadata["title"].startswith("Source 1 — Museum reopens after flood")
    assert "`museum.txt`" in messages[1].content


def test_an_upload_without_a_login_is_refused_when_the_server_has_one(live, incoming, news_corpus, fake_bot):
    sent = upload(incoming, "museum.txt")
    (only,) = make_add_document(live, login_required=True)(str(sent), request_as(None))
    assert only[0] == f"⚠️ {LOGIN_NEEDED}"
    assert live.current is fake_bot and [p.name for p in news_corpus.iterdir()] == ["bridge.txt"]
    assert not sent.exists()


def test_a_refused_file_gets_one_escaped_warning(live, incoming, fake_bot):
    (only,) = make_add_document(live, login_required=False)(str(upload(incoming, "<i>notes.exe")), request_as(None))
    assert only[0].startswith("⚠️ “&lt;i&gt;notes.exe” was not added: only .txt")
    assert live.current is fake_bot


def test_an_unexpected_failure_is_a_plain_message(live, incoming, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(live, "add", broken)
    *_, last = make_add_document(live, login_required=False)(str(upload(incoming, "museum.txt")), request_as(None))
    assert "went wrong while adding the document" in last[0] and "secret internals" not in last[0]


def test_the_file_box_is_on_the_page_only_when_uploads_are_on(live, fake_bot):
    def file_boxes(demo):
        return [block for block in demo.blocks.values() if isinstance(block, gr.File)]

    assert file_boxes(build_demo(LiveEngine(fake_bot))) == []
    (box,) = file_boxes(build_demo(live))
    assert box.file_types == list(SUFFIXES)


def test_the_upload_folder_must_be_the_corpus_folder_or_a_visible_folder_inside_it(news_corpus, tmp_path):
    assert upload_folders(corpus=str(news_corpus), folder=None) == Uploads(news_corpus.resolve(), news_corpus.resolve())
    inside = upload_folders(corpus=str(news_corpus), folder=str(news_corpus / "uploads"))
    assert inside.folder == (news_corpus / "uploads").resolve() and inside.folder.is_dir()
    for outside in (tmp_path / "elsewhere", news_corpus / ".uploads", news_corpus / "x" / "~tmp"):
        with pytest.raises(UploadError, match="must be the corpus folder"):
            upload_folders(corpus=str(news_corpus), folder=str(outside))
    with pytest.raises(UploadError, match="needs --corpus to be a folder"):
        upload_folders(corpus=str(news_corpus / "bridge.txt"), folder=None)


def test_without_a_corpus_the_user_data_folder_is_served_with_a_copy_of_the_bundled_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr("qa.upload.default_upload_folder", lambda: tmp_path / "data" / "uploads")
    uploads = upload_folders(corpus=None, folder=None)
    assert uploads.corpus == uploads.folder == (tmp_path / "data" / "uploads").resolve()
    bundled = [path.relative_to(BUNDLED) for path in corpus_files(BUNDLED)]
    assert [path.relative_to(uploads.folder) for path in corpus_files(uploads.folder)] == bundled
    (uploads.folder / "mine.txt").write_text(MUSEUM, encoding="utf-8")
    assert upload_folders(corpus=None, folder=None) == uploads
    assert len(corpus_files(uploads.folder)) == len(bundled) + 1


def test_the_bundled_corpus_folder_is_never_written_to(bundled_copy, monkeypatch):
    monkeypatch.setattr("qa.upload.bundled_corpus", lambda: bundled_copy)
    before = sorted(bundled_copy.rglob("*"))
    for corpus, folder in ((str(bundled_copy), None), (None, str(bundled_copy)), (None, str(bundled_copy / "up"))):
        with pytest.raises(UploadError, match="cannot go into the bundled corpus"):
            upload_folders(corpus=corpus, folder=folder)
    assert sorted(bundled_copy.rglob("*")) == before


def test_serve_with_uploads_into_a_single_file_corpus_is_a_one_line_error(news_corpus, capsys):
    assert main(["serve", "--corpus", str(news_corpus / "bridge.txt"), "--allow-upload"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("qa: error: ") and "--allow-upload needs --corpus to be a folder" in error


def test_uploads_are_off_unless_asked_for():
    assert build_parser().parse_args(["serve"]).allow_upload is None
    assert build_parser().parse_args(["serve", "--allow-upload"]).allow_upload == ""
    assert build_parser().parse_args(["serve", "--allow-upload", "up"]).allow_upload == "up"
