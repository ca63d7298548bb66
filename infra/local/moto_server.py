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


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens there. SO_REUSEADDR as the servers set it: connections of an earlier server that linger
    in TIME_WAIT do not keep a new one from binding."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class MotoServer:
    """A moto server child process on 127.0.0.1 (infra/local/moto_app.py). With `state_file`, it restores that
    snapshot at start and keeps saving it (every `snapshot_interval` seconds when something changed, and when it
    stops)."""

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        *,
        state_file: Path | None = None,
        snapshot_interval: float = 10.0,
    ) -> None:
        self.port = port or int(os.environ.get("MAESTRO_MOTO_PORT", DEFAULT_PORT))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self.state_file = state_file
        self.snapshot_interval = snapshot_interval
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> MotoServer:
        if not port_is_free(self.port):  # never talk to whatever already listens there
            raise RuntimeError(f"port {self.port} is in use: moto server cannot start there")
        # moto's server app, with DynamoDB requests serialised as DynamoDB itself guarantees (infra/local/moto_app.py).
        command = [sys.executable, "-m", "infra.local.moto_app", "-H", "127.0.0.1", "-p", str(self.port)]
        if self.state_file:
            command += ["--state-file", str(self.state_file), "--snapshot-interval", str(self.snapshot_interval)]
        # The child keeps its own copy of the log's descriptor. It stays in this process group: a signal to the
        # group (Ctrl-C, a service manager's SIGTERM) reaches it, and it saves its state before it exits.
        with open(self._log_path, "ab") if self._log_path else open(os.devnull, "wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
        try:
            wait_until_up(self.endpoint, 120 if self.state_file else 20, process=self._process)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 120) -> None:
        """SIGTERM, then wait (the last snapshot of a large workspace takes seconds), then SIGKILL."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


@contextmanager
def running_moto(port: int | None = None, log_path: Path | None = None) -> Iterator[MotoServer]:
    server = MotoServer(port, log_path).start()
    try:
        yield server
    finally:
        server.stop()
