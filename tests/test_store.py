"""The Milvus store (`--store`): answers as the folder's own index does, incremental and atomic
writes, refusal of another model's store, and every fault a clear `IndexStoreError` naming the
URI. Against Milvus Lite, as a file and through its gRPC server on a loopback port."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa import QA
from qa.api import create_app
from qa.cli import main
from qa.errors import IndexStoreError
from qa.index import Plan
from qa.live import LiveEngine
from qa.store import CHUNKS, INDEXING_TIMEOUT_SECONDS, RECORDS, TIMEOUT_SECONDS, MilvusStore

from conftest import FakeEmbedder
from serving import LiteServer, free_port
from test_index import QUESTIONS, contexts, edit, three_files  # noqa: F401  (three_files is a fixture)


@pytest.fixture
def server(tmp_path):
    running = LiteServer(tmp_path / "served")
    yield running
    running.stop()


@pytest.fixture
def store_file(tmp_path) -> str:
    return str(tmp_path / "store.db")


def answers(bot: QA) -> list[dict]:
    return [bot.answer(question).to_json() for question in QUESTIONS]


def build(folder: Path, uri: str, embedder: FakeEmbedder | None = None, **options) -> QA:
    return QA.from_directory(folder, store=uri, embedder=embedder or FakeEmbedder(), **options)


def assert_same_engine(bot: QA, reference: QA) -> None:
    assert bot.documents == reference.documents
    assert bot.index.chunks == reference.index.chunks
    assert answers(bot) == answers(reference)


@pytest.mark.parametrize("via", ["file", "server"])
def test_a_store_answers_as_the_folder_index_does(three_files, index_dir, store_file, via, request):
    uri = store_file if via == "file" else request.getfixturevalue("server").uri
    built = build(three_files, uri)
    assert built.built
    replica = QA.from_store(uri, embedder=FakeEmbedder())
    assert not replica.built
    assert_same_engine(replica, QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()))


@pytest.mark.parametrize("change, plan", [
    ("change", Plan(reused=2, changed=1, added=0, removed=0, incremental=True)),
    ("add", Plan(reused=3, changed=0, added=1, removed=0, incremental=True)),
    ("delete", Plan(reused=2, changed=0, added=0, removed=1, incremental=True)),
    ("several", Plan(reused=1, changed=1, added=1, removed=1, incremental=True)),
])
def test_writes_embed_only_changed_and_new_documents(three_files, index_dir, store_file, change, plan):
    first = []
    build(three_files, store_file, on_plan=first.append)
    assert first == [Plan(reused=0, changed=0, added=3, removed=0, incremental=False)]
    embedded = edit(three_files, change)
    embedder, plans = FakeEmbedder(), []
    updated = build(three_files, store_file, embedder, on_plan=plans.append)
    assert plans == [plan] and updated.built
    assert sorted(embedder.texts) == sorted(contexts(three_files, embedded))
    assert_same_engine(QA.from_store(store_file, embedder=FakeEmbedder()),
                       QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()))


def test_an_unchanged_folder_writes_nothing_and_full_rewrites_all(three_files, store_file):
    build(three_files, store_file)
    embedder, plans = FakeEmbedder(), []
    again = build(three_files, store_file, embedder, on_plan=plans.append)
    assert not again.built and embedder.calls == 0 and plans[0].reused == 3
    embedder = FakeEmbedder()
    full = build(three_files, store_file, embedder, rebuild=True)
    assert full.built and sorted(embedder.texts) == sorted(contexts(three_files, {"bridge.txt", "harbour.txt",
                                                                                    "museum.txt"}))
    assert_same_engine(QA.from_store(store_file, embedder=FakeEmbedder()), again)


def unsealed(store_file: str) -> list[str]:
    """The write-ahead logs of a Milvus Lite file: where its growing (unsealed) rows wait."""
    return [path.name for path in Path(store_file).glob("collections/*/wal/wal_data_*")]


@pytest.mark.parametrize("change", ["add", "delete"])
def test_a_write_ends_with_what_it_wrote_sealed(three_files, store_file, change):
    build(three_files, store_file)
    assert unsealed(store_file) == []
    edit(three_files, change)
    build(three_files, store_file)
    assert unsealed(store_file) == []


def test_a_replica_loads_and_readies_the_indexes_waiting_as_long_as_indexing_takes(three_files, store_file,
                                                                                  monkeypatch):
    build(three_files, store_file)
    searches, real_search = [], MilvusStore.search

    def search(self, field, query, depth, **options):
        searches.append((field, depth, options.get("timeout")))
        return real_search(self, field, query, depth, **options)

    from pymilvus import MilvusClient

    loads, real_load = [], MilvusClient.load_collection

    def load_collection(self, name, **options):
        loads.append((name, options.get("timeout")))
        return real_load(self, name, **options)

    monkeypatch.setattr(MilvusStore, "search", search)
    monkeypatch.setattr(MilvusClient, "load_collection", load_collection)
    QA.from_store(store_file, embedder=FakeEmbedder())
    assert sorted(searches) == [("sparse", 1, INDEXING_TIMEOUT_SECONDS), ("vector", 1, INDEXING_TIMEOUT_SECONDS)]
    assert sorted(loads) == [(CHUNKS, INDEXING_TIMEOUT_SECONDS), (RECORDS, INDEXING_TIMEOUT_SECONDS)]
    assert INDEXING_TIMEOUT_SECONDS > TIMEOUT_SECONDS


@pytest.mark.parametrize("killed_at", ["chunks", "texts", "document row"])
def test_a_killed_build_leaves_documents_whole_and_a_rerun_finishes(three_files, store_file, index_dir, killed_at,
                                                                     monkeypatch):
    before = build(three_files, store_file)
    edit(three_files, "several")
    writes = {"chunks": 1, "texts": 2, "document row": 3}[killed_at]
    real_upsert = MilvusStore._upsert
    calls = 0

    def dies(self, collection, rows):
        nonlocal calls
        calls += 1
        if calls == writes:
            raise KeyboardInterrupt  # the build is killed during its first document's writes
        real_upsert(self, collection, rows)

    monkeypatch.setattr(MilvusStore, "_upsert", dies)
    with pytest.raises(KeyboardInterrupt):
        build(three_files, store_file)
    monkeypatch.undo()
    halfway = QA.from_store(store_file, embedder=FakeEmbedder())
    assert halfway.documents == before.documents and halfway.index.chunks == before.index.chunks
    assert_same_engine(build(three_files, store_file),
                       QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()))


def test_two_writers_on_one_store_end_with_each_document_once(three_files, server, index_dir):
    errors: list[BaseException] = []

    def write() -> None:
        try:
            build(three_files, server.uri)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    replica = QA.from_store(server.uri, embedder=FakeEmbedder())
    assert_same_engine(replica, QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()))
    from pymilvus import MilvusClient

    (counted,) = MilvusClient(server.uri).query(CHUNKS, filter="position >= 0", output_fields=["count(*)"])
    assert counted["count(*)"] == len(replica.index.chunks)


def _rival_creates_first(monkeypatch, listed_after: float) -> None:
    """Every creation of the chunks collection fails as when another writer's came first, and the
    collection it made is listed only `listed_after` seconds later."""
    create, has = MilvusStore._create_chunks, MilvusStore._has
    hidden_until: list[float] = []

    def created_by_a_rival(self, dimension):
        create(self, dimension)
        hidden_until.append(time.monotonic() + listed_after)
        raise OSError("[Errno 17] File exists: 'collections/qa_chunks'")

    def listed(self, collection):
        return has(self, collection) and not (collection == CHUNKS and hidden_until
                                              and time.monotonic() < hidden_until[0])

    monkeypatch.setattr(MilvusStore, "_create_chunks", created_by_a_rival)
    monkeypatch.setattr(MilvusStore, "_has", listed)


def test_a_writer_whose_creation_lost_the_race_waits_for_the_rival_s_collection(three_files, store_file,
                                                                                 index_dir, monkeypatch):
    _rival_creates_first(monkeypatch, listed_after=0.5)
    assert_same_engine(build(three_files, store_file),
                       QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()))


def test_a_creation_that_failed_with_no_rival_in_sight_is_an_error(three_files, store_file, monkeypatch):
    monkeypatch.setattr("qa.store.RIVAL_CREATION_SECONDS", 0.3)
    _rival_creates_first(monkeypatch, listed_after=30)
    with pytest.raises(IndexStoreError, match="creating qa_chunks failed: .*File exists"):
        build(three_files, store_file)


class OtherModel(FakeEmbedder):
    fingerprint = "other-model-7"


def test_a_store_of_another_model_or_chunker_is_refused_naming_both(three_files, store_file, monkeypatch):
    build(three_files, store_file)
    with pytest.raises(IndexStoreError, match=r"store\.db: the store was built with model fake-embedder-1.*"
                                              r"this process uses model other-model-7"):
        build(three_files, store_file, OtherModel())
    with pytest.raises(IndexStoreError, match="fake-embedder-1.*other-model-7"):
        QA.from_store(store_file, embedder=OtherModel())
    monkeypatch.setattr("qa.store.CHUNKER_VERSION", "chunker-from-the-future")
    with pytest.raises(IndexStoreError, match=r"chunker \S+.*chunker chunker-from-the-future"):
        QA.from_store(store_file, embedder=FakeEmbedder())


@pytest.mark.parametrize("uri, message", [
    ("not-a-store", "not-a-store: not a store: give a Milvus Lite file"),
    ("{tmp}/missing.db", "missing.db: no such store; build one with `qa index DIR --store"),
])
def test_a_uri_that_names_no_store_is_refused(tmp_path, uri, message):
    with pytest.raises(IndexStoreError, match=message):
        QA.from_store(uri.format(tmp=tmp_path), embedder=FakeEmbedder())


def test_an_unreachable_server_is_a_clear_error_within_the_timeout(monkeypatch):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(IndexStoreError, match=f"{uri}: connecting failed"):
        MilvusStore(uri, timeout=3)
    assert time.monotonic() - started < 10


def test_a_server_without_the_collections_says_to_build_the_store(server):
    with pytest.raises(IndexStoreError, match=f"{server.uri}: holds no qa index .*qa index DIR --store"):
        QA.from_store(server.uri, embedder=FakeEmbedder())


def test_a_server_gone_mid_answer_is_an_error_and_the_api_says_503(three_files, server, monkeypatch):
    monkeypatch.setattr("qa.store.TIMEOUT_SECONDS", 3)
    build(three_files, server.uri)
    replica = QA.from_store(server.uri, embedder=FakeEmbedder())
    assert replica.answer(QUESTIONS[0]).quotes
    server.stop()
    started = time.monotonic()
    with pytest.raises(IndexStoreError, match=f"{server.uri}: searching failed"):
        replica.answer(QUESTIONS[0])
    assert time.monotonic() - started < 30
    with TestClient(create_app(LiveEngine(replica))) as client:
        reply = client.post("/api/answer", json={"question": QUESTIONS[0]})
    assert reply.status_code == 503
    assert reply.json()["error"].startswith(f"{server.uri}: searching failed")


def test_cli_indexes_into_a_store_and_answers_from_it(three_files, store_file, index_dir, capsys, monkeypatch):
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    assert main(["index", str(three_files), "--store", store_file]) == 0
    output = capsys.readouterr()
    assert "qa: embedding all 3 documents" in output.err
    assert output.out.startswith(f"Store {store_file} updated: 3 documents")
    assert main(["index", str(three_files), "--store", store_file]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert main(["ask", QUESTIONS[0], "--store", store_file, "--json"]) == 0
    from_store = capsys.readouterr().out
    assert main(["ask", QUESTIONS[0], "--corpus", str(three_files), "--index-dir", str(index_dir), "--json"]) == 0
    assert from_store == capsys.readouterr().out


def test_cli_store_faults_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    missing = str(tmp_path / "missing.db")
    assert main(["ask", "Who is the mayor?", "--store", missing]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"qa: error: {missing}: no such store") and error.count("\n") == 1
    unreachable = f"http://127.0.0.1:{free_port()}"
    assert main(["ask", "Who is the mayor?", "--store", unreachable]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"qa: error: {unreachable}: connecting failed") and error.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["ask", "Who is the mayor?", "--store", missing, "--corpus", str(tmp_path)])
    assert "cannot be combined with --corpus" in capsys.readouterr().err


def test_a_wrong_token_is_one_line_naming_the_uri(monkeypatch, capsys):
    """Milvus Lite has no users, so the server's refusal is played by a client that raises what
    pymilvus raises when a Milvus server with authentication turns a token down."""
    from types import SimpleNamespace

    from pymilvus import MilvusException

    tokens = []

    def refusing(*, uri, token, timeout):
        tokens.append(token)
        raise MilvusException(code=1800, message="auth check failure, please check username and password are correct")

    monkeypatch.setattr("qa.store._pymilvus", lambda: SimpleNamespace(MilvusClient=refusing))
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    monkeypatch.setenv("QA_STORE_TOKEN", "reader:wrong")
    uri = "http://milvus.example:19530"
    assert main(["ask", "Who is the mayor?", "--store", uri]) == 1
    error = capsys.readouterr().err
    assert error == f"qa: error: {uri}: connecting failed: auth check failure, please check username and password are correct\n"
    assert tokens == ["reader:wrong"]


def test_a_store_missing_a_collection_is_a_clear_error(three_files, store_file):
    from pymilvus import MilvusClient

    build(three_files, store_file)
    MilvusClient(store_file).drop_collection(CHUNKS)
    with pytest.raises(IndexStoreError, match=f"{store_file}: loading {CHUNKS} failed"):
        QA.from_store(store_file, embedder=FakeEmbedder())


def test_a_stores_search_scores_and_spelling_are_the_folder_index_s(three_files, store_file, index_dir):
    folder = QA.from_directory(three_files, index_dir=index_dir, embedder=FakeEmbedder()).index
    stored = build(three_files, store_file).index
    for query in (["bridg", "cost"], ["mayor", "mayor", "ferri"], ["harbour", "unheardof"], ["unheardof"]):
        assert np.allclose(stored.lexical.scores(query), folder.lexical.scores(query), rtol=1e-5, atol=1e-7)
    for text in ("When did the footbrige open?", "Who is the harbour mastr?", "What is the museum's directr?"):
        assert stored.lexical.spell(text) == folder.lexical.spell(text)
    for question in QUESTIONS:
        query = FakeEmbedder().encode([question])[0]
        assert np.allclose(stored.cosines(query), folder.cosines(query), atol=1e-6)


def test_a_store_file_another_process_holds_is_a_clear_error(three_files, store_file):
    build(three_files, store_file)
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(store_file)  # this process lets go of the file
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from pymilvus import MilvusClient; "
                               f"MilvusClient({store_file!r}); print('holding', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        with pytest.raises(IndexStoreError, match=f"{store_file}: opening the Milvus Lite file "
                                                  r"\(one process at a time\) failed"):
            QA.from_store(store_file, embedder=FakeEmbedder())
    finally:
        holder.communicate("")


def test_cli_eval_from_a_store_gives_the_folders_figures(three_files, store_file, index_dir, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setattr("qa.engine.MiniLMEmbedder", FakeEmbedder)
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "How much did the bridge cost?", "answers": ["£4.2m"]}\n'
                         '{"question": "Who is the harbour master?", "answers": ["Ann Kerr"]}\n'
                         '{"question": "What is the capital of Peru?", "answerable": false}\n', encoding="utf-8")
    assert main(["index", str(three_files), "--store", store_file]) == 0
    capsys.readouterr()
    assert main(["eval", str(questions), "--store", store_file, "--json"]) == 0
    from_store = json.loads(capsys.readouterr().out)
    assert main(["eval", str(questions), "--corpus", str(three_files), "--index-dir", str(index_dir), "--json"]) == 0
    assert from_store == json.loads(capsys.readouterr().out)
    assert from_store["answerable"] == 2 and from_store["unanswerable"] == 1
