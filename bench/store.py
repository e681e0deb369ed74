"""Benchmarks of the Milvus store (`--store`) beside the default in-process index, in one run.

    python bench/store.py [--out bench-results]     (or `make bench-store`; about 25 minutes here; the last report is bench/last-store-report.md)

1. news-tune (803 articles) built into the default index and into a Milvus Lite store served by
   Milvus Lite's gRPC server on a loopback port (the path a cluster is reached by), each with the
   real model from nothing (`qa index`, in a fresh process); then the figures of `qa eval` from
   each, and the answer p50/p95 over its single questions.
2. Two `qa serve --store` replicas on two ports, started after the build: each of those
   questions asked of both through the JSON API, and whether the replies are identical.
3. A store of ~100k sentences (the six SQuAD-tune articles copied under new names, their real
   vectors reused with noise, as `bench/run.py` does: embedding is not redone): its write time
   and the answer p50/p95 over 40 SQuAD-tune questions.

Writes store-report.json and store-report.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from run import REPO, output_folder, percentile, timed, write_report  # bench/run.py: also puts tests/ on sys.path

from serving import LiteServer, connect, post_answer, running_qa_serve

NEWS = REPO.parent / "shared" / "eval" / "news-tune"
SQUAD = REPO.parent / "shared" / "eval" / "squad2-tune"


def qa_index(*arguments: str, env: dict[str, str]) -> float:
    """Seconds a fresh `qa index ARGUMENTS` process takes."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa.cli", "index", *arguments], check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def measured(bot, cases) -> dict:
    """`qa eval`'s figures for `bot`, and the answer time of its single questions."""
    from qa.evaluate import evaluate

    figures = evaluate(bot, cases).summary()
    singles = [case.turns[0] for case in cases if len(case.turns) == 1]
    times = [t for question in singles for t in timed(lambda question=question: bot.answer(question), 1)]
    return {**figures, "answer_p50_ms": 1000 * statistics.median(times),
            "answer_p95_ms": 1000 * percentile(times, 0.95)}


def news_tune(scratch: Path, server: LiteServer) -> dict:
    from qa import QA
    from qa.evaluate import question_files, read_cases

    env = {**os.environ, "QA_INDEX_DIR": str(scratch / "indexes")}
    default_build = qa_index(str(NEWS / "corpus"), env=env)
    store_build = qa_index(str(NEWS / "corpus"), "--store", server.uri, env=env)
    files, _ = question_files(NEWS)
    cases = [case for path in files for case in read_cases(path)]
    default = QA.from_directory(NEWS / "corpus", index_dir=scratch / "indexes")
    stored = QA.from_store(server.uri, embedder=default.embedder, reader=default.reranker.reader)
    singles = [case.turns[0] for case in cases if len(case.turns) == 1]
    with running_qa_serve("--store", server.uri) as first, running_qa_serve("--store", server.uri) as second:
        replies = [[post_answer(connect(url), {"question": question}) for url in (first, second)]
                   for question in singles]
    return {"default": {"build_s": default_build, **measured(default, cases)},
            "store": {"build_s": store_build, **measured(stored, cases)},
            "replicas": {"questions": len(singles),
                         "identical": sum(1 for one, other in replies if one == other and one[0] == 200)}}


class ReusedVectors:
    """Stands in for the real model when a copied corpus is written: each context gets the real
    vector of its original with small noise (embedding 100k sentences would take ~20 minutes)."""

    def __init__(self, real, vectors: dict[str, np.ndarray]) -> None:
        self.fingerprint = real.fingerprint
        self.dimension = real.dimension
        self._vectors = vectors
        self._noise = np.random.default_rng(0)

    def encode(self, texts, *, progress=None) -> np.ndarray:
        matrix = np.stack([self._vectors[text] for text in texts])
        matrix = matrix + self._noise.normal(0, 0.02, matrix.shape).astype(np.float32)
        if progress:
            progress(len(texts))
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def large_store(scratch: Path, server: LiteServer, target: int = 100_000) -> dict:
    from qa import QA
    from qa.records import Document
    from qa.store import MilvusStore

    real = QA.from_directory(SQUAD / "corpus", index_dir=scratch / "squad")
    matrix = real.index.vectors.reconstruct_n(0, real.index.vectors.ntotal)
    vectors = {chunk.context: matrix[row] for row, chunk in enumerate(real.index.chunks)}
    sentences = sum(len(s) for s in real.sentences.values())
    copies = max(1, round(target / sentences))
    documents = [Document(id=f"copy{copy:03d}/{document.id}", text=document.text, title=document.title,
                          path=f"copy{copy:03d}/{document.id}")
                 for copy in range(copies) for document in real.documents.values()]
    started = time.perf_counter()
    MilvusStore(server.uri).write(documents, ReusedVectors(real.embedder, vectors))
    write = time.perf_counter() - started
    started = time.perf_counter()
    bot = QA.from_store(server.uri, embedder=real.embedder, reader=real.reranker.reader)
    load = time.perf_counter() - started
    questions = [json.loads(line)["question"] for line in
                 (SQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    bot.answer(questions[0])
    times = [t for question in questions for t in timed(lambda question=question: bot.answer(question), 1)]
    return {"sentences": sentences * copies, "chunks": len(bot.index.chunks), "write_without_embedding_s": write,
            "replica_load_s": load, "answer_p50_ms": 1000 * statistics.median(times),
            "answer_p95_ms": 1000 * percentile(times, 0.95)}


def markdown(report: dict) -> str:
    news = report["news_tune"]
    lines = ["# qa store benchmark", "", f"Machine: {os.cpu_count()} cores. Milvus Lite through its gRPC server.", "",
             "| news-tune | build | answer p50 | answer p95 | hit@1 | hit@3 | right file | abstained | "
             "false abstentions | conversations hit@1 |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("default", "store"):
        row = news[name]
        lines.append(f"| {name} | {row['build_s'] / 60:.1f} min | {row['answer_p50_ms']:.0f} ms | "
                     f"{row['answer_p95_ms']:.0f} ms | {row['hit@1']}/{row['answerable']} | {row['hit@3']} | "
                     f"{row.get('right_file@1', '—')} | {row['abstained']}/{row['unanswerable']} | "
                     f"{row['false_abstentions']} | {row.get('conversation_hit@1', '—')} |")
    replicas = news["replicas"]
    large = report["large_store"]
    lines += ["", f"Two `qa serve --store` replicas: {replicas['identical']}/{replicas['questions']} questions "
                  "answered identically through the JSON API.", "",
              f"A store of {large['sentences']:,} sentences ({large['chunks']:,} chunks): written in "
              f"{large['write_without_embedding_s']:.0f} s (embedding aside), loaded by a replica in "
              f"{large['replica_load_s']:.1f} s, answer p50 {large['answer_p50_ms']:.0f} ms, "
              f"p95 {large['answer_p95_ms']:.0f} ms.", ""]
    return "\n".join(lines)


def main() -> int:
    out = output_folder(__doc__.splitlines()[0])
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-store-"))
    news_server, large_server = LiteServer(scratch / "news-store"), LiteServer(scratch / "large-store")
    try:
        report = {"news_tune": news_tune(scratch, news_server), "large_store": large_store(scratch, large_server)}
    finally:
        news_server.stop()
        large_server.stop()
    write_report(out, "store-report", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
