"""Storing a document uploaded through the chat (`qa serve --allow-upload`) in the served folder.

`store(source, name=..., folder=...)` refuses a file the loader does not read (by its suffix),
one over MAX_UPLOAD_BYTES, and one the loader would pass over (no text in it, empty, not UTF-8),
giving the loader's reason; it copies the file into the folder under a hidden temporary name and
links it to a safe name no file there has yet, so the folder only ever holds whole files and
never loses one. `upload_folders` says which folder `qa serve` reads and where uploads go.
Reading the folder again after an upload is `qa.live`'s part.
What it leaves out: removing or replacing documents, and a cap on the folder's total size.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from qa.engine import bundled_corpus
from qa.errors import CorpusError, UnreadableFile, UploadError
from qa.loader import SUFFIXES, corpus_files, is_ignored, load_file

MAX_UPLOAD_BYTES = 20 * 2**20
"""A larger file is refused, by the page, by Gradio's upload route and by `store`."""
MAX_STEM_BYTES = 150
"""A stored name's stem is cut to this many UTF-8 bytes: file systems allow 255 per name."""
MAX_NUMBERED = 100
"""Files named `report.pdf`, `report-2.pdf`, ... up to this number before a name is refused."""
FALLBACK_STEM = "document"
_UNSAFE = re.compile(r"[^\w.-]+")
_TEMPORARY_PREFIX = ".upload-"
"""Hidden, so a folder read while a file is being copied in passes it over."""


@dataclass(frozen=True)
class Uploads:
    """The folder `qa serve` reads (`corpus`) and the folder inside it that uploads go to."""

    corpus: Path
    folder: Path


def safe_name(name: str) -> str:
    """The last part of `name` reduced to letters, digits, `_`, `-` and `.`, neither hidden nor
    a backup by the loader's rules, with its suffix in lower case. `UploadError` when the suffix
    is not one the loader reads."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise UploadError(f"“{base}” was not added: only {', '.join(SUFFIXES)} files can be added.")
    stem = _UNSAFE.sub("_", stem).strip("._-")
    stem = stem.encode()[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip("._-")
    return f"{stem or FALLBACK_STEM}.{suffix.lower()}"


def store(source: Path, *, name: str, folder: Path) -> Path:
    """Put a copy of the uploaded file `source`, sent as `name`, into `folder`; its new path.

    `UploadError` says why a file is refused; then nothing of it is left in `folder`."""
    safe = safe_name(name)
    try:
        size = source.stat().st_size
    except OSError as error:
        raise UploadError(f"{safe} was not added: the upload cannot be read ({error.strerror or error}).") from error
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{safe} was not added: it is {size / 2**20:.1f} MiB, over the "
                          f"{MAX_UPLOAD_BYTES // 2**20} MiB limit for uploads.")
    temporary = _copy_in(source, folder, safe)
    try:
        _check_readable(temporary, safe)
        return _link_unused(temporary, folder, safe)
    finally:
        temporary.unlink(missing_ok=True)


def _copy_in(source: Path, folder: Path, safe: str) -> Path:
    """A complete copy of `source` in `folder` under a hidden temporary name with `safe`'s suffix."""
    temporary: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=_TEMPORARY_PREFIX, suffix=Path(safe).suffix,
                                         delete=False) as out:
            temporary = Path(out.name)
            with source.open("rb") as data:
                shutil.copyfileobj(data, out)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        if temporary:
            temporary.unlink(missing_ok=True)
        raise UploadError(f"{safe} could not be stored ({error.strerror or error}).") from error
    return temporary


def _check_readable(path: Path, safe: str) -> None:
    """Refuse, with the loader's reason, a file the loader would pass over or stop at."""
    try:
        load_file(path, path.parent)
    except UnreadableFile as error:
        raise UploadError(f"{safe} was not added: {error}.") from error
    except CorpusError as error:  # its message starts with the temporary path, which means nothing to the uploader
        raise UploadError(f"{safe} was not added: {str(error).removeprefix(f'{path}: ')}.") from error


def _link_unused(temporary: Path, folder: Path, safe: str) -> Path:
    """Link `temporary` to `safe` in `folder`, or to `stem-2.suffix`, ... when that name is taken:
    a link never replaces a file, even one another process writes meanwhile."""
    stem, suffix = Path(safe).stem, Path(safe).suffix
    for number in range(1, MAX_NUMBERED + 1):
        target = folder / (safe if number == 1 else f"{stem}-{number}{suffix}")
        try:
            os.link(temporary, target)
            return target
        except FileExistsError:
            if target.is_file() and filecmp.cmp(temporary, target, shallow=False):
                raise UploadError(f"{target.name} is already among the documents.") from None
        except OSError as error:
            raise UploadError(f"{safe} could not be stored ({error.strerror or error}).") from error
    raise UploadError(f"{safe} was not added: {MAX_NUMBERED} files named like it are there already.")


def default_upload_folder() -> Path:
    """Where uploads go when the bundled corpus is served: a user data folder, never the package."""
    return Path(user_data_dir("qa")) / "uploads"


def upload_folders(*, corpus: str | None, folder: str | None) -> Uploads:
    """The folders for `qa serve [--corpus CORPUS] --allow-upload [FOLDER]`, created and checked.

    With a corpus folder, uploads go to FOLDER (default: the corpus folder), which must be inside
    it and not hidden, since the corpus folder is what is read again after an upload. Without
    one, FOLDER (default: `default_upload_folder()`) is served, with a copy of the bundled corpus
    put in it. A folder inside the bundled corpus is refused: it belongs to the package."""
    if corpus is None:
        target = (Path(folder).expanduser() if folder else default_upload_folder()).resolve()
        _check_not_bundled(target)
        _prepare(target)
        _copy_bundled(target)
        return Uploads(corpus=target, folder=target)
    root = Path(corpus).expanduser().resolve()
    if not root.is_dir():
        raise UploadError(f"{root}: --allow-upload needs --corpus to be a folder.")
    target = (Path(folder).expanduser() if folder else root).resolve()
    if not target.is_relative_to(root) or any(is_ignored(part) for part in target.relative_to(root).parts):
        raise UploadError(f"{target}: the upload folder must be the corpus folder {root} or a folder inside it "
                          "whose name does not start with '.', '~' or '#', so that uploads are read with the corpus.")
    _check_not_bundled(target)
    _prepare(target)
    return Uploads(corpus=root, folder=target)


def _check_not_bundled(target: Path) -> None:
    if target.is_relative_to(bundled_corpus().resolve()):
        raise UploadError(f"{target}: uploads cannot go into the bundled corpus; name another folder "
                          f"(without --corpus the default is {default_upload_folder()}).")


def _prepare(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UploadError(f"{folder}: the upload folder cannot be made ({error.strerror or error}).") from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UploadError(f"{folder}: the upload folder is not writable.")


def _copy_bundled(folder: Path) -> None:
    """Copy each bundled file that `folder` lacks into it, whole or not at all."""
    bundled = bundled_corpus()
    for path in corpus_files(bundled):
        target = folder / path.relative_to(bundled)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = _copy_in(path, target.parent, target.name)
        try:
            os.link(temporary, target)
        finally:
            temporary.unlink()
