"""Benchmarks: each figure beside its floor, both measured in this one run, and their ratio.

    python bench/run.py [--out bench-results]     (or `make bench`)

Writes report.json and report.md. Floors: a bare SentenceTransformer.encode of the same
question (warm answer), a fresh process importing torch + sentence_transformers (cold start),
bare batch encoding of the same chunk texts (index build), that build (the index update after a
file is added, which embeds only that file), a direct engine call (the chat's
Gradio endpoint /ask), the engine answering the same questions from 2 threads (the JSON API).
Scaling corpora past what can be embedded here in minutes reuse the vectors of a real 1k-sentence
corpus with small noise, and say so: they measure search and index cost, not embedding cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

QUESTIONS = [json.loads(line)["question"] for line in
             (REPO / "tests" / "data" / "dev_questions.jsonl").read_text(encoding="utf-8").splitlines()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(action, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def fresh_process_seconds(code: str, env: dict[str, str], repeat: int = 3) -> float:
    """Median wall time of `python -c code` in a new process."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class RecordingReader:
    """The engine's reader, keeping the windows of the last question it read."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.windows = []

    def read(self, question, windows):
        self.windows = list(windows)
        return self.reader.read(question, windows)


def warm_latency(bot) -> dict:
    """A warm answer against two floors: one bare encode of the question, and that encode plus
    the reader's bare pass (tokenising and the model, nothing else) over the windows the
    engine read for that question."""
    from qa.embedder import _load_shared_model

    model = _load_shared_model()
    reader = bot.reranker.reader
    answers, encodes = [], []
    for question in QUESTIONS * 4:  # interleaved, so a slower or faster spell of the CPU meets both alike
        answers += timed(lambda: bot.answer(question), 1)
        encodes += timed(lambda: model.encode([question], normalize_embeddings=True), 1)
    recorder = RecordingReader(reader)
    bot.reranker.reader = recorder
    passes, windows = [], []
    for question in QUESTIONS:
        bot.answer(question)
        windows.append(len(recorder.windows))
        passes += timed(lambda q=question, w=recorder.windows: reader.logits(q, w) if w else None, 4)
    bot.reranker.reader = reader
    floor = statistics.median(encodes)
    read = statistics.median(passes)
    return {"answer_p50_ms": 1000 * statistics.median(answers), "answer_p95_ms": 1000 * percentile(answers, 0.95),
            "encode_p50_ms": 1000 * floor, "ratio_p50": statistics.median(answers) / floor,
            "ratio_p95": percentile(answers, 0.95) / floor, "target_ratio": 12,
            "reader_pass_p50_ms": 1000 * read, "windows_read_mean": statistics.mean(windows),
            "ratio_to_encode_plus_pass": statistics.median(answers) / (floor + read), "target_pass_ratio": 1.3}


def cold_start(index_dir: Path) -> dict:
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir)}
    corpus = REPO / "corpus"
    subprocess.run([sys.executable, "-m", "qa.cli", "index", str(corpus)], check=True, env=env, capture_output=True)
    first_answer = fresh_process_seconds(
        f"from qa import QA; QA.from_directory({str(corpus)!r}).answer('Who chairs the board?')", env)
    imports = fresh_process_seconds("import torch, sentence_transformers", env)
    gradio_free = subprocess.run(
        [sys.executable, "-c", "import sys; from qa import cli; print('gradio' in sys.modules)"],
        check=True, env=env, capture_output=True, text=True).stdout.strip() == "False"
    return {"first_answer_s": first_answer, "bare_imports_s": imports, "ratio": first_answer / imports,
            "target_ratio": 1.3, "cli_imports_gradio": not gradio_free}


def build_throughput(index_dir: Path) -> dict:
    from qa import QA
    from qa.chunker import chunk_documents
    from qa.embedder import _load_shared_model
    from qa.loader import load_corpus

    corpus = Path(tempfile.mkdtemp())
    source = REPO.parent / "shared" / "eval" / "squad2-tune" / "corpus"
    for name in ("Normans.txt", "1973_oil_crisis.txt"):
        (corpus / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    started = time.perf_counter()
    bot = QA.from_directory(corpus, index_dir=index_dir / "build")
    build = time.perf_counter() - started
    sentences = sum(len(s) for s in bot.sentences.values())
    chunks = chunk_documents(list(load_corpus(corpus).documents.values()))
    model = _load_shared_model()
    started = time.perf_counter()
    model.encode([c.context for c in chunks], batch_size=16, normalize_embeddings=True)
    bare = time.perf_counter() - started
    (corpus / "note.txt").write_text("A late note\n\nThe Normans came from Normandy. Their rule changed England.\n",
                                     encoding="utf-8")
    started = time.perf_counter()
    QA.from_directory(corpus, index_dir=index_dir / "build")
    update = time.perf_counter() - started
    return {"sentences": sentences, "chunks": len(chunks), "build_s": build,
            "sentences_per_s": sentences / build, "bare_encode_s": bare,
            "bare_sentences_per_s": sentences / bare, "ratio": build / bare,
            "update_s": update, "update_ratio": update / build}


def http(index_dir: Path, bot) -> dict:
    from gradio_client import Client

    from serving import running_server

    results = {}
    direct = [t for q in QUESTIONS for t in timed(lambda q=q: bot.answer(q), 1)]
    results["direct_p50_ms"] = 1000 * statistics.median(direct)
    with running_server(REPO / "corpus", index_dir / "http") as url:
        pid = int(subprocess.run(["pgrep", "-f", f"qa.cli serve --corpus {REPO / 'corpus'}"],
                                 capture_output=True, text=True).stdout.split()[0])
        for users in (1, 5, 20):
            def user(number: int) -> list[float]:
                client = Client(url, verbose=False)
                return [t for q in QUESTIONS[number % 5: number % 5 + 5]
                        for t in timed(lambda q=q: client.predict(message=q, api_name="/ask"), 1)]

            started = time.perf_counter()
            with ThreadPoolExecutor(users) as pool:
                times = [t for batch in pool.map(user, range(users)) for t in batch]
            elapsed = time.perf_counter() - started
            results[f"users_{users}"] = {"answers_per_s": len(times) / elapsed,
                                         "p95_ms": 1000 * percentile(times, 0.95),
                                         "p50_ms": 1000 * statistics.median(times)}
        status = Path(f"/proc/{pid}/status").read_text()
        results["server_peak_rss_mb"] = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) / 1024
    results["target_peak_rss_mb"] = 800
    return results


JSON_USERS = 20
JSON_QUESTIONS_EACH = 10


def json_api(index_dir: Path, bot) -> dict:
    """20 clients at once, 10 questions each, on POST /api/answer of a real server, against the
    engine answering the same 200 questions in-process from 2 threads (one per core here)."""
    import http.client

    from serving import connect, post_answer, running_server

    asked = [[QUESTIONS[(user + turn) % len(QUESTIONS)] for turn in range(JSON_QUESTIONS_EACH)]
             for user in range(JSON_USERS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(bot.answer, [question for questions in asked for question in questions]))
    engine_rate = JSON_USERS * JSON_QUESTIONS_EACH / (time.perf_counter() - started)

    def client(url: str, questions: list[str]) -> tuple[list[float], int]:
        """One keep-alive connection asking its questions in turn: (seconds per reply, errors)."""
        connection = connect(url)
        times, errors = [], 0
        for question in questions:
            started = time.perf_counter()
            try:
                ok = post_answer(connection, {"question": question})[0] == 200
            except (OSError, http.client.HTTPException, ValueError):
                connection.close()
                ok = False
            times.append(time.perf_counter() - started)
            errors += not ok
        connection.close()
        return times, errors

    with running_server(REPO / "corpus", index_dir / "json") as url:
        client(url, QUESTIONS[:2])  # the first requests pay for lazy set-up
        started = time.perf_counter()
        with ThreadPoolExecutor(JSON_USERS) as pool:
            results = list(pool.map(lambda questions: client(url, questions), asked))
        elapsed = time.perf_counter() - started
    times = [t for batch, _ in results for t in batch]
    rate = len(times) / elapsed
    return {"clients": JSON_USERS, "questions_each": JSON_QUESTIONS_EACH, "answers_per_s": rate,
            "engine_2_threads_answers_per_s": engine_rate, "ratio": rate / engine_rate, "target_ratio": 0.85,
            "p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * percentile(times, 0.95),
            "errors": sum(errors for _, errors in results)}


def scaling(index_dir: Path) -> dict:
    """Search cost as the corpus grows: real vectors for 1k sentences, reused with noise beyond."""
    import faiss
    import numpy as np

    from qa.embedder import MiniLMEmbedder
    from qa.index import APPROXIMATE_DEPTH, APPROXIMATE_FROM, DENSE_DEPTH, vector_index

    embedder = MiniLMEmbedder()
    base_texts = []
    source = REPO.parent / "shared" / "eval" / "squad2-tune" / "corpus"
    from qa.chunker import chunk_documents
    from qa.loader import load_corpus
    chunks = [c for c in chunk_documents(list(load_corpus(source).documents.values())) if c.kind == "sentence"]
    base_texts = [c.context for c in chunks[:1000]]
    started = time.perf_counter()
    base = embedder.encode(base_texts)
    per_sentence = (time.perf_counter() - started) / len(base_texts)
    rng = np.random.default_rng(0)
    query = embedder.encode(["When were the Normans in Normandy?"])
    rows = {}
    for size in (1_000, 10_000, 100_000):
        vectors = np.vstack([base] * (size // len(base)))
        vectors = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.perf_counter()
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        add_s = time.perf_counter() - started
        path = index_dir / f"scale-{size}.faiss"
        faiss.write_index(flat, str(path))
        search = timed(lambda: flat.search(query, min(size, DENSE_DEPTH)), 20)
        row = {"embed_s_estimated": per_sentence * size * 2, "index_add_s": add_s,
               "index_mb": path.stat().st_size / 2**20, "search_p50_ms": 1000 * statistics.median(search)}
        if size >= 10_000:
            hnsw = vector_index(vectors.shape[1], APPROXIMATE_FROM)
            started = time.perf_counter()
            hnsw.add(vectors)
            row["hnsw_add_s"] = time.perf_counter() - started
            found = hnsw.search(query, APPROXIMATE_DEPTH)[1][0]
            truth = flat.search(query, 10)[1][0]
            row["hnsw_recall_at_10"] = len(set(found) & set(truth)) / len(truth)
            row["hnsw_search_p50_ms"] = 1000 * statistics.median(timed(lambda: hnsw.search(query, APPROXIMATE_DEPTH), 20))
        rows[str(size)] = row
    rows["note"] = ("embed_s_estimated = measured seconds per sentence x sentences x 2 (sentences and "
                    "passages); vectors beyond 1k are the 1k real ones repeated with noise")
    return rows


def corpus_scaling(index_dir: Path) -> dict:
    """Whole-engine cost on corpora of 1k, 10k and 100k sentences: the six SQuAD-tune articles
    copied under new names, their real vectors reused with noise for the copies (embedding is
    priced from the measured throughput instead of being redone)."""
    import numpy as np

    from qa import QA
    from qa.index import CorpusIndex, LexicalIndex, Previous, indexed_documents, vector_index
    from qa.records import Document

    source = REPO.parent / "shared" / "eval" / "squad2-tune"
    real = QA.from_directory(source / "corpus", index_dir=index_dir / "squad")
    questions = [json.loads(line)["question"] for line in
                 (source / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    base_vectors = real.index.vectors.reconstruct_n(0, real.index.vectors.ntotal)
    base_sentences = sum(len(s) for s in real.sentences.values())
    rng = np.random.default_rng(0)
    rows = {}
    for target in (1_000, 10_000, 100_000):
        copies = max(1, round(target / base_sentences))
        documents, chunks, vectors = {}, [], []
        for copy in range(copies):
            for document in real.documents.values():
                renamed = f"copy{copy:03d}/{document.id}"
                documents[renamed] = Document(id=renamed, text=document.text, title=document.title, path=renamed)
            chunks += [replace(chunk, doc_id=f"copy{copy:03d}/{chunk.doc_id}") for chunk in real.index.chunks]
            noise = rng.normal(0, 0.02, base_vectors.shape).astype(np.float32) if copy else 0
            vectors.append(base_vectors + noise)
        matrix = np.vstack(vectors)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        started = time.perf_counter()
        dense = vector_index(matrix.shape[1], len(matrix))
        dense.add(matrix)
        index = CorpusIndex(key=f"bench-{target}", chunks=chunks, vectors=dense,
                            lexical=LexicalIndex([chunk.context for chunk in chunks]),
                            documents=indexed_documents(list(documents.values()), chunks, real.embedder.fingerprint))
        bot = QA(documents, index, real.embedder)
        build = time.perf_counter() - started
        folder = index_dir / f"corpus-{target}"
        index.save(folder)
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        bot.answer(questions[0])
        answers = [t for q in questions for t in timed(lambda q=q: bot.answer(q), 1)]
        sentences = base_sentences * copies
        first = next(iter(documents.values()))
        edited = {**documents, first.id: replace(first, text=first.text + " One sentence was added later.")}
        previous = Previous(chunks=chunks, vectors=matrix, documents={entry.id: entry for entry in index.documents})
        started = time.perf_counter()
        CorpusIndex.build(list(edited.values()), real.embedder, previous=previous)
        update = time.perf_counter() - started
        rows[str(sentences)] = {"chunks": len(chunks), "index_kind": type(dense).__name__,
                                "build_without_embedding_s": build, "update_one_document_s": update, "index_mb": size_mb,
                                "answer_p50_ms": 1000 * statistics.median(answers),
                                "answer_p95_ms": 1000 * percentile(answers, 0.95)}
    return rows


def markdown(report: dict) -> str:
    lines = ["# qa benchmark", "", f"Machine: {os.cpu_count()} cores. All floors measured in the same run.", ""]
    w = report["warm_answer"]
    lines += ["| figure | value | floor | ratio | target |", "| --- | --- | --- | --- | --- |",
              f"| warm answer p50 | {w['answer_p50_ms']:.1f} ms | encode {w['encode_p50_ms']:.1f} ms | {w['ratio_p50']:.2f} | ≤ 12 |",
              f"| warm answer p95 | {w['answer_p95_ms']:.1f} ms | encode {w['encode_p50_ms']:.1f} ms | {w['ratio_p95']:.2f} | |",
              f"| warm answer p50 | {w['answer_p50_ms']:.1f} ms | encode + reader pass over its {w['windows_read_mean']:.1f} "
              f"windows {w['encode_p50_ms'] + w['reader_pass_p50_ms']:.1f} ms | {w['ratio_to_encode_plus_pass']:.2f} | ≤ 1.3 |"]
    c = report["cold_start"]
    lines.append(f"| cold start to first answer | {c['first_answer_s']:.2f} s | imports {c['bare_imports_s']:.2f} s | {c['ratio']:.2f} | ≤ 1.3 |")
    b = report["build"]
    lines.append(f"| index build ({b['sentences']} sentences, {b['chunks']} chunks) | {b['sentences_per_s']:.0f} sentences/s | "
                 f"bare encode {b['bare_sentences_per_s']:.0f}/s | {b['ratio']:.2f} (time) | |")
    lines.append(f"| index update after adding a 2-sentence file | {b['update_s']:.2f} s | full build "
                 f"{b['build_s']:.2f} s | {b['update_ratio']:.3f} | |")
    h = report["http"]
    for users in (1, 5, 20):
        u = h[f"users_{users}"]
        lines.append(f"| chat endpoint /ask (gradio_client), {users} users | {u['answers_per_s']:.1f} answers/s, "
                     f"p50 {u['p50_ms']:.0f} ms, p95 {u['p95_ms']:.0f} ms | direct p50 {h['direct_p50_ms']:.1f} ms | "
                     f"{u['p50_ms'] / h['direct_p50_ms']:.1f} (p50) | |")
    j = report["json_api"]
    lines.append(f"| JSON API, {j['clients']} clients × {j['questions_each']} | {j['answers_per_s']:.1f} answers/s, "
                 f"p50 {j['p50_ms']:.0f} ms, p95 {j['p95_ms']:.0f} ms, {j['errors']} errors | "
                 f"engine, 2 threads {j['engine_2_threads_answers_per_s']:.1f}/s | {j['ratio']:.2f} | ≥ 0.85 |")
    lines.append(f"| server peak RSS | {h['server_peak_rss_mb']:.0f} MB | | | ≤ 800 MB |")
    lines += ["", "| sentences | embedding (est.) | exact: add | size | search p50 | HNSW: add | search p50 | recall@10 |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size, row in report["scaling"].items():
        if size != "note":
            hnsw = (f"{row['hnsw_add_s']:.1f} s | {row['hnsw_search_p50_ms']:.2f} ms | {row['hnsw_recall_at_10']:.2f}"
                    if "hnsw_add_s" in row else "— | — | —")
            lines.append(f"| {int(size):,} | {row['embed_s_estimated']:.0f} s | {row['index_add_s'] * 1000:.0f} ms | "
                         f"{row['index_mb']:.1f} MB | {row['search_p50_ms']:.2f} ms | {hnsw} |")
    lines += ["", report["scaling"]["note"], ""]
    lines += ["| corpus sentences | chunks | dense index | build (no embedding) | update, one document changed "
              "| on disk | answer p50 | answer p95 |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size, row in report["corpus_scaling"].items():
        lines.append(f"| {int(size):,} | {row['chunks']:,} | {row['index_kind']} | {row['build_without_embedding_s']:.1f} s | "
                     f"{row['update_one_document_s']:.1f} s | {row['index_mb']:.0f} MB | {row['answer_p50_ms']:.1f} ms | "
                     f"{row['answer_p95_ms']:.1f} ms |")
    lines += ["", "Corpora above: the six SQuAD-tune articles copied under new names, their vectors reused "
              "with noise; answers over the first 40 SQuAD-tune questions. The update re-embeds the changed "
              "document with the real model and rebuilds the rest from the previous index's vectors "
              "(saving aside).", ""]
    return "\n".join(lines)


def output_folder(description: str) -> Path:
    """The folder `--out` names (default bench-results/), made if missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=str(REPO / "bench-results"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_report(out: Path, name: str, report: dict, text: str) -> None:
    """NAME.json and NAME.md in `out`; the markdown is printed too."""
    (out / f"{name}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)


def main() -> int:
    out = output_folder(__doc__.splitlines()[0])
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    os.environ["QA_INDEX_DIR"] = str(scratch / "main")
    from qa import QA

    bot = QA.from_directory(REPO / "corpus")
    report = {"warm_answer": warm_latency(bot), "cold_start": cold_start(scratch / "cold"),
              "build": build_throughput(scratch), "http": http(scratch, bot), "json_api": json_api(scratch, bot), "scaling": scaling(scratch),
              "corpus_scaling": corpus_scaling(scratch)}
    write_report(out, "report", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
