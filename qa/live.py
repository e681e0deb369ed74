"""The engine that `qa serve`'s chat and JSON API answer with, replaced whole when a document is added.

A request takes `LiveEngine.current` once and uses that engine to the end, so a reply never
mixes two versions of the corpus. `add` stores an uploaded file (`qa.upload.store`), reads the
served folder again the usual way (`QA.from_directory`, reusing the loaded models and any saved
index), and only then swaps the new engine in; one document is added at a time. If reading the
folder fails, the stored file is removed again and the old engine stays.
What it leaves out: noticing files added to the folder by other means while the server runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.engine import QA
from qa.errors import UploadError
from qa.upload import Uploads, store


@dataclass(frozen=True)
class Added:
    """A document added to the corpus: its id (path in the served folder), as sources name it."""

    source: str
    sentences: int


class LiveEngine:
    """Holds the current engine; with `uploads`, documents can be added to it."""

    def __init__(self, bot: QA, *, uploads: Uploads | None = None,
                 index_dir: str | os.PathLike[str] | None = None) -> None:
        self._bot = bot
        self.uploads = uploads
        self._index_dir = index_dir
        self._adding = threading.Lock()

    @property
    def current(self) -> QA:
        return self._bot

    def add(self, upload: Path, *, name: str, progress: Callable[[int, int], None] | None = None) -> Added:
        """Store the uploaded file `upload`, sent as `name`, and answer from the corpus with it.

        `UploadError` when it is refused (see `qa.upload.store`); `progress` is called as
        the corpus's chunks are embedded."""
        if self.uploads is None:
            raise UploadError("This server does not take uploads; start it with --allow-upload.")
        with self._adding:
            stored = store(upload, name=name, folder=self.uploads.folder)
            try:
                bot = QA.from_directory(self.uploads.corpus, index_dir=self._index_dir, embedder=self._bot.embedder,
                                        reader=self._bot.reranker.reader, progress=progress)
            except BaseException:
                stored.unlink(missing_ok=True)
                raise
            self._bot = bot
        source = stored.relative_to(self.uploads.corpus).as_posix()
        return Added(source=source, sentences=len(bot.sentences.get(source, ())))
