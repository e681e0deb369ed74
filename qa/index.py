"""Indexing: chunks into a FAISS inner-product index and a BM25 index, saved and reloaded.

An index is keyed by a hash of the corpus contents, the model's fingerprint and the chunker
version, so any change to one of them leads to a new index. It is written to a temporary folder
and renamed into place, under a file lock, so readers only ever see whole indexes; on load the
manifest's checksums are verified and a mismatch counts as no index. The BM25 side is rebuilt
from the saved chunks on load (about a second for 30k chunks); it also serves query handling
(`LexicalIndex.spell`): typos respelt as the corpus spells the word, and an acronym a question
asks about spelt out as the corpus defines it. Dense search is exact below APPROXIMATE_FROM
chunks and HNSW above.

Updates are incremental: an index records each document's key (its contents, the model and
the chunker) and its range of chunks, and names the folder it was built from. When that folder
changes, the newest whole index built from it lends its chunks and vectors to the documents
left unchanged (both FAISS kinds keep the raw float32 vectors, so they are read back exactly);
only new and changed documents are chunked and embedded, and the new index is written whole
like any other, equal to a full build's (with the real model, up to float rounding: batching
moves a vector by ~1e-7). A previous index that cannot be read counts as none.
What a Milvus store (`qa/store.py`) shares with it: `Lexicon` (spelling from each term's chunk
frequency), `bm25` (the score bm25s gives), `depth_scores` (a top-k search's scores over all
chunks) and `SearchIndex`, what the retriever asks of either.
What it leaves out: updating an index in place (the dense index is rebuilt from its vectors,
the lexical one from its chunks), re-using a renamed file's vectors, and removing superseded
indexes from the cache.
"""

from __future__ import annotations

import hashlib
import math
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import faiss
import numpy as np
from filelock import FileLock, Timeout
from platformdirs import user_cache_dir

from qa.chunker import CHUNKER_VERSION, chunk_document
from qa.embedder import Embedder, dictionary_stems, file_sha256
from qa.errors import IndexStoreError
from qa.records import Chunk, Document, Spelling
from qa.text import STOPWORDS, WORD, stem, terms

INDEX_FORMAT = "3"
"""3: each index records its documents (DOCUMENTS_FILE) and the folder it was built from."""
MANIFEST = "manifest.json"
CHUNKS_FILE = "chunks.jsonl"
DOCUMENTS_FILE = "documents.json"
VECTORS_FILE = "vectors.faiss"
DATA_FILES = (CHUNKS_FILE, DOCUMENTS_FILE, VECTORS_FILE)
"""The files the manifest holds checksums for."""
LOCK_TIMEOUT_SECONDS = 600
SPELLING_SAMPLE = 20
"""Chunks read to find how the corpus spells a corrected term."""
BM25_K1 = 1.5
BM25_B = 0.75
"""BM25's parameters (bm25s's defaults, Lucene's variant): `bm25` scores as `LexicalIndex` does."""


def bm25(counts: Mapping[str, int], length: int, query_terms: Sequence[str], frequency: Mapping[str, int],
         size: int, average_length: float) -> float:
    """The BM25 score (Lucene's variant, as bm25s computes it) of a chunk holding `counts` of
    its `length` terms, in a corpus of `size` chunks averaging `average_length` terms, where
    `frequency` counts the chunks holding each term. A term asked twice counts twice."""
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average_length)
    score = 0.0
    for term in query_terms:
        if counts.get(term):
            held = frequency[term]
            score += math.log(1 + (size - held + 0.5) / (held + 0.5)) * counts[term] / (counts[term] + norm)
    return score


def default_index_root() -> Path:
    configured = os.environ.get("QA_INDEX_DIR")
    return Path(configured).expanduser() if configured else Path(user_cache_dir("qa")) / "indexes"


def _versions(fingerprint: str) -> bytes:
    return b"".join(part.encode() + b"\0" for part in (INDEX_FORMAT, CHUNKER_VERSION, fingerprint))


def _contents(document: Document) -> bytes:
    """What a document's chunks and vectors depend on."""
    return b"".join(part.encode("utf-8", "surrogatepass") + b"\0"
                    for part in (document.id, document.title, document.text))


def corpus_key(documents: list[Document], fingerprint: str) -> str:
    digest = hashlib.sha256(_versions(fingerprint))
    for document in documents:
        digest.update(_contents(document))
    return digest.hexdigest()


def document_key(document: Document, fingerprint: str) -> str:
    """Equal for two documents exactly when their chunks and vectors are."""
    return hashlib.sha256(_versions(fingerprint) + _contents(document)).hexdigest()


class Lexicon:
    """How the corpus spells its words, from each term's chunk frequency and the chunks' contexts;
    what scores chunks for a query is left to a subclass (`LexicalIndex` here, BM25 in the
    engine for `qa.store`)."""

    def __init__(self, frequency: Mapping[str, int], size: int, contexts: Sequence[str]) -> None:
        self._size = size
        self._idf = {term: math.log(1 + size / count) for term, count in frequency.items()}
        self._unseen_idf = math.log(1 + size)
        self._by_initial: dict[str, list[str]] = {}
        for term in self._idf:
            if term.isalpha():
                self._by_initial.setdefault(term[0], []).append(term)
        self._corrections: dict[str, str] = {}
        self._contexts = contexts
        self._acronyms: dict[str, str] | None = None

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """A BM25 score for each chunk, in chunk order."""
        raise NotImplementedError

    def holders(self, term: str) -> np.ndarray:
        """The chunks holding `term`, in chunk order."""
        return np.flatnonzero(self.scores([term]))

    def correct(self, term: str) -> str:
        """A term the corpus lacks, replaced by the most frequent known term within a typo's reach.

        Reach: one edit for terms of 4-6 letters, two for longer ones; same first letter. Numbers,
        short terms and English words the model knows ("chairs", which the corpus may lack) are
        left alone.
        """
        if term in self._idf or len(term) < 4 or not term.isalpha() or term in dictionary_stems():
            return term
        if term not in self._corrections:
            reach = 1 if len(term) <= 6 else 2
            best, best_idf = term, math.inf
            for known in self._by_initial.get(term[0], ()):
                if abs(len(known) - len(term)) <= reach and self._idf[known] < best_idf \
                        and edit_distance(term, known, reach) <= reach:
                    best, best_idf = known, self._idf[known]
            self._corrections[term] = best
        return self._corrections[term]

    def spell(self, text: str) -> Spelling:
        """What is searched for `text`: respelt (`respell`), with an acronym it asks about spelt
        out (`expand`), and its terms corrected (`correct`)."""
        respelled = self.respell(text)
        searched = self.expand(respelled)
        return Spelling(respelled=respelled, searched=searched,
                        terms=tuple(self.correct(term) for term in terms(searched)))

    def respell(self, text: str) -> str:
        """`text` with each word the corpus lacks replaced by the corpus's spelling of its
        correction ("footbrige" by "footbridge"), for searches that read words, not terms."""

        def replacement(match: re.Match[str]) -> str:
            word = match.group(0)
            term = stem(word.lower())
            if word.lower() in STOPWORDS or term in self._idf or (known := self.correct(term)) == term:
                return word
            spelling = self._spelling(known, word) or word
            if word.islower():
                return spelling.lower()
            return spelling[0].upper() + spelling[1:] if word[0].isupper() else spelling

        return WORD.sub(replacement, text)

    def expand(self, question: str) -> str:
        """`question` with the acronym it asks about ("What is the ADSS?", "What does ADSS stand
        for?") followed by the corpus's expansion of it, in brackets. Other acronyms are left
        alone: spelling them out would favour the sentence that defines them over the one that
        answers."""
        asked = _ASKS_ABOUT_ACRONYM.search(question)
        if not asked:
            return question
        if self._acronyms is None:
            self._acronyms = defined_acronyms(self._contexts)
        acronym = asked.group("acronym")
        if acronym not in self._acronyms:
            return question
        return f"{question[:asked.end('acronym')]} ({self._acronyms[acronym]}){question[asked.end('acronym'):]}"

    def _spelling(self, term: str, typed: str) -> str | None:
        """The corpus's spelling of `term` closest to the `typed` word."""
        holders = self.holders(term)[:SPELLING_SAMPLE]
        spellings = {word for holder in holders for word in WORD.findall(self._contexts[int(holder)])
                     if stem(word.lower()) == term}
        return min(sorted(spellings), key=lambda word: edit_distance(typed.lower(), word.lower(), len(typed)),
                   default=None)

    def idf(self, term: str) -> float:
        """Inverse chunk frequency; a term the corpus lacks counts as the rarest."""
        return self._idf.get(term, self._unseen_idf)


class LexicalIndex(Lexicon):
    """BM25 over the chunks' contexts (bm25s, in this process), scoring every chunk for a query."""

    def __init__(self, contexts: list[str]) -> None:
        self._bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
        tokenized = [chunk_terms(context) for context in contexts]
        self._bm25.index(tokenized, show_progress=False)
        super().__init__(term_frequency(tokenized), len(contexts), contexts)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        known = [term for term in query_terms if term in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)


def chunk_terms(context: str) -> list[str]:
    """The terms BM25 indexes for a chunk (a placeholder for a chunk without any)."""
    return terms(context) or ["_empty_"]


def term_frequency(tokenized: Iterable[list[str]]) -> Counter[str]:
    """How many chunks hold each term."""
    return Counter(term for tokens in tokenized for term in set(tokens))


APPROXIMATE_FROM = int(os.environ.get("QA_APPROXIMATE_FROM", "100000"))
"""Chunk count from which dense search is approximate (HNSW). Measured on 2 cores
(bench/last-report.md): exact search over 100k chunks takes ~18 ms of a ~150 ms answer, HNSW
under 1 ms with the same top 10; but an HNSW graph cannot drop a changed file's vectors, so
every update rebuilds it (3.4 s for news-tune's 30k chunks, 23 s for 200k), while an exact
index takes its vectors in milliseconds. Exact up to 100k keeps updates of folders of a few
thousand articles within seconds."""
HNSW_LINKS = 32
HNSW_SEARCH_BREADTH = 1024
DENSE_DEPTH = 4096
APPROXIMATE_DEPTH = 1024
"""With HNSW the search breadth bounds what can be found; deeper asks cost without gain."""


def depth_scores(size: int, rows: np.ndarray, scores: np.ndarray, *, cut: bool) -> np.ndarray:
    """A score for each of `size` chunks from a top-k search that returned `scores` for `rows`:
    a chunk it did not return gets the lowest score returned when the search was `cut` at its
    depth (the chunk may score anything up to that), else 0 (it matched nothing)."""
    floor = float(scores.min()) if cut and len(scores) else 0.0
    filled = np.full(size, floor, dtype=np.float32)
    filled[rows] = scores
    return filled


class SearchIndex(Protocol):
    """What retrieval needs of an index: its chunks, in order, and both halves of search over
    them. `CorpusIndex` holds them in this process, `qa.store.StoreIndex` in Milvus."""

    chunks: list[Chunk]
    lexical: Lexicon

    def cosines(self, query: np.ndarray) -> np.ndarray:
        """The cosine of the unit vector `query` with each chunk (`depth_scores` past the depth)."""
        ...


def vector_index(dimension: int, size: int) -> faiss.Index:
    """Exact inner-product search for small corpora, HNSW (inner product) for large ones."""
    if size < APPROXIMATE_FROM:
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = HNSW_SEARCH_BREADTH
    return index


def fitted_index(saved: faiss.Index) -> faiss.Index:
    """`saved` as the kind `vector_index` picks for its size today: an index saved when the
    threshold stood elsewhere is rebuilt from its exact vectors, so it searches like a new one."""
    if isinstance(saved, faiss.IndexHNSWFlat) == (saved.ntotal >= APPROXIMATE_FROM):
        if isinstance(saved, faiss.IndexHNSWFlat):
            saved.hnsw.efSearch = HNSW_SEARCH_BREADTH
        return saved
    index = vector_index(saved.d, saved.ntotal)
    index.add(saved.reconstruct_n(0, saved.ntotal))
    return index


_ASKS_ABOUT_ACRONYM = re.compile(r"\b(?:[Ww]hat|[Ww]ho)\s+(?:is|are|was|were|does|do)\s+(?:the\s+)?"
                                 r"(?P<acronym>[A-Z][A-Z&]{1,9})(?=\s*(?:[,?.!;:]|$)|\s+(?:stands?\s+for|mean)\b)")
_SPELLED_OUT = re.compile(r"(?<![\w'’-])((?:[A-Z][\w'’-]*\s+(?:(?:of|and|for|the|on|in|de|du)\s+)*){2,10})\(([A-Z][A-Z&]{1,9})\)")


def defined_acronyms(texts: list[str]) -> dict[str, str]:
    """Acronyms the texts spell out, "Association of Directors of Social Services (ADSS)", each
    with the words whose capitals make it."""
    found: dict[str, str] = {}
    for text in texts:
        if "(" not in text:
            continue
        for match in _SPELLED_OUT.finditer(text):
            acronym, words = match.group(2), match.group(1).split()
            initials = ""
            for start in range(len(words) - 1, -1, -1):
                if words[start][0].isupper():
                    initials = words[start][0] + initials
                if initials == acronym.replace("&", ""):
                    found.setdefault(acronym, " ".join(words[start:]))
                    break
    return found


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent swaps counted as one edit; stops early past `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class IndexedDocument:
    """A document's place in an index: its `document_key` and its chunks, `chunks[first:end]`."""

    id: str
    key: str
    first: int
    end: int


def indexed_documents(documents: list[Document], chunks: list[Chunk], fingerprint: str) -> tuple[IndexedDocument, ...]:
    """Each document's key and chunk range, for chunks laid out document by document in this order."""
    counts = Counter(chunk.doc_id for chunk in chunks)
    entries: list[IndexedDocument] = []
    first = 0
    for document in documents:
        entries.append(IndexedDocument(document.id, document_key(document, fingerprint), first, first + counts[document.id]))
        first += counts[document.id]
    return tuple(entries)


@dataclass(frozen=True)
class Previous:
    """An earlier index of the same folder, lending its chunks and vectors to unchanged documents."""

    chunks: list[Chunk]
    vectors: np.ndarray
    """Float32, one row per chunk."""
    documents: dict[str, IndexedDocument]

    def reusable(self, documents: list[Document], fingerprint: str) -> dict[str, tuple[list[Chunk], np.ndarray]]:
        """The chunks and vectors of each document this index holds unchanged, by id."""
        found: dict[str, tuple[list[Chunk], np.ndarray]] = {}
        for document in documents:
            entry = self.documents.get(document.id)
            if entry and entry.key == document_key(document, fingerprint):
                found[document.id] = (self.chunks[entry.first:entry.end], self.vectors[entry.first:entry.end])
        return found


@dataclass(frozen=True)
class Plan:
    """What a build does with the corpus's documents, said before it embeds."""

    reused: int
    """Documents whose chunks and vectors come from the previous index."""
    changed: int
    added: int
    removed: int
    """Documents of the previous index that the corpus no longer holds."""
    incremental: bool
    """False when there was no previous index to re-use: every document counts as added."""

    @classmethod
    def of(cls, documents: list[Document], reused: int, indexed: Collection[str] | None) -> Plan:
        """The plan for `documents` when `reused` of them are held unchanged by an index of the
        documents `indexed` (by id; None without such an index)."""
        if indexed is None:
            return cls(reused=0, changed=0, added=len(documents), removed=0, incremental=False)
        ids = {document.id for document in documents}
        indexed_ids = set(indexed)
        known = len(ids & indexed_ids)
        return cls(reused=reused, changed=known - reused, added=len(ids) - known,
                   removed=len(indexed_ids - ids), incremental=True)

    def describe(self) -> str:
        if not self.incremental:
            return f"embedding all {self.added} document{'s' * (self.added != 1)}"
        return (f"re-using {self.reused} unchanged document{'s' * (self.reused != 1)}, embedding {self.changed} "
                f"changed and {self.added} new, dropping {self.removed} removed")


@dataclass
class CorpusIndex:
    """Chunks with their vectors (FAISS) and their lexical index, for one corpus and model."""

    key: str
    chunks: list[Chunk]
    vectors: faiss.Index
    lexical: LexicalIndex
    documents: tuple[IndexedDocument, ...]

    def cosines(self, query: np.ndarray) -> np.ndarray:
        """The cosine of the unit vector `query` with each chunk: exact over the first
        DENSE_DEPTH (APPROXIMATE_DEPTH with HNSW), `depth_scores` beyond."""
        depth = min(len(self.chunks), DENSE_DEPTH if isinstance(self.vectors, faiss.IndexFlat) else APPROXIMATE_DEPTH)
        found, ids = self.vectors.search(np.ascontiguousarray(query[None, :], dtype=np.float32), depth)
        kept = ids[0] >= 0
        return depth_scores(len(self.chunks), ids[0][kept], found[0][kept], cut=True)

    @classmethod
    def build(cls, documents: list[Document], embedder: Embedder, *, previous: Previous | None = None,
              progress: Callable[[int, int], None] | None = None,
              on_plan: Callable[[Plan], None] | None = None) -> CorpusIndex:
        """Chunk and embed the documents, taking the chunks and vectors of those that `previous`
        holds unchanged from it. `on_plan(plan)` is called before any work, `progress(done, total)`
        as embedding advances."""
        reused = previous.reusable(documents, embedder.fingerprint) if previous else {}
        if on_plan:
            on_plan(Plan.of(documents, len(reused), previous.documents.keys() if previous else None))
        fresh = {document.id: chunk_document(document) for document in documents if document.id not in reused}
        texts = [chunk.context for chunks in fresh.values() for chunk in chunks]
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, len(texts))

        embedded = (embedder.encode(texts, progress=advance) if texts
                    else np.zeros((0, embedder.dimension), dtype=np.float32))
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        cursor = 0
        for document in documents:
            if document.id in reused:
                own, part = reused[document.id]
            else:
                own = fresh[document.id]
                part = embedded[cursor:cursor + len(own)]
                cursor += len(own)
            chunks.extend(own)
            parts.append(part)
        vectors = vector_index(embedder.dimension, len(chunks))
        if chunks:
            vectors.add(np.ascontiguousarray(np.concatenate(parts), dtype=np.float32))
        return cls(key=corpus_key(documents, embedder.fingerprint), chunks=chunks, vectors=vectors,
                   lexical=LexicalIndex([chunk.context for chunk in chunks]),
                   documents=indexed_documents(documents, chunks, embedder.fingerprint))

    def save(self, folder: Path, *, source: str | None = None) -> None:
        """Write the index into `folder` atomically: a whole index appears there, or nothing.
        `source` names the corpus folder it was built from, for the next build to re-use it."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
                for chunk in self.chunks:
                    handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
            (staging / DOCUMENTS_FILE).write_text(
                json.dumps([asdict(document) for document in self.documents], ensure_ascii=False), encoding="utf-8")
            faiss.write_index(self.vectors, str(staging / VECTORS_FILE))
            manifest = {
                "format": INDEX_FORMAT,
                "key": self.key,
                "chunker": CHUNKER_VERSION,
                "chunks": len(self.chunks),
                "dimension": self.vectors.d,
                "source": source,
                "checksums": {name: file_sha256(staging / name) for name in DATA_FILES},
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, key: str) -> CorpusIndex | None:
        """The saved index in `folder`, or None when it is absent, stale or damaged."""
        saved = _read(folder)
        if saved is None or saved.manifest.get("key") != key:
            return None
        return cls(key=key, chunks=saved.chunks, vectors=fitted_index(saved.vectors),
                   lexical=LexicalIndex([chunk.context for chunk in saved.chunks]), documents=saved.documents)


@dataclass(frozen=True)
class _Saved:
    """An index folder's contents, checksums verified."""

    manifest: dict
    chunks: list[Chunk]
    vectors: faiss.Index
    documents: tuple[IndexedDocument, ...]


def _read(folder: Path) -> _Saved | None:
    """The index saved in `folder`, or None when it is absent, of another format or damaged."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != INDEX_FORMAT:
            return None
        for name in DATA_FILES:
            if file_sha256(folder / name) != manifest["checksums"][name]:
                return None
        with (folder / CHUNKS_FILE).open(encoding="utf-8") as handle:
            chunks = [Chunk.from_json(json.loads(line)) for line in handle]
        documents = tuple(IndexedDocument(**entry)
                          for entry in json.loads((folder / DOCUMENTS_FILE).read_text(encoding="utf-8")))
        vectors = faiss.read_index(str(folder / VECTORS_FILE))
        if len(chunks) != manifest["chunks"] or vectors.ntotal != len(chunks):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError):
        return None
    return _Saved(manifest, chunks, vectors, documents)


def _previous(root: Path, source: str) -> Previous | None:
    """The newest whole index in `root` built from the folder `source`, or None; a damaged one is
    passed over for the next newest."""
    candidates: list[tuple[int, Path]] = []
    try:
        folders = [folder for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith(".")]
    except OSError:
        return None
    for folder in folders:
        try:
            if json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("source") == source:
                candidates.append(((folder / MANIFEST).stat().st_mtime_ns, folder))
        except (OSError, ValueError, AttributeError):
            continue
    for _, folder in sorted(candidates, reverse=True):
        saved = _read(folder)
        if saved is not None:
            return Previous(chunks=saved.chunks, vectors=saved.vectors.reconstruct_n(0, saved.vectors.ntotal),
                            documents={document.id: document for document in saved.documents})
    return None


@dataclass(frozen=True)
class LoadedIndex:
    index: CorpusIndex
    built: bool
    """True when the index was built now (embedding what could not be re-used), False when a
    saved index was loaded."""
    warning: str | None = None


def load_or_build(documents: list[Document], embedder: Embedder, *, root: Path | None = None,
                  source: str | os.PathLike[str] | None = None, rebuild: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  on_plan: Callable[[Plan], None] | None = None) -> LoadedIndex:
    """The index for these documents: loaded when a whole, current one is saved, else built.

    `source` is the corpus folder: a build re-uses the newest index of that folder for the
    documents it holds unchanged, and embeds only the others. `rebuild` embeds everything, even
    when a current index is saved. Builders of the same index wait for each other on a file lock.
    When the index folder cannot be written, the index is built in memory and the returned
    warning says so.
    """
    root = root or default_index_root()
    origin = str(Path(source).resolve()) if source is not None else None
    key = corpus_key(documents, embedder.fingerprint)
    folder = root / key[:24]

    def current() -> CorpusIndex | None:
        return None if rebuild else CorpusIndex.load(folder, key)

    def build() -> CorpusIndex:
        previous = _previous(root, origin) if origin and not rebuild else None
        return CorpusIndex.build(documents, embedder, previous=previous, progress=progress, on_plan=on_plan)

    if (existing := current()) is not None:
        return LoadedIndex(existing, built=False)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / f"{key[:24]}.lock"), timeout=LOCK_TIMEOUT_SECONDS)
        lock.acquire()
    except Timeout as error:
        raise IndexStoreError(f"{root}: another process has held the index lock for {LOCK_TIMEOUT_SECONDS} s") from error
    except OSError as error:
        return LoadedIndex(build(), built=True, warning=_unsaved(root, error))
    try:
        if (existing := current()) is not None:
            return LoadedIndex(existing, built=False)
        for leftover in root.glob(f".{folder.name}.*"):  # a builder killed mid-write; we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        index = build()
        try:
            index.save(folder, source=origin)
        except OSError as error:
            return LoadedIndex(index, built=True, warning=_unsaved(root, error))
        return LoadedIndex(index, built=True)
    finally:
        lock.release()


def _unsaved(root: Path, error: OSError) -> str:
    return (f"{root}: cannot save the index there ({error.strerror or error}); it was built in "
            "memory and will be built again next time. Set QA_INDEX_DIR to a writable folder.")
