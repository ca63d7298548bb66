"""moto in server mode, with DynamoDB requests serialised.

DynamoDB makes each item write atomic and runs transactions serializably; moto's in-memory backend does
neither under a threaded server (two concurrent conditional puts of the same key can both succeed). This runs
the same moto server app (`moto_server` does exactly this, minus the lock) and takes one lock around each
DynamoDB request, so the local endpoint keeps DynamoDB's guarantees while S3, SQS long polls and the rest stay
concurrent.

    python -m infra.local.moto_app -H 127.0.0.1 -p 4566 [--state-file .local-stack/aws-state.pickle]

With --state-file it restores that snapshot at start and keeps it up to date (infra/local/aws_state.py).
"""

from __future__ import annotations

import argparse
import bisect
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_dynamodb_lock = threading.Lock()


class SerialiseDynamoDB:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _dynamodb_lock:
            # Consume the response inside the lock: the backend does its work while the body is produced.
            return list(self.app(environ, start_response))


def item_level_transaction_backups() -> None:
    """moto backs up every table a transaction touches with a deep copy (once per item of the transaction), so
    a transaction's cost grows with the tables' size: writing 100k metric events slowed to tens per second.
    Back up only the items the transaction touches instead, and restore those if it is cancelled. Safe because
    DynamoDB requests are serialised (SerialiseDynamoDB)."""
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    class TablesByReference:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def backup(backend: Any, transact_items: list[dict]) -> list[tuple]:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        return saved

    def restore(saved: list[tuple]) -> None:
        for table, hash_value, range_value, item in reversed(saved):
            if item is None:
                try:
                    table.delete_item(hash_value, range_value)
                except Exception:  # nothing was written under that key
                    pass
            elif range_value is not None:
                table.items[hash_value][range_value] = item
            else:
                table.items[hash_value] = item

    def transact_write_items(self: Any, transact_items: list[dict]) -> None:
        saved = backup(self, transact_items)
        models.copy = TablesByReference
        try:
            return original(self, transact_items)
        except Exception:
            restore(saved)
            raise
        finally:
            models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items


def exponent_number_arithmetic() -> None:
    """DynamoDB numbers may be written with an exponent ("1e+16", as json.dumps and pynamodb write large
    floats); moto's ADD/SET arithmetic reads any number without a "." as int() and fails the request with a
    ValueError (a 500 locally that real DynamoDB never gives). Do the arithmetic in Decimal, as DynamoDB does."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType

    original_add, original_sub = DynamoType.__add__, DynamoType.__sub__

    def _number(text: str) -> Decimal | int:
        return int(text) if text.lstrip("-").isdigit() else Decimal(text)

    def _format(value: Decimal | int) -> str:
        if isinstance(value, Decimal):
            value = value.normalize() if value != value.to_integral_value() else value.quantize(Decimal(1))
        return f"{value}"

    def add(self: Any, other: Any) -> Any:
        if self.type == other.type == DDBType.NUMBER:
            return DynamoType({DDBType.NUMBER: _format(_number(self.value) + _number(other.value))})
        return original_add(self, other)

    def sub(self: Any, other: Any) -> Any:
        if self.type == other.type == DDBType.NUMBER:
            return DynamoType({DDBType.NUMBER: _format(_number(self.value) - _number(other.value))})
        return original_sub(self, other)

    DynamoType.__add__, DynamoType.__sub__ = add, sub


def partition_scoped_queries() -> None:
    """A table query (no index) reads only the items its key condition selects, as DynamoDB does. moto compares
    the hash key of every item in the table, then the range condition (and each item's size) across the whole
    partition: one query cost 170 ms against a 13k-item metrics table, and 28 ms for one event type of a
    300-event project. The partition comes from moto's own item map (keyed by hash key), sorted by range key and
    cut to the slice a BETWEEN or begins_with condition can match; the rest of moto's query (the condition
    itself, filters, order, paging) runs unchanged on it."""
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)
        if partition is None:
            items = []
        elif self.range_key_attr:
            comparison = args[0] if args else kwargs.get("range_comparison")
            values = args[1] if len(args) > 1 else kwargs.get("range_objs")
            items = _range_slice(
                sorted(partition.values(), key=lambda item: item.range_key.cast_value), comparison, values
            )
        else:
            items = [partition]
        self.all_items = lambda: items  # shadows the method for this call only (requests are serialised)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def _range_slice(items: list, comparison: str | None, values: list | None) -> list:
    """The run of range-key-sorted items that BETWEEN or begins_with can match: a superset of the matches (moto
    still applies the condition), everything for any other condition."""
    if not items or not comparison or not values:
        return items
    keys = [item.range_key.cast_value for item in items]
    operator = comparison.upper()
    try:
        if operator == "BETWEEN" and len(values) == 2:
            return items[
                bisect.bisect_left(keys, values[0].cast_value) : bisect.bisect_right(keys, values[1].cast_value)
            ]
        prefix = values[0].cast_value
        if operator == "BEGINS_WITH" and isinstance(prefix, str) and isinstance(keys[0], str):
            start = end = bisect.bisect_left(keys, prefix)
            while end < len(keys) and keys[end].startswith(prefix):
                end += 1
            return items[start:end]
    except TypeError:  # keys of mixed types: leave the condition to moto
        pass
    return items


def raw_put_bodies() -> None:
    """A PUT's body is the object, whatever its Content-Type. The server's web framework parses a body sent as
    `application/x-www-form-urlencoded` (urllib's default type) as a form, and moto then stores an empty object
    with a 200: a presigned upload from a plain urllib client was silently lost. AWS stores the bytes (or refuses
    a type the URL's signature does not cover). Form parsing stays on for every other method (presigned POST
    uploads are multipart forms)."""
    from moto.moto_server.werkzeug_app import BackendRequest

    BackendRequest.want_form_data_parsed = property(  # type: ignore[method-assign]
        lambda request: request.method != "PUT" and bool(request.environ.get("CONTENT_TYPE"))
    )


def main(argv: list[str] | None = None) -> int:
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from infra.local.aws_state import SnapshotUnreadable, StateKeeper

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--state-file", type=Path, help="restore the state from this snapshot and keep saving it")
    parser.add_argument("--snapshot-interval", type=float, default=10.0, help="seconds between snapshots")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    item_level_transaction_backups()
    exponent_number_arithmetic()
    partition_scoped_queries()
    raw_put_bodies()
    app: Any = SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
    keeper = None
    if args.state_file:
        keeper = app = StateKeeper(
            app, args.state_file, args.snapshot_interval, log=lambda line: print(line, flush=True)
        )
        keeper.release_long_polls()
        try:
            keeper.restore()
        except SnapshotUnreadable as unreadable:
            print(f"the local AWS state cannot be restored: {unreadable}. `make reset` starts empty.", flush=True)
            return 3
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    _stop_on_signal_or_orphaned(server)
    if keeper:
        keeper.start()
    print(f"moto server on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if keeper:
            keeper.stop()  # the last snapshot: signals are ignored until it is on disk
    return 0


def _stop_on_signal_or_orphaned(server: Any) -> None:
    """SIGTERM or SIGINT (once; later ones are ignored so the last snapshot completes), or the death of the
    process that started this one (a SIGKILLed `make run`), stop serving."""
    import signal

    def stop(*_: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        print(f"the process that started this server ({parent}) is gone: stopping", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
