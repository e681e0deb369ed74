"""Shared fixtures: a fake embedder and a neutral fake reader that keep unit tests fast, and
small corpora on disk. Tests marked `slow` get the real reader."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.text import terms

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "corpus"


def tool(name: str):
    """The script tools/NAME.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class FakeEmbedder:
    """Bag of stemmed words hashed into 64 dimensions: similar words, similar vectors."""

    fingerprint = "fake-embedder-1"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []
        """Every text embedded, in order."""

    def encode(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                slot = int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dimension
                vectors[row, slot] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        if progress:
            progress(len(texts))
        return vectors / norms


class NeutralReader:
    """Reads nothing: every sentence scores 0, so the ranker's order stands and highlights
    come from the answer-type rules. Counts the windows it was given."""

    def __init__(self) -> None:
        self.windows = 0

    def read(self, question, windows):
        from qa.reader import Reading

        self.windows += len(windows)
        return [[Reading(score=0.0, span=None, no_answer=0.0) for _ in window.spans] for window in windows]


@pytest.fixture(autouse=True)
def neutral_reader(request, monkeypatch):
    """Unit tests read with NeutralReader; tests marked slow with the shipped reader."""
    if request.node.get_closest_marker("slow"):
        return None
    reader = NeutralReader()
    monkeypatch.setattr("qa.engine.shipped_reader", lambda: reader)
    return reader


NEWS = """Harbour town opens new bridge

The town of Eastmouth opened a new footbridge on Monday, the council said.

The bridge cost £4.2m and took two years to build.

"This bridge links the two halves of our town for the first time," said the mayor, Jane Porter. "We are proud of it."

She added that the old ferry would keep running until spring.

Local traders welcomed the opening, saying footfall had already risen.
"""


MUSEUM = """Museum reopens after flood

The city museum reopened on Friday after repairs costing £900,000.

Its director, Omar Haddad, said the collection had been moved upstairs before the water came.

He said visitor numbers were expected to reach 50,000 this year.
"""


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "indexes"


@pytest.fixture
def news_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "bridge.txt").write_text(NEWS, encoding="utf-8")
    return folder


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED, folder)
    return folder


@pytest.fixture
def fake_bot(news_corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder):
    from qa import QA

    return QA.from_directory(news_corpus, index_dir=index_dir, embedder=fake_embedder)
