"""Counts the AWS requests this process sends (every botocore client, pynamodb's included), for tests and
benchmarks that check how many requests a code path makes: `with aws_requests() as calls: ...`, then
`calls.count("dynamodb", "Query", table="artifacts")`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from botocore.endpoint import Endpoint


@dataclass(frozen=True)
class AwsRequest:
    service: str
    operation: str
    table: str | None  # DynamoDB: the table (BatchGetItem: every table it reads, comma-joined)
    index: str | None


@dataclass
class AwsRequests:
    requests: list[AwsRequest] = field(default_factory=list)

    def count(self, service: str, operation: str | None = None, table: str | None = None) -> int:
        """Requests to `service` (and `operation`), optionally to a table whose name ends with `table`."""
        return sum(
            1
            for r in self.requests
            if r.service == service
            and (operation is None or r.operation == operation)
            and (table is None or any(t.endswith(table) for t in (r.table or "").split(",")))
        )

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.requests:
            key = f"{r.service}:{r.operation}" + (f":{r.table}" if r.table else "") + (f":{r.index}" if r.index else "")
            counts[key] = counts.get(key, 0) + 1
        return counts


_lock = threading.Lock()
_active: list[AwsRequests] = []
_original = Endpoint.make_request


def _describe(operation_model, request_dict) -> AwsRequest:
    service = operation_model.service_model.service_name
    table = index = None
    if service == "dynamodb":
        try:
            body = json.loads(request_dict.get("body") or b"{}")
        except ValueError:
            body = {}
        table = body.get("TableName") or ",".join(sorted(body.get("RequestItems") or {})) or None
        index = body.get("IndexName")
    return AwsRequest(service, operation_model.name, table, index)


# The local event dispatcher's threads (infra.local.dispatcher names them so) deliver events in the background,
# as other Lambda functions would: their requests are not the request path being counted.
_BACKGROUND_THREAD_PREFIX = "dispatch-"


def _counting(self, operation_model, request_dict):
    with _lock:
        recorders = list(_active)
    if recorders and not threading.current_thread().name.startswith(_BACKGROUND_THREAD_PREFIX):
        request = _describe(operation_model, request_dict)
        for recorder in recorders:
            recorder.requests.append(request)
    return _original(self, operation_model, request_dict)


@contextmanager
def aws_requests() -> Iterator[AwsRequests]:
    recorder = AwsRequests()
    with _lock:
        _active.append(recorder)
        Endpoint.make_request = _counting
    try:
        yield recorder
    finally:
        with _lock:
            _active.remove(recorder)
            if not _active:
                Endpoint.make_request = _original
