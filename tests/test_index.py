from pathlib import Path

import pytest

from qa import QA
from qa.index import (CHUNKS_FILE, MANIFEST, VECTORS_FILE, CorpusIndex, LexicalIndex, corpus_key, defined_acronyms,
                      load_or_build)
from qa.loader import load_corpus


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
    def refuse(self, folder):
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
