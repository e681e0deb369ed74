"""Start `qa serve` on a free loopback port for a test, and stop it afterwards; ask its JSON API."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def bundled_copy(folder: Path) -> Path:
    """`folder` holding a copy of the bundled article: a corpus a server may write beside."""
    from conftest import BUNDLED

    shutil.copy(BUNDLED / "announcement.txt", folder / "announcement.txt")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 401 behind --auth): it is up
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"server at {url} did not come up in {seconds} s")


@contextlib.contextmanager
def running_server(corpus: Path, index_dir: Path, *extra: str) -> Iterator[str]:
    """The URL of a `qa serve` process on `corpus`, stopped when the block ends."""
    port = free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--corpus", str(corpus), "--port", str(port), "--quiet", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def connect(url: str, timeout: float = 120) -> http.client.HTTPConnection:
    """A keep-alive connection to the server at `url` (e.g. http://127.0.0.1:7860/)."""
    host, port = url.split("//")[1].strip("/").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def post_answer(connection: http.client.HTTPConnection, body: dict | bytes,
                headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST to /api/answer (a dict is sent as JSON, bytes as they are): the status and the JSON reply."""
    data = json.dumps(body) if isinstance(body, dict) else body
    connection.request("POST", "/api/answer", data, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    return response.status, json.loads(response.read())
