"""Loading: a folder of `.txt`, `.md`, `.html`/`.htm`, `.pdf` and `.docx` files into `Document` records.

Files are read recursively in sorted order. Text files are read as UTF-8 and kept verbatim:
optional front matter between two `---` lines (`title:`, `date:`, `author:`, `source:`) fills
the metadata and is cut from the text. HTML, PDF and DOCX files give the text and metadata that
`qa.formats` extracts (a PDF also where each page starts). Without a title, a short first line
followed by a blank line is taken as the headline, else the file name. Hidden files, editor
backups and symlinked folders are passed over; empty, oversized and vanished files, and HTML,
PDF or DOCX files that yield no text (encrypted, damaged, of another format, only images) or
whose library is not installed (the warning names the package), are skipped with a warning.
What it leaves out: other formats, encodings other than UTF-8 for text files, and any cleaning
of a text file: its body is kept verbatim.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa import formats
from qa.errors import CorpusError, UnreadableFile
from qa.records import Document

EXTRACTORS = {".html": formats.from_html, ".htm": formats.from_html, ".pdf": formats.from_pdf,
              ".docx": formats.from_docx}
"""Formats whose text is extracted; every other suffix is read as UTF-8 text."""
SUFFIXES = (".txt", ".md", *EXTRACTORS)
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Larger text and HTML files, and longer texts from any file, are skipped with a warning: a
10 MiB text is some 100,000 sentences, an hour of embedding on a laptop CPU, and is almost always
a dump rather than an article."""
MAX_PACKED_FILE_BYTES = 100 * 1024 * 1024
"""PDF and DOCX files may be this large: images and fonts take most of their bytes."""
_PACKED = (".pdf", ".docx")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_FIELD = re.compile(r"^(?P<key>[A-Za-z_]+)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
_HEADLINE_MAX = 160


@dataclass(frozen=True)
class Corpus:
    """Documents read from a folder, keyed by id, and the files passed over with the reason."""

    root: Path
    documents: dict[str, Document]
    skipped: list[str] = field(default_factory=list)


def is_ignored(name: str) -> bool:
    """Hidden files, editor backups and lock files are never part of a corpus."""
    return (
        name.startswith((".", "~", "#"))
        or name.endswith(("~", ".swp", ".swo", ".tmp", ".bak"))
    )


def corpus_files(root: Path) -> list[Path]:
    """Every corpus file below `root`, sorted by relative path; symlinked folders not followed."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(name for name in subfolders if not is_ignored(name))
        for name in names:
            path = Path(folder) / name
            if name.lower().endswith(SUFFIXES) and not is_ignored(name) and path.is_file():
                found.append(path)
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def parse_front_matter(raw: str) -> tuple[dict[str, str], int]:
    """Metadata fields and the offset where the body starts (0 when there is no front matter)."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, 0
    fields: dict[str, str] = {}
    for line in match.group("body").splitlines():
        field_match = _FIELD.match(line)
        if field_match:
            value = field_match.group("value").strip().strip("\"'")
            fields[field_match.group("key").lower()] = value
    return fields, match.end()


def headline(text: str) -> str | None:
    """A first line that reads as a headline: short, followed by a blank line, no final stop."""
    stripped = text.lstrip()
    first, _, rest = stripped.partition("\n")
    first = first.strip()
    if not first or len(first) > _HEADLINE_MAX or first.endswith((".", ":", ",", ";")):
        return None
    if rest and not rest.startswith(("\n", "\r\n")):
        return None
    return first


def title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def read_document(path: Path, root: Path) -> Document:
    """One file as a `Document`. A text file that is not UTF-8 raises `CorpusError` naming it;
    an HTML, PDF or DOCX file without text raises `UnreadableFile` with the reason."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"{path}: cannot be read ({error.strerror or error})") from error
    extract = EXTRACTORS.get(path.suffix.lower())
    extracted, body_offset = (extract(data), 0) if extract else _text_file(path, data)
    return Document(
        id=path.relative_to(root).as_posix(),
        text=extracted.text,
        title=extracted.title or headline(extracted.text) or title_from_name(path),
        path=str(path),
        date=extracted.date,
        author=extracted.author,
        outlet=extracted.outlet,
        body_offset=body_offset,
        pages=extracted.pages,
    )


def _text_file(path: Path, data: bytes) -> tuple[formats.Extracted, int]:
    """A UTF-8 file's body and front matter, and the offset where the body starts."""
    if b"\x00" in data:
        raise CorpusError(f"{path}: looks like a binary file, not text")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not valid UTF-8 text (byte {error.start})") from error
    fields, body_offset = parse_front_matter(raw)
    extracted = formats.Extracted(
        text=raw[body_offset:],
        title=fields.get("title") or None,
        date=fields.get("date") or None,
        author=fields.get("author") or None,
        outlet=fields.get("source") or fields.get("outlet") or None,
    )
    return extracted, body_offset


def _skip_reason(path: Path) -> str | None:
    """Why a listed file is passed over (gone since listing, too large), or None to read it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "disappeared while the folder was read"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    limit = MAX_PACKED_FILE_BYTES if path.suffix.lower() in _PACKED else MAX_FILE_BYTES
    if size > limit:
        return f"{size / 2**20:.0f} MiB, over the {limit // 2**20} MiB limit"
    return None


def load_file(path: Path, root: Path) -> Document:
    """One corpus file as a `Document`, by the rules `load_corpus` applies to each file: a file
    to pass over (gone, too large, empty, no text in it, a text over MAX_FILE_BYTES characters)
    raises `UnreadableFile` with the reason, a text file that is not UTF-8 `CorpusError`."""
    reason = _skip_reason(path)
    if reason:
        raise UnreadableFile(reason)
    document = read_document(path, root)
    if not document.text.strip():
        raise UnreadableFile("empty")
    if len(document.text) > MAX_FILE_BYTES:
        raise UnreadableFile(f"{len(document.text):,} characters of text, over the "
                             f"{MAX_FILE_BYTES:,}-character limit")
    return document


def load_corpus(root: str | os.PathLike[str]) -> Corpus:
    """Read every corpus file below `root`.

    A .txt or .md file that is not UTF-8 text stops the load with a `CorpusError` naming it (the
    folder is not what the user thinks it is). Empty files, files over the size limits, texts
    over MAX_FILE_BYTES characters, files that vanish while being read and HTML, PDF or DOCX
    files that yield no text or whose library is missing are skipped and listed in `skipped`,
    which the CLI and the chat show. When every file is skipped, the `CorpusError` gives the first
    one and why.
    """
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise CorpusError(f"{root_path}: no such folder")
    if root_path.is_file():
        files, root_path = [root_path], root_path.parent
    elif root_path.is_dir():
        files = corpus_files(root_path)
    else:
        raise CorpusError(f"{root_path}: not a folder")
    documents: dict[str, Document] = {}
    skipped: list[str] = []
    for path in files:
        try:
            document = load_file(path, root_path)
        except UnreadableFile as error:
            skipped.append(f"{path}: {error}, skipped")
            continue
        documents[document.id] = document
    if skipped and not documents:
        raise CorpusError(f"{root_path}: none of its {len(skipped)} files could be read; the first: {skipped[0]}")
    if not documents:
        raise CorpusError(f"{root_path}: no non-empty {', '.join(SUFFIXES)} files found")
    return Corpus(root=root_path, documents=documents, skipped=skipped)
