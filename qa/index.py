"""Indexing: chunks into a FAISS inner-product index and a BM25 index, saved and reloaded.

An index is keyed by a hash of the corpus contents, the model's fingerprint and the chunker
version, so any change to one of them leads to a new index. It is written to a temporary folder
and renamed into place, under a file lock, so readers only ever see whole indexes; on load the
manifest's checksums are verified and a mismatch counts as no index. The BM25 side is rebuilt
from the saved chunks on load (it takes milliseconds); it also serves query handling: typos
respelt as the corpus spells the word, and an acronym a question asks about spelt out as the
corpus defines it. What it leaves out: incremental
updates (a changed corpus is indexed again in full). Dense search is exact below
APPROXIMATE_FROM chunks and HNSW above.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
from filelock import FileLock, Timeout
from platformdirs import user_cache_dir

from qa.chunker import CHUNKER_VERSION, chunk_documents
from qa.embedder import Embedder, file_sha256
from qa.errors import IndexStoreError
from qa.records import Chunk, Document
from qa.text import STOPWORDS, WORD, dictionary_stems, stem, terms

INDEX_FORMAT = "2"
MANIFEST = "manifest.json"
CHUNKS_FILE = "chunks.jsonl"
VECTORS_FILE = "vectors.faiss"
LOCK_TIMEOUT_SECONDS = 600
SPELLING_SAMPLE = 20
"""Chunks read to find how the corpus spells a corrected term."""


def default_index_root() -> Path:
    configured = os.environ.get("QA_INDEX_DIR")
    return Path(configured).expanduser() if configured else Path(user_cache_dir("qa")) / "indexes"


def corpus_key(documents: list[Document], fingerprint: str) -> str:
    digest = hashlib.sha256()
    for part in (INDEX_FORMAT, CHUNKER_VERSION, fingerprint):
        digest.update(part.encode() + b"\0")
    for document in documents:
        for part in (document.id, document.title, document.text):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


class LexicalIndex:
    """BM25 over the chunks' contexts, scoring every chunk for a query."""

    def __init__(self, contexts: list[str]) -> None:
        self._bm25 = bm25s.BM25()
        tokenized = [terms(context) or ["_empty_"] for context in contexts]
        self._bm25.index(tokenized, show_progress=False)
        self._size = len(contexts)
        frequency = Counter(term for tokens in tokenized for term in set(tokens))
        self._idf = {term: math.log(1 + self._size / count) for term, count in frequency.items()}
        self._unseen_idf = math.log(1 + self._size)
        self._by_initial: dict[str, list[str]] = {}
        for term in self._idf:
            if term.isalpha():
                self._by_initial.setdefault(term[0], []).append(term)
        self._corrections: dict[str, str] = {}
        self._contexts = contexts
        self._acronyms: dict[str, str] | None = None

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
        holders = np.flatnonzero(self.scores([term]))[:SPELLING_SAMPLE]
        spellings = {word for holder in holders for word in WORD.findall(self._contexts[int(holder)])
                     if stem(word.lower()) == term}
        return min(sorted(spellings), key=lambda word: edit_distance(typed.lower(), word.lower(), len(typed)),
                   default=None)

    def idf(self, term: str) -> float:
        """Inverse chunk frequency; a term the corpus lacks counts as the rarest."""
        return self._idf.get(term, self._unseen_idf)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        known = [term for term in query_terms if term in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)


APPROXIMATE_FROM = int(os.environ.get("QA_APPROXIMATE_FROM", "10000"))
"""Chunk count from which dense search is approximate (HNSW). Measured on 2 cores
(bench/last-report.md): exact search over 19k chunks adds ~10 ms an answer, HNSW over 200k adds
well under 1 ms with the same top 10; on SQuAD-tune, HNSW and exact give the same hit@1."""
HNSW_LINKS = 32
HNSW_SEARCH_BREADTH = 1024


def vector_index(dimension: int, size: int) -> faiss.Index:
    """Exact inner-product search for small corpora, HNSW (inner product) for large ones."""
    if size < APPROXIMATE_FROM:
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = HNSW_SEARCH_BREADTH
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


@dataclass
class CorpusIndex:
    """Chunks with their vectors (FAISS) and their lexical index, for one corpus and model."""

    key: str
    chunks: list[Chunk]
    vectors: faiss.Index
    lexical: LexicalIndex

    @classmethod
    def build(cls, documents: list[Document], embedder: Embedder, *,
              progress: Callable[[int, int], None] | None = None) -> CorpusIndex:
        """Chunk and embed. `progress(done, total)` is called as embedding advances."""
        chunks = chunk_documents(documents)
        total = len(chunks)
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        embeddings = embedder.encode([chunk.context for chunk in chunks], progress=advance)
        vectors = vector_index(embedder.dimension, len(embeddings))
        if len(embeddings):
            vectors.add(np.ascontiguousarray(embeddings, dtype=np.float32))
        key = corpus_key(documents, embedder.fingerprint)
        return cls(key=key, chunks=chunks, vectors=vectors,
                   lexical=LexicalIndex([chunk.context for chunk in chunks]))

    def save(self, folder: Path) -> None:
        """Write the index into `folder` atomically: a whole index appears there, or nothing."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
                for chunk in self.chunks:
                    handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
            faiss.write_index(self.vectors, str(staging / VECTORS_FILE))
            manifest = {
                "format": INDEX_FORMAT,
                "key": self.key,
                "chunker": CHUNKER_VERSION,
                "chunks": len(self.chunks),
                "dimension": self.vectors.d,
                "checksums": {name: file_sha256(staging / name) for name in (CHUNKS_FILE, VECTORS_FILE)},
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
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("key") != key or manifest.get("format") != INDEX_FORMAT:
                return None
            for name, checksum in manifest["checksums"].items():
                if file_sha256(folder / name) != checksum:
                    return None
            with (folder / CHUNKS_FILE).open(encoding="utf-8") as handle:
                chunks = [Chunk.from_json(json.loads(line)) for line in handle]
            vectors = faiss.read_index(str(folder / VECTORS_FILE))
            if isinstance(vectors, faiss.IndexHNSWFlat):
                vectors.hnsw.efSearch = HNSW_SEARCH_BREADTH
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            return None
        if len(chunks) != manifest["chunks"] or vectors.ntotal != len(chunks):
            return None
        return cls(key=key, chunks=chunks, vectors=vectors,
                   lexical=LexicalIndex([chunk.context for chunk in chunks]))


@dataclass(frozen=True)
class LoadedIndex:
    index: CorpusIndex
    built: bool
    """True when the corpus was embedded now, False when a saved index was loaded."""
    warning: str | None = None


def load_or_build(documents: list[Document], embedder: Embedder, *, root: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> LoadedIndex:
    """The index for these documents: loaded when a whole, current one is saved, else built.

    Builders of the same index wait for each other on a file lock. When the index folder cannot
    be written, the index is built in memory and the returned warning says so.
    """
    root = root or default_index_root()
    key = corpus_key(documents, embedder.fingerprint)
    folder = root / key[:24]
    existing = CorpusIndex.load(folder, key)
    if existing is not None:
        return LoadedIndex(existing, built=False)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / f"{key[:24]}.lock"), timeout=LOCK_TIMEOUT_SECONDS)
        lock.acquire()
    except Timeout as error:
        raise IndexStoreError(f"{root}: another process has held the index lock for {LOCK_TIMEOUT_SECONDS} s") from error
    except OSError as error:
        index = CorpusIndex.build(documents, embedder, progress=progress)
        return LoadedIndex(index, built=True, warning=_unsaved(root, error))
    try:
        existing = CorpusIndex.load(folder, key)
        if existing is not None:
            return LoadedIndex(existing, built=False)
        for leftover in root.glob(f".{folder.name}.*"):  # a builder killed mid-write; we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        index = CorpusIndex.build(documents, embedder, progress=progress)
        try:
            index.save(folder)
        except OSError as error:
            return LoadedIndex(index, built=True, warning=_unsaved(root, error))
        return LoadedIndex(index, built=True)
    finally:
        lock.release()


def _unsaved(root: Path, error: OSError) -> str:
    return (f"{root}: cannot save the index there ({error.strerror or error}); it was built in "
            "memory and will be built again next time. Set QA_INDEX_DIR to a writable folder.")
