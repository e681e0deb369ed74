"""Command line: `qa ask`, `qa index`, `qa eval` and `qa serve` (the chat, with uploads if asked, and
the JSON API).

With `--store URI`, `qa index` writes the folder into a Milvus store and `qa ask`, `qa eval` and
`qa serve` answer from what the store holds, with no folder (`qa.store`; its token, if any, comes
from $QA_STORE_TOKEN). Turns the package's errors into messages for the terminal: one line on
stderr and a non-zero exit, never a traceback (set QA_DEBUG=1 to see one). Gradio, FastAPI and
uvicorn are imported only by `qa serve`, which mounts the chat on the JSON API's app and runs it
with uvicorn; pymilvus only with `--store`.
What it leaves out: an interactive terminal chat.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from qa import render
from qa.errors import QAError
from qa.live import LiveEngine
from qa.loader import SUFFIXES
from qa.memory import limit_arenas, map_large_blocks
from qa.upload import MAX_UPLOAD_BYTES, default_upload_folder, upload_folders

EXIT_ERROR = 1
EXIT_USAGE = 2
FORMATS = " ".join(SUFFIXES)
CORES = os.cpu_count() or 1
"""Also `qa serve`'s default concurrency: more answers at once than cores makes none faster, and
each holds its own working memory."""


def _progress_bar(description: str, *, announce: bool):
    """A tqdm bar on stderr fed with `(done, total)` calls, and a way to print a line above it:
    shown with the bar, or always when `announce`. Returns (update, note, close)."""
    from tqdm import tqdm

    bar = tqdm(total=0, desc=description, unit="chunk", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty() and os.environ.get("QA_PROGRESS") != "1")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    def note(line: str) -> None:
        if announce or not bar.disable:
            tqdm.write(f"qa: {line}", file=sys.stderr)

    return update, note, bar.close


def _engine(corpus: str | None, index_dir: str | None, *, store: str | None = None, write: bool = False,
            rebuild: bool = False, announce: bool = False):
    """The engine over `corpus`, or over the Milvus `store` alone when it is not to be written;
    what indexing does is said on stderr (see `_progress_bar`)."""
    from qa.engine import QA, bundled_corpus

    token = os.environ.get("QA_STORE_TOKEN", "")
    if store is not None and not write:
        return QA.from_store(store, token=token)
    update, note, close = _progress_bar("Indexing", announce=announce)
    try:
        bot = QA.from_directory(corpus or bundled_corpus(), index_dir=index_dir, store=store, token=token,
                                progress=update, on_plan=lambda plan: note(plan.describe()), rebuild=rebuild)
    finally:
        close()
    for warning in bot.warnings:
        print(f"qa: warning: {warning}", file=sys.stderr)
    return bot


def format_answer(reply) -> str:
    """The plain-text layout of an answer for a terminal."""
    lines: list[str] = []
    lines.extend(f"Note: {note}" for note in reply.notes)
    if reply.answered:
        lines.append(f"Answer (confidence {reply.confidence:.2f}):")
    else:
        lines.append("The documents don't say. Closest passage, which may be related:" if reply.quotes else reply.text)
    for rank, quote in enumerate(reply.quotes if reply.answered else reply.quotes[:1], 1):
        if rank == 2:
            lines.append("Other passages:")
        bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
        body = textwrap.fill(f"“{quote.marked(bold, plain)}”", width=96, initial_indent="  ", subsequent_indent="   ")
        lines.append(body)
        who = f"{quote.speaker}, in " if quote.speaker else ""
        lines.append(f"   — {who}{quote.title} · {quote.source}, {render.place(quote)}")
        if quote.also_in:
            lines.append(f"     ({render.ALSO_IN} {', '.join(quote.also_in)})")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    bot = _engine(args.corpus, args.index_dir, store=args.store)
    reply = bot.answer(args.question, top_k=args.k)
    print(json.dumps(reply.to_json(), ensure_ascii=False, indent=2) if args.json else format_answer(reply))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()
    bot = _engine(args.directory, args.index_dir, store=args.store, write=True, rebuild=args.full, announce=True)
    sentences = sum(len(s) for s in bot.sentences.values())
    if args.store:
        action = f"Store {args.store} {'updated' if bot.built else 'already up to date'}"
    else:
        action = f"Index {'built' if bot.built else 'loaded (already up to date)'}"
    print(f"{action}: {len(bot.documents)} documents, {sentences} sentences, "
          f"{len(bot.index.chunks)} chunks in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from qa.evaluate import evaluate, iter_failure_lines, question_files, read_cases

    files, beside = question_files(Path(args.questions))
    bot = _engine(args.corpus or (str(beside) if beside else None), args.index_dir, store=args.store)
    cases = [case for path in files for case in read_cases(path)]
    with tqdm(total=len(cases), desc="Asking", file=sys.stderr, leave=False,
              disable=not sys.stderr.isatty()) as bar:
        report = evaluate(bot, cases, progress=lambda: bar.update())
    figures = report.summary()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        answerable = figures["answerable"] or 1
        print(f"answerable questions: {figures['answerable']}")
        for name in ("hit@1", "hit@3", "right_file@1"):
            if name in figures:
                print(f"  {name:<18} {figures[name]:>5}  ({figures[name] / answerable:.1%})")
        print(f"  {'false abstentions':<18} {figures['false_abstentions']:>5}")
        print(f"  {'highlighted hits':<18} {figures['highlighted@1']:>5}  "
              f"({figures['highlight_holds_answer']} holding the answer)")
        print(f"unanswerable questions: {figures['unanswerable']}")
        print(f"  {'abstained':<18} {figures['abstained']:>5}")
        if "abstention_auc" in figures:
            print(f"  {'confidence AUC':<18} {figures['abstention_auc']:>5.3f}  (answerable above unanswerable)")
        if "conversations" in figures:
            print(f"conversations: {figures['conversations']}")
            print(f"  {'hit@1':<18} {figures['conversation_hit@1']:>5}")
    if args.verbose:
        print("\nFailures:")
        for line in iter_failure_lines(report):
            print(line)
    return 0


def _auth(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def cmd_serve(args: argparse.Namespace) -> int:
    limit_arenas()
    map_large_blocks()
    uploads = None
    if args.allow_upload is not None:
        uploads = upload_folders(corpus=args.corpus, folder=args.allow_upload or None)
    bot = _engine(str(uploads.corpus) if uploads else args.corpus, args.index_dir, store=args.store)
    bot.warm_up()
    live = LiveEngine(bot, uploads=uploads, index_dir=args.index_dir)
    import gradio as gr
    import torch
    import uvicorn

    # Answers running at once share the cores instead of each spreading a team of threads over
    # all of them (on 2 cores, 4 answers at once with 2 threads each wasted a tenth of the engine's
    # throughput, and one answer alone took ~150 ms instead of ~20 while another process was busy).
    torch.set_num_threads(max(1, CORES // args.concurrency))

    from qa.api import create_app
    from qa.app import build_demo

    app = create_app(live, auth=args.auth, concurrency=args.concurrency, queue_size=args.queue_size)
    demo = build_demo(live, concurrency_limit=args.concurrency, login_required=args.auth is not None)
    gr.mount_gradio_app(app, demo.queue(max_size=args.queue_size), path="/", server_name=args.host,
                        server_port=args.port, auth=args.auth, show_error=False,
                        max_file_size=MAX_UPLOAD_BYTES if uploads else "1mb",
                        enable_monitoring=False, footer_links=["api"])
    print(f"Serving {len(bot.documents)} document(s) at http://{args.host}:{args.port} "
          f"(JSON API: /api/answer, described at /docs)  (Ctrl+C to stop)", flush=True)
    if uploads:
        print(f"Uploads are stored in {uploads.folder}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="error" if args.quiet else "warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Answer questions about a folder of documents by quoting the sentences that "
                    "answer them. Without --corpus, the bundled announcement is used.",
        epilog="Indexes are cached under $QA_INDEX_DIR (default: the user cache folder). When files "
               "change, only new and changed files are embedded again.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def corpus_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--corpus", metavar="DIR", help=f"folder of documents ({FORMATS}; default: bundled article)")
        sub.add_argument("--index-dir", metavar="DIR", help="where indexes are cached (default: $QA_INDEX_DIR or user cache)")
        store_option(sub, "answer from the documents and index this Milvus store holds, instead of a folder "
                          "(built by `qa index DIR --store URI`)")

    def store_option(sub: argparse.ArgumentParser, purpose: str) -> None:
        sub.add_argument("--store", metavar="URI", help=f"{purpose}: a Milvus Lite file (PATH.db) or a Milvus "
                                                         "server (http://host:19530; token in $QA_STORE_TOKEN)")

    ask = commands.add_parser("ask", help="answer one question", description="Answer one question with quotes.")
    ask.add_argument("question", help="the question, in quotes")
    corpus_options(ask)
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("-k", type=int, default=3, metavar="N", help="number of quotes to return (default 3)")
    ask.set_defaults(run=cmd_ask)

    index = commands.add_parser(
        "index", help="build (or update, or check) the index of a folder",
        description="Build the index of a folder, or confirm a saved one is current. When files were "
                    "changed, added or removed since the folder was last indexed, only the changed and "
                    "new files are embedded; the others' vectors are re-used from the previous index. "
                    "What is re-used and what is embedded is said on stderr.")
    index.add_argument("directory", nargs="?", help=f"folder of documents ({FORMATS}; default: bundled article)")
    index.add_argument("--index-dir", metavar="DIR", help="where indexes are cached")
    store_option(index, "write the folder into this Milvus store instead of the index cache, adding, changing "
                        "and deleting documents as the folder does")
    index.add_argument("--full", action="store_true",
                       help="embed every file again, re-using nothing, even when the saved index is current")
    index.set_defaults(run=cmd_index)

    evaluation = commands.add_parser(
        "eval", help="measure answers against a question set",
        description="Run a JSONL question set and print hit@1, hit@3, right file, abstentions. "
                    "QUESTIONS may be a folder holding *.jsonl files and a corpus/ folder.")
    evaluation.add_argument("questions", help="JSONL file, or an eval folder")
    corpus_options(evaluation)
    evaluation.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="list each failure")
    evaluation.set_defaults(run=cmd_eval)

    serve = commands.add_parser(
        "serve", help="serve the chat in the browser",
        description="Serve the chat (with its endpoint /ask for gradio_client) and the JSON API "
                    "(POST /api/answer, described at /docs) on this machine, from one process.")
    corpus_options(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    serve.add_argument("--auth", type=_auth, metavar="USER:PASSWORD",
                       help="require this login, for the page and both APIs (HTTP Basic for the JSON API)")
    serve.add_argument("--share", choices=["never"], default="never",
                       help="public share links are never made: the server stays on your network")
    serve.add_argument("--concurrency", type=int, default=CORES, metavar="N",
                       help="questions answered at once, by the chat and by the JSON API each (default: one "
                            f"per core, here {CORES})")
    serve.add_argument("--allow-upload", nargs="?", const="", metavar="DIR",
                       help="let the page add documents (off by default; with --auth, only after logging "
                            f"in): {FORMATS} files of up to {MAX_UPLOAD_BYTES // 2**20} MiB, stored in DIR, "
                            "the corpus folder or a folder inside it (default: the corpus folder). Without "
                            f"--corpus, DIR (default: {default_upload_folder()}) is served, with a copy of "
                            "the bundled article")
    serve.add_argument("--queue-size", type=int, default=64, metavar="N", help="waiting requests before new ones are refused (default 64)")
    serve.add_argument("--quiet", action="store_true", help="log only errors, not warnings")
    serve.set_defaults(run=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # pypdf logs each flaw it works around in a damaged PDF; the loader's warning already names
    # a file it had to skip, and a readable one needs no remark.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    if getattr(args, "store", None) and (getattr(args, "corpus", None) or getattr(args, "allow_upload", None) is not None):
        parser.error("--store answers from what the store holds: it cannot be combined with --corpus or "
                     "--allow-upload (write a folder into it with `qa index DIR --store URI`)")
    try:
        return args.run(args)
    except QAError as error:
        print(f"qa: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the CLI's last line of defence: one line, not a traceback
        if os.environ.get("QA_DEBUG"):
            raise
        print(f"qa: unexpected error: {type(error).__name__}: {error} (set QA_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
