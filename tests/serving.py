"""Start `qa serve`, or Milvus Lite's gRPC server, on a free loopback port for a test, and stop it
afterwards; ask the JSON API."""

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
    with running_qa_serve("--corpus", str(corpus), *extra, env={"QA_INDEX_DIR": str(index_dir)}) as url:
        yield url


@contextlib.contextmanager
def running_qa_serve(*arguments: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The URL of a `qa serve ARGUMENTS` process on a free port, stopped when the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", *arguments, "--port", str(port), "--quiet"],
        env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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


class LiteServer:
    """Milvus Lite's gRPC server in its own process on a loopback port, over the folder `data`:
    the network path a Milvus cluster is reached by."""

    START_SECONDS = 60

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + self.START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"the Milvus Lite server did not start: {self.process.stderr.read()}")
                time.sleep(0.2)

    def stop(self) -> None:
        """Kill the server at once, as a machine that goes away would."""
        self.process.kill()
        self.process.wait()
