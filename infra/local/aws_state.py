"""The local AWS's state on disk: moto keeps every table, object, queue, rule and secret in memory, so the moto
server of `make run` saves a snapshot of its backends into .local-stack/ and restores it when it starts.

- What: every moto backend in use (DynamoDB, S3 with object bytes and versions, SQS with pending messages,
  EventBridge, Secrets Manager, SSM, ...), pickled in one piece so references between them survive.
- When: every `interval` seconds if a request may have changed something since the last snapshot, and once more
  when the server stops (SIGTERM, SIGINT, or the process that started it dies). A SIGKILL loses at most the
  changes of the last interval.
- Consistent: a snapshot is taken between requests (RequestGate): no request runs while the backends are
  pickled, so a snapshot never holds half of a transaction or an object whose row is missing.
- Crash-safe: written to a temporary file, flushed to disk, then renamed over the previous snapshot (an atomic
  replace), so a crash mid-write leaves the previous snapshot whole.

Why not moto's recorder (replaying every request at start): it grows with the history and replays
non-deterministic answers (S3 version ids, message ids) differently from the first time, which the stored rows
refer to.
"""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SNAPSHOT_FORMAT = 1
# An action name that starts with one of these only reads (DynamoDB, SQS, EventBridge, Secrets Manager, SSM ...);
# a ReceiveMessage only moves a message in flight, which a restart undoes anyway (it becomes visible again).
READ_ACTION_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet", "Receive")


class SnapshotUnreadable(RuntimeError):
    """The snapshot cannot be restored (another moto version, or not a snapshot at all)."""


class RequestGate:
    """Many requests at a time, or one snapshot: a snapshot waits for the running requests to finish and holds
    new ones back while it copies the state (milliseconds for a small workspace)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._exclusive = False

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._condition:
            while self._exclusive:
                self._condition.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                if not self._active:
                    self._condition.notify_all()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Inside a request: step out of it while it only waits (an SQS long poll), so a snapshot can run."""
        with self._condition:
            self._active -= 1
            if not self._active:
                self._condition.notify_all()
        try:
            yield
        finally:
            with self._condition:
                while self._exclusive:
                    self._condition.wait()
                self._active += 1

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            while self._exclusive:
                self._condition.wait()
            self._exclusive = True
            while self._active:
                self._condition.wait()
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


def is_read_only(environ: dict) -> bool:
    """True when the request cannot change the state (a false "changes" only costs one needless snapshot)."""
    if environ.get("PATH_INFO", "").startswith("/moto-api/"):
        return environ.get("REQUEST_METHOD") == "GET"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1].startswith(READ_ACTION_PREFIXES)
    return environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS")


class StateKeeper:
    """WSGI middleware and snapshot writer around moto's server app."""

    def __init__(self, app: Callable, path: Path, interval_s: float, log: Callable[[str], None] = print) -> None:
        self.app, self.path, self.interval_s, self.log = app, Path(path), interval_s, log
        self.gate = RequestGate()
        self._changes = 0  # mutating requests seen
        self._saved = 0  # the count the newest snapshot on disk includes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        with self.gate.request():
            if not is_read_only(environ):
                self._changes += 1  # counted inside the gate: a snapshot sees it or the request waits for it
            # Consume the response inside the gate: the backend does its work while the body is produced.
            return list(self.app(environ, start_response))

    def release_long_polls(self) -> None:
        """An SQS ReceiveMessage waiting for messages (up to 20 s) would hold every snapshot, and with it every
        other request, back: while moto's long poll waits, it is not a request in progress."""
        from moto.sqs.models import Queue

        original = Queue.wait_for_messages
        gate = self.gate

        def wait_for_messages(queue: Any, timeout: float) -> None:
            with gate.paused():
                return original(queue, timeout)

        Queue.wait_for_messages = wait_for_messages

    # ---------------------------------------------------------------- saving
    def snapshot(self, reason: str = "interval") -> bool:
        """Write a snapshot if anything may have changed since the last one; True when one was written."""
        with self._write_lock:
            if self._changes == self._saved and self.path.exists():
                return False
            started = time.perf_counter()
            with self.gate.exclusive():
                quiet, captured_at = time.perf_counter(), time.time()
                changes = self._changes
                data = dumps(capture())
            copied = time.perf_counter()
            write_atomically(self.path, data)
            self._saved = changes
            self.log(
                f"local AWS state saved ({reason}, as of {captured_at:.3f}): {len(data) / 1e6:.1f} MB; waited "
                f"{quiet - started:.2f} s for "
                f"running requests, held new ones {copied - started:.2f} s, wrote in {time.perf_counter() - copied:.2f} s"
            )
            return True

    def start(self) -> StateKeeper:
        self._thread = threading.Thread(target=self._loop, name="state-snapshots", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.snapshot()
            except Exception as error:  # keep serving; the next interval tries again
                self.log(f"saving the local AWS state failed: {error!r}")

    def stop(self) -> None:
        """Stop the interval snapshots and write the last one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.snapshot("shutdown")

    # ---------------------------------------------------------------- restoring
    def restore(self) -> int:
        """Load the snapshot into moto's backends, if there is one; returns how many services it held."""
        remove_leftovers(self.path)
        if not self.path.exists():
            return 0
        started = time.perf_counter()
        state = load(self.path)
        restore(state)
        self.log(
            f"local AWS state restored from {self.path} (saved {time.ctime(state['saved_at'])}): "
            f"{', '.join(sorted(state['services']))} in {time.perf_counter() - started:.2f} s"
        )
        return len(state["services"])


# ---------------------------------------------------------------- moto's backends <-> bytes
def _new_lock_like(lock: Any) -> tuple:
    return (type(lock), ())


def _new_condition(condition: threading.Condition) -> tuple:
    return (threading.Condition, ())


# Locks guard in-memory structures (an SQS queue's messages, an S3 key's buffer); a restored one starts unlocked.
_LOCK_REDUCERS = {
    type(threading.Lock()): lambda lock: (threading.Lock, ()),
    type(threading.RLock()): lambda lock: (threading.RLock, ()),
    threading.Condition: _new_condition,
}


def limited_size_dict(attributes: dict) -> Any:
    """A DynamoDB item's attributes, restored without moto's per-attribute size check: unpickling a dict
    subclass sets each key through __setitem__, which re-measures the whole item every time (quadratic; 23 s of
    a 26 MB restore). The items were checked when they were written."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    restored = LimitedSizeDict()
    dict.update(restored, attributes)
    return restored


def _state_reducers() -> dict:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    return {**_LOCK_REDUCERS, LimitedSizeDict: lambda attributes: (limited_size_dict, (dict(attributes),))}


def dumps(state: dict) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, **_state_reducers()}
    pickler.dump(state)
    return buffer.getvalue()


def capture() -> dict:
    """Every moto backend in use: {service: {account: {region: backend}}}."""
    import moto
    from moto.core.base_backend import BackendDict

    services = {
        backends.service_name: {account: dict(regions) for account, regions in backends.items()}
        for backends in list(BackendDict._instances)
    }
    return {"format": SNAPSHOT_FORMAT, "moto": moto.__version__, "saved_at": time.time(), "services": services}


def load(path: Path) -> dict:
    import gc

    import moto

    gc.disable()  # a million small objects: the cyclic collector would run thousands of times (4x slower)
    try:
        with open(path, "rb") as file:
            state = pickle.load(file)
    except Exception as error:
        raise SnapshotUnreadable(f"{path} cannot be read ({type(error).__name__}: {error})") from None
    finally:
        gc.enable()
    if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotUnreadable(f"{path} is not a snapshot of format {SNAPSHOT_FORMAT}")
    if state["moto"] != moto.__version__:
        raise SnapshotUnreadable(f"{path} was saved by moto {state['moto']}; this is moto {moto.__version__}")
    return state


def restore(state: dict) -> None:
    from moto.backends import get_backend

    for service, accounts in state["services"].items():
        backends = get_backend(service)
        for account, regions in accounts.items():
            account_backends = backends[account]  # created and registered as in use
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)


# ---------------------------------------------------------------- files
def write_atomically(path: Path, data: bytes) -> None:
    """The file holds the old bytes or the new ones, never a mix, whatever happens during the write."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself reaches the disk
    finally:
        os.close(directory)


def remove_leftovers(path: Path) -> None:
    """Temporary files of writes a crash interrupted: never a snapshot, always safe to drop."""
    for leftover in path.parent.glob(f"{path.name}.*.tmp"):
        leftover.unlink(missing_ok=True)
