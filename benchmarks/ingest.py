"""Ingestion throughput and memory, on a moto server, in one run:
1. a 100k-event JSONL drop through the real pipeline (stream, parse, validate, exactly-once transactions with
   day aggregates): events per second and DynamoDB write requests (and write units) per event;
2. baseline: raw boto3 batch_write_item of the same 100k items to the same table;
3. peak memory (max RSS of a fresh process) while a 1 GB JSONL drop streams through parse and validation.
   Storage is replaced by a counter in step 3 so that the figure measures the streaming path's memory, not
   moto's write speed (6.5 M events would take most of an hour on moto).

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--big-mb 1024]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter

from _local_stack import PROJECT_DIR, local_stack, sizes

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def jsonl(count: int, offset: int = 0) -> bytes:
    lines = (
        json.dumps(
            {
                "metric_type": "lines_added",
                "value": n % 97,
                "timestamp": f"2026-0{1 + n % 9}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
                "metadata": {"n": n + offset},
            }
        )
        for n in range(count)
    )
    return ("\n".join(lines) + "\n").encode()


def count_writes():
    from pynamodb.connection.base import Connection

    counts: Counter = Counter()
    original = Connection.dispatch

    def counting(connection, operation_name, operation_kwargs):
        if operation_name in WRITES:
            counts["requests"] += 1
            items = len(operation_kwargs.get("TransactItems", [])) or 1
            counts["units"] += items * (2 if operation_name == "TransactWriteItems" else 1)
        return original(connection, operation_name, operation_kwargs)

    Connection.dispatch = counting
    return counts


PEAK_PROBE = r"""
import resource, sys, time
sys.path.insert(0, {root!r})
from maestro.ingestion.formats import parse
from maestro.services import metrics_ingestion
from maestro.repositories import metrics as store
from datetime import datetime, timezone

stored = [0]
store.store_events = lambda tenant_id, events, now: (stored.__setitem__(0, stored[0] + len(events)) or (len(events), 0))
store.custom_types = lambda tenant_id: {{}}
metrics_ingestion.project_store.get_project = lambda tenant_id, project_id: object()

class Lines:
    def __init__(self, total_bytes):
        self.left = total_bytes
        self.n = 0
    def read(self, size=-1):
        if self.left <= 0:
            return b""
        chunk = []
        size = 262144 if size is None or size < 0 else size
        made = 0
        while made < size and self.left > 0:
            line = ('{{"metric_type": "lines_added", "value": %d, "timestamp": "2026-03-%02dT10:00:00Z", '
                    '"metadata": {{"n": %d}}}}\n' % (self.n % 97, 1 + self.n % 28, self.n)).encode()
            chunk.append(line); made += len(line); self.left -= len(line); self.n += 1
        return b"".join(chunk)

started = time.perf_counter()
pipeline = metrics_ingestion.Pipeline("t", source="bench", project_id="p", keep_rejections=20)
for line, item in parse("jsonl", Lines({big_bytes})):
    pipeline.add(line, item)
result = pipeline.finish()
print(stored[0], time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> int:
    args = sizes(__doc__, events=100_000, big_mb=1024)
    with local_stack():
        from maestro.aws_clients import client
        from maestro.services import identity
        from maestro.services.context import RequestMeta
        from maestro.services.drop_ingestion import ingest_drop
        from maestro.services.projects import create_project
        from maestro.settings import get_settings

        settings = get_settings()
        pair = identity.signup(
            "Ingest",
            f"i-{uuid.uuid4().hex[:6]}@bench.example",
            "ingest-benchmark-password",
            "I",
            RequestMeta(source_ip="127.0.0.1"),
        )
        caller = identity.authenticate(f"Bearer {pair.access_token}", None, RequestMeta())
        project_id = create_project(
            caller, {"name": "bench", "problem_class": "other", "complexity_score": 1, "team_size": 1}, RequestMeta()
        )["id"]
        s3 = client("s3")
        key = f"ingest/{caller.tenant_id}/{project_id}/bench.jsonl"
        body = jsonl(args.events)
        s3.put_object(Bucket=settings.artifact_bucket, Key=key, Body=body)
        writes = count_writes()
        started = time.perf_counter()
        manifest = ingest_drop(key)
        pipeline_seconds = time.perf_counter() - started
        assert manifest["accepted"] == args.events, manifest

        dynamodb = client("dynamodb")
        table = settings.table_name("process-metrics")
        raw_calls = 0
        started = time.perf_counter()
        batch = []
        for n in range(args.events):
            batch.append(
                {
                    "PutRequest": {
                        "Item": {
                            "tenant_project": {"S": f"{caller.tenant_id}#raw"},
                            "metric_key": {"S": f"lines_added#{n:08d}"},
                            "event_id": {"S": f"raw{n}"},
                            "metric_type": {"S": "lines_added"},
                            "value": {"N": str(n % 97)},
                            "timestamp": {"S": "2026-03-01T10:00:00.000000+0000"},
                            "ingested_at": {"S": "2026-03-01T10:00:00.000000+0000"},
                        }
                    }
                }
            )
            if len(batch) == 25:
                dynamodb.batch_write_item(RequestItems={table: batch})
                raw_calls += 1
                batch = []
        if batch:
            dynamodb.batch_write_item(RequestItems={table: batch})
            raw_calls += 1
        raw_seconds = time.perf_counter() - started

    print(f"{args.events} events, {len(body) / 1e6:.1f} MB JSONL\n")
    print(f"{'path':52} {'events/s':>10} {'write calls/event':>18} {'write units/event':>18}")
    print(
        f"{'pipeline: S3 drop, exactly once + day aggregates':52} {args.events / pipeline_seconds:10.0f} "
        f"{writes['requests'] / args.events:18.3f} {writes['units'] / args.events:18.3f}"
    )
    print(
        f"{'baseline: raw boto3 batch_write_item, same items':52} {args.events / raw_seconds:10.0f} "
        f"{raw_calls / args.events:18.3f} {1.0:18.3f}"
    )
    print("(a transaction item costs 2 write units; batch writes 1 — the price of conditional, exact writes)\n")
    probe = PEAK_PROBE.format(root=str(PROJECT_DIR / "layers" / "core" / "python"), big_bytes=args.big_mb * 1024**2)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    events, seconds, peak_mb = result.stdout.split()
    print(
        f"{args.big_mb} MB JSONL streamed through parse + validation ({int(events):,} events, {float(seconds):.0f} s):"
        f" peak RSS {float(peak_mb):.0f} MB"
    )
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import resource, sys; sys.path.insert(0, {str(PROJECT_DIR / 'layers' / 'core' / 'python')!r}); "
            "import maestro.services.metrics_ingestion, maestro.ingestion.formats; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"baseline: the same modules imported, nothing streamed: peak RSS {float(baseline.stdout):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
