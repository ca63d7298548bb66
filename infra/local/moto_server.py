"""Start and stop moto in server mode: the local AWS endpoint, reached over HTTP exactly as AWS would be."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_PORT = 4566
PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    endpoint: str,
    timeout_s: float = 20.0,
    *,
    path: str = "/moto-api/",
    what: str = "moto server",
    process: subprocess.Popen | None = None,
) -> None:
    """Until `endpoint + path` answers; a RuntimeError when `timeout_s` passes or `process` exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(endpoint + path, timeout=1):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode} before answering") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer at {endpoint} within {timeout_s:.0f}s") from None
            time.sleep(0.1)


class MotoServer:
    """A moto_server child process on 127.0.0.1."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or int(os.environ.get("MAESTRO_MOTO_PORT", DEFAULT_PORT))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        # moto's server app, with DynamoDB requests serialised as DynamoDB itself guarantees (infra/local/moto_app.py).
        command = [sys.executable, "-m", "infra.local.moto_app", "-H", "127.0.0.1", "-p", str(self.port)]
        # the child keeps its own copy of the log's descriptor
        with open(self._log_path, "ab") if self._log_path else open(os.devnull, "wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_DIR
            )
        try:
            wait_until_up(self.endpoint)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


@contextmanager
def running_moto(port: int | None = None, log_path: Path | None = None) -> Iterator[MotoServer]:
    server = MotoServer(port, log_path).start()
    try:
        yield server
    finally:
        server.stop()
