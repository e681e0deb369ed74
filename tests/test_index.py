import json
from pathlib import Path

import numpy as np
import pytest

from qa import QA
from qa.chunker import chunk_document
from qa.cli import main
from qa.index import (CHUNKS_FILE, DOCUMENTS_FILE, MANIFEST, VECTORS_FILE, CorpusIndex, LexicalIndex, Plan,
                      corpus_key, defined_acronyms, load_or_build)
from qa.loader import load_corpus

from conftest import MUSEUM, NEWS, FakeEmbedder


def only_index_folder(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def test_second_start_loads_instead_of_embedding(news_corpus, index_dir, fake_embedder):
    first = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    calls = fake_embedder.calls
    second = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert first.built and not second.built
    assert fake_embedder.calls == calls
    assert second.index.chunks == first.index.chunks
    assert (only_index_folder(index_dir) / CHUNKS_FILE).read_text(encoding="utf-8").count("\n") == len(first.index.chunks)


def test_editing_the_corpus_rebuilds(news_corpus, index_dir, fake_embedder):
    QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    (news_corpus / "bridge.txt").write_text("A different story entirely. It has two sentences.", encoding="utf-8")
    again = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert again.built
    assert again.index.chunks[0].text == "A different story entirely."


def test_key_changes_with_model_and_text(news_corpus, fake_embedder):
    documents = list(load_corpus(news_corpus).documents.values())
    assert corpus_key(documents, "model-a") != corpus_key(documents, "model-b")


@pytest.mark.parametrize("damage", ["truncate_vectors", "edit_chunks", "bad_manifest", "remove_vectors"])
def test_damaged_index_is_never_served_and_is_rebuilt(news_corpus, index_dir, fake_embedder, damage):
    built = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    folder = only_index_folder(index_dir)
    if damage == "truncate_vectors":
        data = (folder / VECTORS_FILE).read_bytes()
        (folder / VECTORS_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "edit_chunks":
        with (folder / CHUNKS_FILE).open("a", encoding="utf-8") as handle:
            handle.write("{}\n")
    elif damage == "bad_manifest":
        (folder / MANIFEST).write_text("{not json", encoding="utf-8")
    else:
        (folder / VECTORS_FILE).unlink()
    assert CorpusIndex.load(folder, built.index.key) is None
    again = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert again.built
    assert CorpusIndex.load(folder, built.index.key) is not None


def test_no_temporary_folders_are_left_behind(news_corpus, index_dir, fake_embedder):
    QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".")] == []


def test_failed_save_keeps_the_index_in_memory_with_a_warning(news_corpus, index_dir, fake_embedder, monkeypatch):
    def refuse(self, folder, *, source=None):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(CorpusIndex, "save", refuse)
    bot = QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
    assert bot.built and bot.index.chunks
    assert any("cannot save the index" in w and "Permission denied" in w for w in bot.warnings)


def test_unwritable_cache_path_builds_in_memory_with_a_warning(news_corpus, tmp_path, fake_embedder):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    documents = list(load_corpus(news_corpus).documents.values())
    loaded = load_or_build(documents, fake_embedder, root=blocker / "indexes")
    assert loaded.built and loaded.index.chunks
    assert loaded.warning and "QA_INDEX_DIR" in loaded.warning


def test_large_corpora_get_an_approximate_index_that_answers_alike(news_corpus, tmp_path, fake_embedder, monkeypatch):
    import faiss

    import qa.index

    exact = QA.from_directory(news_corpus, index_dir=tmp_path / "exact", embedder=fake_embedder)
    monkeypatch.setattr(qa.index, "APPROXIMATE_FROM", 1)
    approximate = QA.from_directory(news_corpus, index_dir=tmp_path / "hnsw", embedder=fake_embedder)
    reloaded = QA.from_directory(news_corpus, index_dir=tmp_path / "hnsw", embedder=fake_embedder)
    assert isinstance(exact.index.vectors, faiss.IndexFlatIP)
    assert isinstance(approximate.index.vectors, faiss.IndexHNSWFlat)
    assert isinstance(reloaded.index.vectors, faiss.IndexHNSWFlat) and not reloaded.built
    for question in ("How much did the bridge cost?", "Who is the mayor?", "When will the ferry stop?"):
        assert reloaded.answer(question).quotes[0].text == exact.answer(question).quotes[0].text


def test_an_index_saved_as_hnsw_loads_as_the_kind_its_size_calls_for_now(news_corpus, tmp_path, fake_embedder,
                                                                          monkeypatch):
    import faiss

    import qa.index

    monkeypatch.setattr(qa.index, "APPROXIMATE_FROM", 1)
    saved = QA.from_directory(news_corpus, index_dir=tmp_path, embedder=fake_embedder)
    monkeypatch.undo()
    reloaded = QA.from_directory(news_corpus, index_dir=tmp_path, embedder=fake_embedder)
    assert isinstance(saved.index.vectors, faiss.IndexHNSWFlat)
    assert isinstance(reloaded.index.vectors, faiss.IndexFlatIP) and not reloaded.built
    assert np.array_equal(reloaded.index.vectors.reconstruct_n(0, reloaded.index.vectors.ntotal),
                          saved.index.vectors.reconstruct_n(0, saved.index.vectors.ntotal))


def test_misspelt_words_are_respelt_as_the_corpus_writes_them():
    lexical = LexicalIndex(["Traders welcomed the footbridge.", "The footbridge opened on Monday."])
    assert lexical.respell("When did the footbrige open?") == "When did the footbridge open?"
    assert lexical.respell("Wellcomed by Traderz") == "Welcomed by Traders"


def test_english_words_the_corpus_lacks_are_not_respelt():
    lexical = LexicalIndex(["The chain of shops opened."])
    assert lexical.correct("chair") == "chair"
    assert lexical.respell("Who chairs the shops?") == "Who chairs the shops?"


def test_acronyms_are_read_from_where_the_corpus_spells_them_out():
    texts = ["The Association of Directors of Social Services (ADSS) backed the plan.",
             "Ministers met the Screen Actors Guild (SAG) and the BBC.", "Prices rose (SHARPLY) today."]
    assert defined_acronyms(texts) == {"ADSS": "Association of Directors of Social Services",
                                       "SAG": "Screen Actors Guild"}


def test_only_the_acronym_a_question_asks_about_is_spelt_out():
    lexical = LexicalIndex(["The Association of Directors of Social Services (ADSS) backed the plan."])
    assert lexical.expand("What is the ADSS, which backed the plan?") == \
        "What is the ADSS (Association of Directors of Social Services), which backed the plan?"
    assert lexical.expand("What does ADSS stand for?") == \
        "What does ADSS (Association of Directors of Social Services) stand for?"
    assert lexical.expand("When did the ADSS back the plan?") == "When did the ADSS back the plan?"
    assert lexical.expand("What is the BBC?") == "What is the BBC?"


QUESTIONS = ("How much did the bridge cost?", "Who is the mayor?", "How many visitors are expected?",
             "What did the harbour master say?")
HARBOUR = """Harbour master retires

The harbour master, Ann Kerr, retired on Tuesday after 30 years.

"The sea has been good to me," she said.
"""


@pytest.fixture
def three_files(tmp_path: Path) -> Path:
    folder = tmp_path / "three"
    folder.mkdir()
    for name, text in (("bridge.txt", NEWS), ("harbour.txt", HARBOUR), ("museum.txt", MUSEUM)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def edit(folder: Path, change: str) -> set[str]:
    """Change, add or delete files in `folder`; the files that must be embedded again."""
    if change == "change":
        with (folder / "harbour.txt").open("a", encoding="utf-8") as handle:
            handle.write("\nShe will be replaced by her deputy, Tom Reid.\n")
        return {"harbour.txt"}
    if change == "add":
        (folder / "ferry.txt").write_text("Ferry stops\n\nThe old ferry will stop in April, the mayor said.\n",
                                          encoding="utf-8")
        return {"ferry.txt"}
    if change == "delete":
        (folder / "harbour.txt").unlink()
        return set()
    (folder / "museum.txt").write_text(MUSEUM.replace("50,000", "60,000"), encoding="utf-8")
    (folder / "bridge.txt").unlink()
    (folder / "a-new-first-file.txt").write_text(HARBOUR.replace("Ann Kerr", "Jo Bell"), encoding="utf-8")
    return {"museum.txt", "a-new-first-file.txt"}


def contexts(folder: Path, ids: set[str]) -> list[str]:
    documents = load_corpus(folder).documents
    return [chunk.context for doc_id in sorted(ids) for chunk in chunk_document(documents[doc_id])]


def assert_same_index(bot: QA, fresh: QA) -> None:
    """Same chunks in the same order, same vectors bit for bit, same answers."""
    assert bot.index.key == fresh.index.key
    assert bot.index.chunks == fresh.index.chunks
    assert bot.index.documents == fresh.index.documents
    assert type(bot.index.vectors) is type(fresh.index.vectors)
    assert np.array_equal(bot.index.vectors.reconstruct_n(0, bot.index.vectors.ntotal),
                          fresh.index.vectors.reconstruct_n(0, fresh.index.vectors.ntotal))
    for question in QUESTIONS:
        assert bot.answer(question).to_json() == fresh.answer(question).to_json()


@pytest.mark.parametrize("approximate", [False, True], ids=["flat", "hnsw"])
@pytest.mark.parametrize("change, plan", [
    ("change", Plan(reused=2, changed=1, added=0, removed=0, incremental=True)),
    ("add", Plan(reused=3, changed=0, added=1, removed=0, incremental=True)),
    ("delete", Plan(reused=2, changed=0, added=0, removed=1, incremental=True)),
    ("several", Plan(reused=1, changed=1, added=1, removed=1, incremental=True)),
])
def test_only_changed_and_new_files_are_embedded_and_the_index_equals_a_full_build(
        three_files, index_dir, tmp_path, change, plan, approximate, monkeypatch):
    if approximate:
        monkeypatch.setattr("qa.index.APPROXIMATE_FROM", 1)
    QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    embedded = edit(three_files, change)
    embedder, plans = FakeEmbedder(), []
    bot = QA.from_directory(three_files, index_dir=index_dir, embedder=embedder, on_plan=plans.append)
    assert bot.built and plans == [plan]
    assert sorted(embedder.texts) == sorted(contexts(three_files, embedded))
    assert embedder.calls == (1 if embedded else 0)
    assert_same_index(bot, QA.from_directory(three_files, index_dir=tmp_path / "fresh", embedder=FakeEmbedder()))
    again = FakeEmbedder()
    reloaded = QA.from_directory(three_files, index_dir=index_dir, embedder=again)
    assert not reloaded.built and again.calls == 0
    assert_same_index(reloaded, bot)


def test_each_update_starts_from_the_newest_index_of_the_folder(three_files, index_dir):
    QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    edit(three_files, "change")
    QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    edit(three_files, "add")
    embedder = FakeEmbedder()
    QA.from_directory(three_files, index_dir=index_dir, embedder=embedder)
    assert sorted(embedder.texts) == sorted(contexts(three_files, {"ferry.txt"}))


def test_another_folder_never_lends_its_vectors(three_files, index_dir, tmp_path):
    QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in three_files.iterdir():
        (copy / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    embedder, plans = FakeEmbedder(), []
    edit(copy, "add")
    QA.from_directory(copy, index_dir=index_dir, embedder=embedder, on_plan=plans.append)
    assert not plans[0].incremental
    assert sorted(embedder.texts) == sorted(contexts(copy, {"bridge.txt", "harbour.txt", "museum.txt", "ferry.txt"}))


@pytest.mark.parametrize("damage", ["truncate_vectors", "edit_documents", "bad_manifest", "older_format"])
def test_a_damaged_previous_index_means_a_full_build(three_files, index_dir, tmp_path, damage):
    QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    previous = only_index_folder(index_dir)
    if damage == "truncate_vectors":
        data = (previous / VECTORS_FILE).read_bytes()
        (previous / VECTORS_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "edit_documents":
        entries = json.loads((previous / DOCUMENTS_FILE).read_text(encoding="utf-8"))
        entries[0]["end"] += 1
        (previous / DOCUMENTS_FILE).write_text(json.dumps(entries), encoding="utf-8")
    else:
        manifest = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
        manifest["format"] = "2"
        (previous / MANIFEST).write_text("[not a manifest" if damage == "bad_manifest" else json.dumps(manifest),
                                         encoding="utf-8")
    edit(three_files, "change")
    embedder, plans = FakeEmbedder(), []
    bot = QA.from_directory(three_files, index_dir=index_dir, embedder=embedder, on_plan=plans.append)
    assert plans == [Plan(reused=0, changed=0, added=3, removed=0, incremental=False)]
    assert sorted(embedder.texts) == sorted(contexts(three_files, {"bridge.txt", "harbour.txt", "museum.txt"}))
    assert_same_index(bot, QA.from_directory(three_files, index_dir=tmp_path / "fresh", embedder=FakeEmbedder()))
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".")]
    assert CorpusIndex.load(index_dir / bot.index.key[:24], bot.index.key) is not None


def test_rebuild_embeds_everything_even_when_the_index_is_current(three_files, index_dir):
    first = QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder())
    embedder, plans = FakeEmbedder(), []
    again = QA.from_directory(three_files, index_dir=index_dir, embedder=embedder, on_plan=plans.append, rebuild=True)
    assert again.built and not plans[0].incremental
    assert embedder.texts == [chunk.context for chunk in first.index.chunks]
    assert_same_index(again, first)


def test_cli_index_says_what_it_reuses_and_full_embeds_everything(three_files, index_dir, capsys, monkeypatch):
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    command = ["index", str(three_files), "--index-dir", str(index_dir)]
    assert main(command) == 0
    assert "qa: embedding all 3 documents" in capsys.readouterr().err
    edit(three_files, "change")
    assert main(command) == 0
    output = capsys.readouterr()
    assert "qa: re-using 2 unchanged documents, embedding 1 changed and 0 new, dropping 0 removed" in output.err
    assert output.out.startswith("Index built: 3 documents")
    assert main(command) == 0
    output = capsys.readouterr()
    assert output.err == "" and output.out.startswith("Index loaded")
    assert main([*command, "--full"]) == 0
    output = capsys.readouterr()
    assert "qa: embedding all 3 documents" in output.err and output.out.startswith("Index built")
