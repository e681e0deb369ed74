"""Reading: a span reader that reads the question against a window of text around a sentence.

The model is the bundled all-MiniLM-L6-v2 encoder fine-tuned here (`tools/train_reader.py`) as
an extractive reader on SQuAD, then on synthetic news: given `[CLS] question [SEP] title + window
[SEP]` it scores every token as the start and the end of the answer, and the `[CLS]` token as "no
answer here"; a third output, read at `[CLS]`, says whether the window answers the question at all
(trained beside the spans on the same windows, it feeds the confidence model).
A sentence's reader score is its best span (start + end logits, the span inside the sentence)
minus the no-answer score of its window; the window holds the sentences around it, so "the
Oslo-based group" can be read as the firm the previous sentence names.

The weights ship in `qa/models/` without the word-embedding matrix (the bundled MiniLM's, which
stays frozen in training) and are sha256-checked against `reader.json` before loading; nothing
is downloaded. Answering holds them in bf16 beside the embedder's word embeddings
(`answering_model`); training holds them in float32 (`load_model`). What it leaves out: answers
that span sentences, generating text, GPUs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.embedder import file_sha256, model_path, verify_weights
from qa.errors import ModelError

MODEL_DIR = Path(__file__).with_name("models")
WEIGHTS_FILE = "reader.safetensors"
MANIFEST_FILE = "reader.json"
MAX_TOKENS = 256
WINDOW_CHARS = 600
"""Characters of document text read around a sentence (whole sentences, earlier ones first)."""
MAX_ANSWER_TOKENS = 30
BATCH_SIZE = 16
HEAD_OUTPUTS = 3
START, END, ANSWERABLE = range(HEAD_OUTPUTS)
"""The head's outputs per token: start logit, end logit, and (read at [CLS] only) the window's
answerability logit."""
SHARED_PREFIX = "embeddings.word_embeddings."
"""Parameters taken from the bundled MiniLM rather than stored with the reader."""


@dataclass(frozen=True)
class Window:
    """Text read for one question: an optional title, then `text`, a slice of a document.

    `spans` are the sentences inside it, as (start, end) offsets into `text`."""

    text: str
    spans: tuple[tuple[int, int], ...]
    title: str = ""

    @property
    def prefix(self) -> str:
        return f"{self.title}\n" if self.title else ""


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one sentence of a window."""

    score: float
    """Best span score minus the window's no-answer score: > 0 means the reader would answer here."""
    span: tuple[int, int] | None
    """The best span's (start, end) offsets into `Window.text`, or None when no token was read."""
    no_answer: float
    """The window's no-answer score (start + end logit of [CLS])."""
    answerable: float = 0.0
    """The window's answerability logit (> 0: the answer-head believes the window answers)."""


def window_around(sentences: Sequence[tuple[int, int]], center: int, budget: int = WINDOW_CHARS) -> tuple[int, int]:
    """First and last index of consecutive sentences around `center` within `budget` characters,
    taking a sentence before, then one after, in turn (what comes before usually names what a
    sentence leans on)."""
    first = last = center
    grew = True
    while grew:
        grew = False
        if first > 0 and sentences[last][1] - sentences[first - 1][0] <= budget:
            first -= 1
            grew = True
        if last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= budget:
            last += 1
            grew = True
    return first, last


def document_window(text: str, sentences: Sequence[tuple[int, int]], first: int, last: int,
                    title: str = "") -> tuple[Window, int]:
    """The Window over sentences `first..last` of a document, and its start offset in `text`."""
    start = sentences[first][0]
    spans = tuple((s - start, e - start) for s, e in sentences[first : last + 1])
    return Window(text=text[start : sentences[last][1]], spans=spans, title=title), start


def encode(tokenizer, questions: Sequence[str], windows: Sequence[Window]):
    """Tokenised batch: `[CLS] question [SEP] prefix + text [SEP]`, the window cut to MAX_TOKENS."""
    return tokenizer(
        list(questions),
        [w.prefix + w.text for w in windows],
        truncation="only_second",
        max_length=MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )


def token_ranges(batch, row: int, window: Window) -> list[tuple[int, int]]:
    """For each sentence of `window`, the [first, last) token positions that lie inside it.

    One pass: tokens and sentences both run in text order, and sentences do not overlap."""
    offsets = batch["offset_mapping"][row].tolist()
    shift = len(window.prefix)
    bounds = [(start + shift, end + shift) for start, end in window.spans]
    ranges = [(0, 0)] * len(bounds)
    sentence = 0
    for token, (segment, (a, b)) in enumerate(zip(batch.sequence_ids(row), offsets)):
        if segment != 1 or b <= a:
            continue
        while sentence < len(bounds) and bounds[sentence][1] < b:
            sentence += 1
        if sentence == len(bounds):
            break
        if a >= bounds[sentence][0]:
            first = ranges[sentence][0] if ranges[sentence] != (0, 0) else token
            ranges[sentence] = (first, token + 1)
    return ranges


def best_span(starts: np.ndarray, ends: np.ndarray, first: int, last: int) -> tuple[float, int, int]:
    """Highest starts[i] + ends[j] with first <= i <= j < last and j - i < MAX_ANSWER_TOKENS."""
    best, best_i, best_j = -np.inf, first, first
    for j in range(first, last):
        lo = max(first, j - MAX_ANSWER_TOKENS + 1)
        i = lo + int(np.argmax(starts[lo : j + 1]))
        value = float(starts[i] + ends[j])
        if value > best:
            best, best_i, best_j = value, i, j
    return best, best_i, best_j


class Reader:
    """The trained span reader. Loads lazily (`warm_up`); thread-safe (answers running at once
    share the model; only tokenising is one at a time)."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        self.folder = folder
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return self.manifest()["sha256"]

    def manifest(self) -> dict:
        path = self.folder / MANIFEST_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"{path}: reader manifest missing or unreadable ({error}); run `make train-reader`") from error

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                self._model, self._tokenizer = answering_model(self.folder, self.manifest())

    def read(self, question: str, windows: Sequence[Window]) -> list[list[Reading]]:
        """Per window, per sentence of it, the reader's verdict (batched passes)."""
        results: list[list[Reading]] = []
        for first in range(0, len(windows), BATCH_SIZE):
            part = windows[first : first + BATCH_SIZE]
            batch, logits = self.logits(question, part)
            results.extend(_readings(batch, row, window, logits[row]) for row, window in enumerate(part))
        return results

    def logits(self, question: str, windows: Sequence[Window]):
        """The model's bare pass: the tokenised batch, and per row and token its HEAD_OUTPUTS logits."""
        self.warm_up()
        import torch

        with self._lock:  # a fast tokenizer must not be entered from two threads at once
            batch = encode(self._tokenizer, [question] * len(windows), windows)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            logits = self._model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]).float()
        return batch, logits.numpy()

    def scores(self, question: str, sentences: Sequence[str]) -> list[float]:
        """One score per sentence, each read alone (higher = more likely to hold the answer)."""
        windows = [Window(text=s, spans=((0, len(s)),)) for s in sentences]
        return [readings[0].score for readings in self.read(question, windows)]


def _readings(batch, row: int, window: Window, logits: np.ndarray) -> list[Reading]:
    starts, ends = logits[:, START], logits[:, END]
    no_answer = float(starts[0] + ends[0])
    answerable = float(logits[0, ANSWERABLE])
    offsets = batch["offset_mapping"][row].tolist()
    shift = len(window.prefix)
    readings = []
    for first, last in token_ranges(batch, row, window):
        if last <= first:
            readings.append(Reading(score=-np.inf, span=None, no_answer=no_answer, answerable=answerable))
            continue
        value, i, j = best_span(starts, ends, first, last)
        readings.append(Reading(score=value - no_answer, span=(offsets[i][0] - shift, offsets[j][1] - shift),
                                no_answer=no_answer, answerable=answerable))
    return readings


def span_model(encoder, head):
    """MiniLM's encoder with a token head (HEAD_OUTPUTS): a torch module called with ids, mask, segment ids."""
    import torch

    class SpanModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = head

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            return self.head(hidden)

    return SpanModel()


def base_model(dtype=None):
    """The bundled MiniLM encoder (sha-checked) with a fresh span head, and its tokenizer; in
    `dtype` (torch's, default float32)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    folder = model_path()
    verify_weights(folder)
    dtype = dtype or torch.float32
    encoder = AutoModel.from_pretrained(str(folder), local_files_only=True, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return span_model(encoder, torch.nn.Linear(encoder.config.hidden_size, HEAD_OUTPUTS, dtype=dtype)), tokenizer


def checked_weights(folder: Path, manifest: dict) -> dict:
    """The reader's stored tensors, after the file's sha256 matches the manifest's."""
    from safetensors.torch import load_file

    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{weights}: reader weights missing; run `make train-reader`")
    actual = file_sha256(weights)
    if actual != manifest.get("sha256"):
        raise ModelError(f"{weights}: sha256 is {actual}, expected {manifest.get('sha256')}; the reader "
                         "file was changed or damaged, retrain it with `make train-reader` or restore it")
    return load_file(str(weights))


def _unfit(folder: Path, detail: object) -> ModelError:
    return ModelError(f"{folder / WEIGHTS_FILE}: does not fit the reader ({detail})")


def load_model(folder: Path, manifest: dict, dtype=None):
    """The trained reader (sha-checked), in `dtype` (torch's, default float32, which training needs)."""
    import torch

    dtype = dtype or torch.float32
    stored = checked_weights(folder, manifest)
    model, tokenizer = base_model(dtype)
    missing, unexpected = model.load_state_dict({name: tensor.to(dtype) for name, tensor in stored.items()},
                                                strict=False)
    if unexpected or any(not name.startswith("encoder." + SHARED_PREFIX) for name in missing):
        raise _unfit(folder, f"missing {missing}, unexpected {unexpected}")
    model.eval()
    return model, tokenizer


def answering_model(folder: Path, manifest: dict):
    """The trained reader as answering holds it: in the bf16 its weights are stored in (autocast
    reads them so anyway: the logits are the float32 load's, bit for bit) but for the layer norms
    (float32, which their float32 inputs need), and with the embedder's own word-embedding module
    (the same frozen MiniLM matrix, in float32).

    The model is laid out on torch's meta device and takes the stored tensors as they are, so
    loading neither reads MiniLM's float32 file again nor fills weights that are then replaced
    (that had cost ~100 MB of peak memory at every server start)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from qa.embedder import shared_word_embeddings

    stored = checked_weights(folder, manifest)
    base = str(model_path())
    config = AutoConfig.from_pretrained(base, local_files_only=True)
    with torch.device("meta"):
        model = span_model(AutoModel.from_config(config, dtype=torch.bfloat16),
                           torch.nn.Linear(config.hidden_size, HEAD_OUTPUTS, dtype=torch.bfloat16))
    word_embeddings = shared_word_embeddings()
    try:
        model.load_state_dict({**stored, f"encoder.{SHARED_PREFIX}weight": word_embeddings.weight}, assign=True)
    except RuntimeError as error:  # names what is missing, unexpected or of another shape
        raise _unfit(folder, " ".join(str(error).split())) from error
    embeddings = model.encoder.embeddings
    embeddings.word_embeddings = word_embeddings
    # Position and segment ids are buffers left out of saved weights; made here as BERT makes them.
    positions = torch.arange(config.max_position_embeddings).expand((1, -1))
    embeddings.register_buffer("position_ids", positions, persistent=False)
    embeddings.register_buffer("token_type_ids", torch.zeros_like(positions), persistent=False)
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.float()
    model.eval()
    return model, AutoTokenizer.from_pretrained(base, local_files_only=True)


def save_weights(model, folder: Path, **facts: object) -> str:
    """Write the reader's own weights (bf16, shared embeddings left out) and its manifest; the
    manifest is written last, each file atomically, so a half-written pair never loads."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().to(torch.bfloat16).contiguous() for name, tensor in model.state_dict().items()
             if not name.startswith("encoder." + SHARED_PREFIX)}
    weights = folder / WEIGHTS_FILE
    partial = weights.with_suffix(".partial")
    save_file(state, str(partial))
    partial.replace(weights)
    digest = file_sha256(weights)
    manifest = folder / MANIFEST_FILE
    partial = manifest.with_suffix(".partial")
    partial.write_text(json.dumps({"sha256": digest, **facts}, indent=2) + "\n", encoding="utf-8")
    partial.replace(manifest)
    return digest


_shared: Reader | None = None
_shared_lock = threading.Lock()


def shipped_reader() -> Reader:
    """The shipped reader, one per process; its weights load (sha-checked) on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
        return _shared


def load_reader() -> Reader:
    """The shipped reader, loaded now."""
    reader = shipped_reader()
    reader.warm_up()
    return reader


@dataclass(frozen=True)
class SentenceReading:
    """The reader's verdict on one sentence of a document, its span in document offsets."""

    score: float
    span: tuple[int, int] | None
    answerable: float = 0.0
    """The answerability logit of the window that gave `score` (see `Reading.answerable`)."""


def read_in_documents(reader: Reader, question: str, wanted: Sequence[tuple[str, int]],
                      sentences: dict[str, Sequence[tuple[int, int]]], documents: dict[str, tuple[str, str]],
                      ) -> dict[tuple[str, int], SentenceReading]:
    """Read each wanted (document id, sentence number) inside a window of its document.

    `sentences` gives each document's sentence offsets, `documents` its (text, title). A
    sentence that an earlier window already holds with context on both sides is not read
    again; every sentence of every window read gets a verdict (the best over windows)."""
    windows: list[Window] = []
    placed: list[tuple[str, int, int]] = []
    covered: set[tuple[str, int]] = set()
    for doc_id, number in wanted:
        if (doc_id, number) in covered:
            continue
        spans = sentences[doc_id]
        first, last = window_around(spans, number)
        text, title = documents[doc_id]
        window, start = document_window(text, spans, first, last, title=title)
        windows.append(window)
        placed.append((doc_id, first, start))
        inner_first = first if first == 0 else first + 1
        inner_last = last if last == len(spans) - 1 else last - 1
        covered.update((doc_id, k) for k in range(inner_first, inner_last + 1))
        covered.add((doc_id, number))
    found: dict[tuple[str, int], SentenceReading] = {}
    for (doc_id, first, start), readings in zip(placed, reader.read(question, windows)):
        for offset, reading in enumerate(readings):
            key = (doc_id, first + offset)
            span = (start + reading.span[0], start + reading.span[1]) if reading.span else None
            if key not in found or reading.score > found[key].score:
                found[key] = SentenceReading(score=reading.score, span=span, answerable=reading.answerable)
    return found
