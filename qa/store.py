"""The index in Milvus (`--store URI`): one store that any number of processes answer from.

A URI ending in `.db` is a Milvus Lite store on this machine; `http://host:19530` (with a token
when the server asks for one) a Milvus server, standalone or distributed. The store holds all
that answering needs, so a process given only the URI answers like one given the folder:

- collection `qa_chunks`: each chunk's document, position, offsets, kind, speaker and context,
  its vector (HNSW, inner product) and its terms (`qa.index.chunk_terms`), which Milvus searches
  with its BM25 function (sparse inverted index);
- collection `qa_records`: the store's manifest (model fingerprint, chunker version), one row
  per document (its metadata, its count of terms, and which version of it readers see), and
  each document's text and its terms' chunk frequencies, in parts of at most `PART_CHARS`
  characters: together, the corpus's vocabulary for respelling and BM25's statistics.

Writing (`MilvusStore.write`) is incremental by `qa.index.document_key`: unchanged documents are
left alone, a new or changed one is chunked and embedded, its rows are written under its key (a
re-run writes the same rows again), and only then is its document row pointed at that key;
the rows of the version it replaced are deleted after, and what was written is flushed (sealed,
so it is searched through its indexes). Readers take the documents' rows first
and only rows of the versions those name, so a build killed midway leaves every document as
it was before or as it is now, and re-running it finishes the job. A store written with another
model or chunker version is refused, naming both.

Reading (`MilvusStore.load`) fetches the documents and chunk records (not the vectors) once;
`StoreIndex` then asks Milvus for the top `DENSE_DEPTH` chunks by cosine and the top
`LEXICAL_DEPTH` by BM25 per search, and gives the chunks not returned the depth's floor
(`qa.index.depth_scores`), so the retriever computes the same signals as in-process for the
chunks returned. The chunks BM25 returns are scored here (`qa.index.bm25`) from the corpus-wide
statistics the store records: Milvus Lite weighs terms by each segment's own statistics, which
would make a chunk's score depend on where it was stored. Every call to Milvus has a timeout; a failure is an `IndexStoreError` naming
the URI. pymilvus is imported on first use.

What it leaves out: answering from documents written after a process loaded the store (restart
it), removing rows left by a build killed before it flipped a document that was then deleted
from the folder (they are never read), and contexts past Milvus's 65,535-byte strings (cut at
that length in the store; the vector is of the whole context).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunker import CHUNKER_VERSION, chunk_document
from qa.embedder import Embedder
from qa.errors import IndexStoreError
from qa.index import (APPROXIMATE_DEPTH, APPROXIMATE_FROM, BM25_B, BM25_K1, DENSE_DEPTH, HNSW_LINKS, Lexicon, Plan,
                      bm25, chunk_terms, depth_scores, document_key, term_frequency)
from qa.records import Chunk, Document

STORE_FORMAT = "1"
CHUNKS = "qa_chunks"
RECORDS = "qa_records"
TIMEOUT_SECONDS = float(os.environ.get("QA_STORE_TIMEOUT", "10"))
"""Longest wait for one call to Milvus before it counts as failed."""
INDEXING_TIMEOUT_SECONDS = max(TIMEOUT_SECONDS, 600.0)
"""Longest wait for Milvus to seal what a write added, or to ready its indexes for a process that
loads the store: minutes for a large one."""
RIVAL_CREATION_SECONDS = 5.0
"""How long a writer whose creating a collection failed watches for another writer's to appear
(Milvus may refuse the second creation before the first is listed)."""
LEXICAL_DEPTH = 4096
COUNTED_CHUNKS = 65_536
"""Chunks whose term counts a process keeps for scoring BM25's finds again."""
PART_CHARS = 16_000
"""Characters of text in one row: at most 4 UTF-8 bytes each, so a part fits a Milvus string."""
MAX_STRING_BYTES = 65_535
WRITE_BATCH = 512
EMBED_GROUP = 256
"""Chunks embedded in one call: several small documents share a batch, as in a full build."""
READ_BATCH = 4096
LOAD_ATTEMPTS = 3
"""Reads of a store that a writer changes meanwhile, before giving up."""
_RECORD_VECTOR = [0.0, 0.0]
"""Milvus wants a vector in every collection; `qa_records` rows carry this one."""
_CHUNK_FIELDS = ("kind", "start", "end", "first_sentence", "last_sentence", "paragraph", "speaker",
                 "group_first", "group_last")
_DOCUMENT_FIELDS = ("title", "path", "date", "author", "outlet", "body_offset", "pages")


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_uri(uri: str) -> str:
    """`uri` as given when it names a store; else an `IndexStoreError` saying what does."""
    if is_server(uri) or uri.endswith(".db"):
        return uri
    raise IndexStoreError(f"{uri}: not a store: give a Milvus Lite file (a path ending in .db) "
                          "or a Milvus server (http://host:19530)")


@dataclass(frozen=True)
class StoreManifest:
    """What the vectors and chunks of a store were made with."""

    format: str
    model: str
    """The embedder's fingerprint."""
    chunker: str
    dimension: int

    @classmethod
    def of(cls, embedder: Embedder) -> StoreManifest:
        return cls(STORE_FORMAT, embedder.fingerprint, CHUNKER_VERSION, embedder.dimension)

    def refusal(self, uri: str, wanted: StoreManifest) -> IndexStoreError | None:
        """Why a store with this manifest cannot serve `wanted`'s model and chunker, or None."""
        if (self.format, self.model, self.chunker) == (wanted.format, wanted.model, wanted.chunker):
            return None
        return IndexStoreError(
            f"{uri}: the store was built with model {self.model}, chunker {self.chunker} (store format "
            f"{self.format}); this process uses model {wanted.model}, chunker {wanted.chunker} (store format "
            f"{wanted.format}). Build a new store with `qa index DIR --store NEW_URI`.")


@dataclass(frozen=True)
class StoredDocument:
    """A document's row: the version of it readers see (its `document_key`) and what it holds."""

    id: str
    key: str
    metadata: dict[str, Any]
    """The `Document` fields besides id and text, the counts of its rows ("chunks", "text_parts",
    "terms_parts") and of its chunks' terms ("terms_held")."""

    def document(self, text: str) -> Document:
        fields = {name: self.metadata[name] for name in _DOCUMENT_FIELDS}
        return Document(id=self.id, text=text, **{**fields, "pages": tuple(fields["pages"])})


@dataclass
class StoreContents:
    """What a reader takes from a store, filled in as its rows are read."""

    documents: dict[str, Document]
    chunks: list[Chunk]
    """Every visible chunk, document by document in id order, each in its document's order."""
    ids: dict[str, int]
    """Each chunk's place in `chunks`, by its primary key in the store."""
    frequency: Counter[str]
    """How many chunks hold each term."""
    terms_held: int
    """Terms in all chunks together (for BM25's average chunk length)."""


def _row_id(*parts: str) -> str:
    return ":".join(parts)[:120]


def _document_row_id(doc_id: str) -> str:
    return "document:" + hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _parts(text: str) -> list[str]:
    return [text[start:start + PART_CHARS] for start in range(0, len(text), PART_CHARS)] or [""]


def _fit(text: str) -> str:
    """`text` cut to what a Milvus string holds."""
    encoded = text.encode("utf-8", "surrogatepass")
    return text if len(encoded) <= MAX_STRING_BYTES else encoded[:MAX_STRING_BYTES].decode("utf-8", "ignore")


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())


class MilvusStore:
    """A connection to one store; every call that fails raises `IndexStoreError` naming the URI."""

    def __init__(self, uri: str, *, token: str = "", timeout: float | None = None, create: bool = False) -> None:
        """Connect to the store at `uri`; a Milvus Lite file that does not exist is made only when
        `create`. `timeout` (default TIMEOUT_SECONDS) bounds each call."""
        self.uri = check_uri(uri)
        if not is_server(uri) and not create and not Path(uri).expanduser().exists():
            raise IndexStoreError(f"{uri}: no such store; build one with `qa index DIR --store {uri}`")
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout
        pymilvus = _pymilvus()
        target = uri if is_server(uri) else str(Path(uri).expanduser().resolve())
        opening = "connecting" if is_server(uri) else "opening the Milvus Lite file (one process at a time)"
        self._client = self._call(opening, lambda: pymilvus.MilvusClient(uri=target, token=token,
                                                                         timeout=self.timeout))

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except IndexStoreError:
            raise
        except Exception as error:  # pymilvus and grpc raise many kinds: each is a store that failed us
            raise IndexStoreError(f"{self.uri}: {what} failed: {_reason(error)}") from error

    def close(self) -> None:
        self._call("closing", self._client.close)

    # Manifest and collections

    def manifest(self) -> StoreManifest | None:
        """The store's manifest, or None when it holds no index yet."""
        if not self._has(RECORDS):
            return None
        self._load_collections()
        rows = self._query(RECORDS, 'pk == "manifest"', ["data"])
        return StoreManifest(**json.loads(rows[0]["data"])) if rows else None

    def _has(self, collection: str) -> bool:
        return self._call("listing collections", lambda: self._client.has_collection(collection, timeout=self.timeout))

    def _appears(self, collection: str) -> bool:
        """Whether `collection` is listed within RIVAL_CREATION_SECONDS."""
        deadline = time.monotonic() + RIVAL_CREATION_SECONDS
        while not self._has(collection):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def _load_collections(self) -> None:
        """Load both collections into memory, waiting as long as indexing takes: loading a large
        one builds its indexes when Milvus has none saved for it."""
        for name in (RECORDS, CHUNKS):
            self._call(f"loading {name}", lambda name=name: self._client.load_collection(
                name, timeout=INDEXING_TIMEOUT_SECONDS))

    def _prepare(self, wanted: StoreManifest) -> None:
        """Create the collections and the manifest when absent; refuse another model's store."""
        found = self.manifest()
        if found is not None:
            if refusal := found.refusal(self.uri, wanted):
                raise refusal
            return
        for name, create in ((CHUNKS, self._create_chunks), (RECORDS, self._create_records)):
            if not self._has(name):
                try:
                    self._call(f"creating {name}", lambda create=create: create(wanted.dimension))
                except IndexStoreError:
                    if not self._appears(name):
                        raise  # else another writer created it first
        self._load_collections()
        self._upsert(RECORDS, [self._record("manifest", "manifest", "", "", 0, json.dumps(asdict(wanted)))])

    def _create_chunks(self, dimension: int) -> None:
        pymilvus = _pymilvus()
        types = pymilvus.DataType
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", types.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("doc_id", types.VARCHAR, max_length=MAX_STRING_BYTES)
        schema.add_field("generation", types.VARCHAR, max_length=64)
        schema.add_field("position", types.INT64)
        schema.add_field("record", types.JSON)
        schema.add_field("context", types.VARCHAR, max_length=MAX_STRING_BYTES)
        schema.add_field("terms", types.VARCHAR, max_length=MAX_STRING_BYTES, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", types.FLOAT_VECTOR, dim=dimension)
        schema.add_function(pymilvus.Function(name="bm25", function_type=pymilvus.FunctionType.BM25,
                                              input_field_names=["terms"], output_field_names=["sparse"]))
        indexes = self._client.prepare_index_params()
        indexes.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                          params={"M": HNSW_LINKS, "efConstruction": 80})
        indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        self._client.create_collection(CHUNKS, schema=schema, index_params=indexes, consistency_level="Strong",
                                       timeout=self.timeout)

    def _create_records(self, _dimension: int) -> None:
        types = _pymilvus().DataType
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", types.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("kind", types.VARCHAR, max_length=16)
        schema.add_field("doc_id", types.VARCHAR, max_length=MAX_STRING_BYTES)
        schema.add_field("generation", types.VARCHAR, max_length=64)
        schema.add_field("part", types.INT64)
        schema.add_field("data", types.VARCHAR, max_length=MAX_STRING_BYTES)
        schema.add_field("placeholder", types.FLOAT_VECTOR, dim=len(_RECORD_VECTOR))
        indexes = self._client.prepare_index_params()
        indexes.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
        self._client.create_collection(RECORDS, schema=schema, index_params=indexes, consistency_level="Strong",
                                       timeout=self.timeout)

    # Rows

    @staticmethod
    def _record(pk: str, kind: str, doc_id: str, generation: str, part: int, data: str) -> dict[str, Any]:
        return {"pk": pk, "kind": kind, "doc_id": doc_id, "generation": generation, "part": part, "data": data,
                "placeholder": _RECORD_VECTOR}

    def _upsert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start:start + WRITE_BATCH]
            self._call(f"writing to {collection}",
                       lambda: self._client.upsert(collection, batch, timeout=self.timeout))

    def _query(self, collection: str, condition: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row of `collection` meeting `condition`, with `fields`."""

        def read() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            cursor = self._client.query_iterator(collection, batch_size=READ_BATCH, filter=condition,
                                                 output_fields=fields, timeout=self.timeout)
            try:
                while batch := cursor.next():
                    rows.extend(batch)
            finally:
                cursor.close()
            return rows

        return self._call(f"reading {collection}", read)

    def _delete(self, collection: str, condition: str) -> None:
        self._call(f"deleting from {collection}",
                   lambda: self._client.delete(collection, filter=condition, timeout=self.timeout))

    def documents(self) -> dict[str, StoredDocument]:
        """The documents readers see, by id."""
        rows = self._query(RECORDS, 'kind == "document"', ["doc_id", "generation", "data"])
        return {row["doc_id"]: StoredDocument(row["doc_id"], row["generation"], json.loads(row["data"]))
                for row in rows}

    # Writing

    def write(self, documents: list[Document], embedder: Embedder, *,
              progress: Callable[[int, int], None] | None = None,
              on_plan: Callable[[Plan], None] | None = None, rebuild: bool = False) -> Plan:
        """Make the store hold exactly these documents: new and changed ones (all with `rebuild`)
        chunked, embedded and written one at a time, removed ones deleted. `on_plan(plan)` is
        called before any embedding, `progress(done, total)` as chunks are embedded."""
        self._prepare(StoreManifest.of(embedder))
        stored = self.documents()
        keys = {document.id: document_key(document, embedder.fingerprint) for document in documents}
        unchanged = {doc_id for doc_id, key in keys.items()
                     if not rebuild and doc_id in stored and stored[doc_id].key == key}
        plan = Plan.of(documents, len(unchanged), stored.keys() if stored and not rebuild else None)
        if on_plan:
            on_plan(plan)
        chunked = {document.id: chunk_document(document) for document in documents if document.id not in unchanged}
        total = sum(len(chunks) for chunks in chunked.values())
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        for group in _groups([document for document in documents if document.id in chunked], chunked):
            texts = [chunk.context for document in group for chunk in chunked[document.id]]
            vectors = (embedder.encode(texts, progress=advance) if texts
                       else np.zeros((0, embedder.dimension), dtype=np.float32))
            first = 0
            for document in group:
                chunks = chunked[document.id]
                self._write_document(document, keys[document.id], chunks, vectors[first:first + len(chunks)])
                first += len(chunks)
                if document.id in stored and stored[document.id].key != keys[document.id]:
                    self._delete_version(stored[document.id].key)
        for doc_id in stored.keys() - keys.keys():
            self._call("deleting a document",
                       lambda doc_id=doc_id: self._client.delete(RECORDS, ids=[_document_row_id(doc_id)],
                                                                 timeout=self.timeout))
            self._delete_version(stored[doc_id].key)
        if chunked or stored.keys() - keys.keys():
            self._seal()
        return plan

    def _seal(self) -> None:
        """Flush both collections, so what was written is searched through its indexes: Milvus
        leaves fresh rows in a growing segment, which Milvus Lite searches by rebuilding their
        indexes on every search (measured: 9 s an answer from 100k sentences, 2 s sealed)."""
        for collection in (CHUNKS, RECORDS):
            self._call("sealing what was written", lambda collection=collection: self._client.flush(
                collection, timeout=INDEXING_TIMEOUT_SECONDS))

    def _write_document(self, document: Document, key: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Write one version of a document, its document row last: readers see it whole or not at all."""
        tag = key[:48]
        tokenized = [chunk_terms(chunk.context) for chunk in chunks]
        self._upsert(CHUNKS, [
            {"pk": _row_id(tag, str(position)), "doc_id": document.id, "generation": key, "position": position,
             "record": {name: getattr(chunk, name) for name in _CHUNK_FIELDS}, "context": _fit(chunk.context),
             "terms": _fit(" ".join(tokens)), "vector": vector.tolist()}
            for position, (chunk, tokens, vector) in enumerate(zip(chunks, tokenized, vectors))])
        text_parts = _parts(document.text)
        terms_parts = _parts(json.dumps(term_frequency(tokenized), ensure_ascii=False))
        self._upsert(RECORDS, [
            self._record(_row_id(kind, tag, str(part)), kind, document.id, key, part, data)
            for kind, parts in (("text", text_parts), ("terms", terms_parts)) for part, data in enumerate(parts)])
        metadata = {**{name: getattr(document, name) for name in _DOCUMENT_FIELDS}, "chunks": len(chunks),
                    "terms_held": sum(len(tokens) for tokens in tokenized),
                    "text_parts": len(text_parts), "terms_parts": len(terms_parts)}
        self._upsert(RECORDS, [self._record(_document_row_id(document.id), "document", document.id, key, 0,
                                            json.dumps(metadata, ensure_ascii=False))])

    def _delete_version(self, key: str) -> None:
        self._delete(CHUNKS, f'generation == "{key}"')
        self._delete(RECORDS, f'generation == "{key}" and kind in ["text", "terms"]')

    # Reading

    def load(self, embedder: Embedder) -> tuple[dict[str, Document], StoreIndex]:
        """The documents and the index of the store, for a process embedding with `embedder`."""
        manifest = self.manifest()
        if manifest is None:
            raise IndexStoreError(f"{self.uri}: holds no qa index (no collection {RECORDS}); "
                                  f"build one with `qa index DIR --store {self.uri}`")
        if refusal := manifest.refusal(self.uri, StoreManifest.of(embedder)):
            raise refusal
        for _ in range(LOAD_ATTEMPTS):
            contents = self._read_whole()
            if contents is not None:
                lexicon = StoreLexicon(self, contents.frequency, [chunk.context for chunk in contents.chunks],
                                       contents.ids, contents.terms_held)
                self._ready(embedder.dimension, contents.frequency)
                return contents.documents, StoreIndex(self, contents.chunks, lexicon, contents.ids)
        raise IndexStoreError(f"{self.uri}: the store changed while it was read, {LOAD_ATTEMPTS} times; try again")

    def _ready(self, dimension: int, frequency: Counter[str]) -> None:
        """One search of each kind, waited for as long as indexing takes: Milvus Lite builds a
        segment's indexes at its first search after it starts (12 s for 200k chunks), longer than
        a question's searches may wait."""
        if frequency:
            self.search("vector", [0.0] * dimension, 1, timeout=INDEXING_TIMEOUT_SECONDS)
            self.search("sparse", frequency.most_common(1)[0][0], 1, timeout=INDEXING_TIMEOUT_SECONDS)

    def _read_whole(self) -> StoreContents | None:
        """What readers see of the store; None when a document's rows are not all there (a
        writer replaced it meanwhile)."""
        stored = self.documents()
        visible = {entry.key: entry for entry in stored.values()}
        parts: dict[tuple[str, str], dict[int, str]] = {}
        for row in self._query(RECORDS, 'kind in ["text", "terms"]', ["kind", "generation", "part", "data"]):
            if row["generation"] in visible:
                parts.setdefault((row["kind"], row["generation"]), {})[row["part"]] = row["data"]
        rows: dict[str, list[dict[str, Any]]] = {}
        for row in self._query(CHUNKS, 'position >= 0', ["pk", "generation", "position", "record", "context"]):
            if row["generation"] in visible:
                rows.setdefault(row["generation"], []).append(row)
        contents = StoreContents(documents={}, chunks=[], ids={}, frequency=Counter(), terms_held=0)
        for doc_id in sorted(stored):
            entry = stored[doc_id]
            text, terms = (_joined(parts.get((kind, entry.key), {}), entry.metadata[f"{kind}_parts"])
                           for kind in ("text", "terms"))
            own = sorted(rows.get(entry.key, ()), key=lambda row: row["position"])
            if text is None or terms is None or len(own) != entry.metadata["chunks"]:
                return None
            contents.documents[doc_id] = document = entry.document(text)
            contents.frequency.update(json.loads(terms))
            contents.terms_held += entry.metadata["terms_held"]
            for row in own:
                record = row["record"]
                contents.ids[row["pk"]] = len(contents.chunks)
                contents.chunks.append(Chunk(doc_id=doc_id, text=document.text[record["start"]:record["end"]],
                                             context=row["context"], **record))
        return contents

    def search(self, field: str, query: list[float] | str, depth: int, *,
               timeout: float | None = None) -> tuple[list[str], np.ndarray, bool]:
        """The primary keys and scores of the top `depth` chunks for `query` on `field` ("vector":
        inner product, "sparse": BM25, whose scores are Milvus's own), and whether the search was
        cut at that depth; waiting `timeout` (default the store's)."""
        metric = "IP" if field == "vector" else "BM25"
        params = {"metric_type": metric, "params": {"ef": max(depth, 64)} if field == "vector" else {}}
        found = self._call("searching", lambda: self._client.search(
            CHUNKS, data=[query], anns_field=field, limit=depth, search_params=params, output_fields=["pk"],
            timeout=timeout or self.timeout))[0]
        scores = np.array([hit["distance"] for hit in found], dtype=np.float32)
        return [hit["pk"] for hit in found], scores, len(found) == depth


def _groups(documents: list[Document], chunked: dict[str, list[Chunk]]) -> Iterator[list[Document]]:
    """`documents` in order, in runs of about EMBED_GROUP chunks: embedded together, written one by one."""
    group: list[Document] = []
    size = 0
    for document in documents:
        group.append(document)
        size += len(chunked[document.id])
        if size >= EMBED_GROUP:
            yield group
            group, size = [], 0
    if group:
        yield group


def _joined(parts: dict[int, str], count: int) -> str | None:
    """The parts 0..count-1 joined, or None when one is missing."""
    return "".join(parts[part] for part in range(count)) if all(part in parts for part in range(count)) else None


def _rows(ids: dict[str, int], keys: Iterable[str]) -> np.ndarray:
    """The rows of the chunks named by `keys` that this process holds: a chunk written after it
    loaded the store, or of a version it does not see, is left out."""
    return np.array([ids[key] for key in keys if key in ids], dtype=np.int64)


class StoreLexicon(Lexicon):
    """The corpus's vocabulary as the store recorded it; BM25 finds chunks in Milvus and they are
    scored here with the corpus-wide statistics (`qa.index.bm25`)."""

    def __init__(self, store: MilvusStore, frequency: Counter[str], contexts: Sequence[str], ids: dict[str, int],
                 terms_held: int) -> None:
        super().__init__(frequency, len(contexts), contexts)
        self._store = store
        self._ids = ids
        self._frequency = frequency
        self._average_length = terms_held / max(len(contexts), 1)
        self._counts = lru_cache(maxsize=COUNTED_CHUNKS)(self._count)

    def _count(self, row: int) -> tuple[Counter[str], int]:
        tokens = chunk_terms(self._contexts[row])
        return Counter(tokens), len(tokens)

    def _known(self, query_terms: Sequence[str]) -> list[str]:
        return [term for term in query_terms if term in self._frequency]

    def _found(self, known: Sequence[str]) -> tuple[np.ndarray, bool]:
        """The rows BM25 returns for the `known` terms, and whether the search was cut at its depth."""
        if not known or not self._size:
            return np.zeros(0, dtype=np.int64), False
        keys, _, cut = self._store.search("sparse", " ".join(known), min(self._size, LEXICAL_DEPTH))
        return _rows(self._ids, keys), cut

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        known = self._known(query_terms)
        rows, cut = self._found(known)
        scores = np.array([bm25(*self._counts(int(row)), known, self._frequency, self._size, self._average_length)
                           for row in rows], dtype=np.float32)
        return depth_scores(self._size, rows, scores, cut=cut)

    def holders(self, term: str) -> np.ndarray:
        rows, _ = self._found(self._known([term]))
        return np.sort(rows)


class StoreIndex:
    """A store's chunks, searched in Milvus: the `SearchIndex` a store's engine answers with."""

    def __init__(self, store: MilvusStore, chunks: list[Chunk], lexical: StoreLexicon, ids: dict[str, int]) -> None:
        self.store = store
        self.chunks = chunks
        self.lexical = lexical
        self._ids = ids

    def cosines(self, query: np.ndarray) -> np.ndarray:
        """The cosine of `query` with each chunk: the top DENSE_DEPTH (APPROXIMATE_DEPTH from
        APPROXIMATE_FROM chunks, as in-process), `depth_scores` beyond."""
        depth = min(len(self.chunks), DENSE_DEPTH if len(self.chunks) < APPROXIMATE_FROM else APPROXIMATE_DEPTH)
        if depth == 0:
            return np.zeros(0, dtype=np.float32)
        keys, scores, cut = self.store.search("vector", [float(value) for value in query], depth)
        held = np.array([key in self._ids for key in keys], dtype=bool)
        return depth_scores(len(self.chunks), _rows(self._ids, keys), scores[held], cut=cut)


def _pymilvus():
    """pymilvus, imported on first use (a second and a half), its own logging of failed calls
    silenced: they reach the caller as `IndexStoreError`."""
    try:
        import pymilvus
    except ImportError as error:
        raise IndexStoreError("--store needs pymilvus and milvus-lite: pip install 'qa[milvus]'") from error
    for name in ("pymilvus", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pymilvus
