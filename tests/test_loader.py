from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.loader import load_corpus, parse_front_matter

from conftest import BUNDLED, REPO


def test_bundled_article_keeps_the_seed_text_verbatim_with_its_metadata():
    corpus = load_corpus(BUNDLED)
    document = corpus.documents["announcement.txt"]
    seed = REPO / "tests" / "data" / "seed_announcement.txt"  # copy of ../shared/seed/announcement.txt
    assert document.text == seed.read_text(encoding="utf-8")
    assert document.date and document.author and document.outlet and document.title
    raw = (BUNDLED / "announcement.txt").read_text(encoding="utf-8")
    assert raw[document.body_offset:] == document.text


def test_front_matter_fields_and_body_offset():
    fields, offset = parse_front_matter("---\ntitle: A title\ndate: 2024-01-02\nsource: Wire\n---\nBody.")
    assert fields == {"title": "A title", "date": "2024-01-02", "source": "Wire"}
    assert "---\ntitle: A title\ndate: 2024-01-02\nsource: Wire\n---\nBody."[offset:] == "Body."


def test_headline_becomes_title_and_stays_in_text(news_corpus: Path):
    document = load_corpus(news_corpus).documents["bridge.txt"]
    assert document.title == "Harbour town opens new bridge"
    assert document.text.startswith("Harbour town opens new bridge")


def test_files_are_read_recursively_sorted_and_hidden_ones_ignored(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.md").write_text("Second file.", encoding="utf-8")
    (tmp_path / "one.txt").write_text("First file.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden.", encoding="utf-8")
    (tmp_path / "notes.txt~").write_text("Backup.", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert list(load_corpus(tmp_path).documents) == ["b/two.md", "one.txt"]


def test_missing_folder_is_named(tmp_path: Path):
    with pytest.raises(CorpusError, match="nowhere"):
        load_corpus(tmp_path / "nowhere")


def test_empty_folder_is_an_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="no non-empty"):
        load_corpus(tmp_path)


def test_a_folder_whose_every_file_is_skipped_names_the_first_and_why(tmp_path: Path):
    (tmp_path / "a.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "b.md").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"none of its 2 files could be read; the first: .*/a\.txt: empty, skipped$"):
        load_corpus(tmp_path)


def test_non_utf8_file_is_named(tmp_path: Path):
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1\.txt: not valid UTF-8"):
        load_corpus(tmp_path)


def test_binary_file_with_txt_name_is_named(tmp_path: Path):
    (tmp_path / "blob.txt").write_bytes(b"abc\x00\x01\x02")
    with pytest.raises(CorpusError, match=r"blob\.txt: looks like a binary file"):
        load_corpus(tmp_path)


def test_empty_file_is_skipped_and_reported(tmp_path: Path):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "real.txt").write_text("Real text.", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert list(corpus.documents) == ["real.txt"]
    assert any("empty.txt" in line for line in corpus.skipped)


def test_symlink_loop_does_not_hang(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Some text.", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert list(load_corpus(tmp_path).documents) == ["a.txt"]
