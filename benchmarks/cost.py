"""What the platform costs: idle per month, and per million API requests, from durations and DynamoDB calls
measured here (in-process handlers on a moto server) and AWS list prices (us-east-1, on demand).

    .venv/bin/python benchmarks/cost.py [--requests 200]

Baseline in the same run: API Gateway alone (the floor any request pays), beside the full per-request cost.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

from _local_stack import PROJECT_DIR, local_stack, percentiles, sizes
from auth import Context, api_event, authorizer_event

# List prices, us-east-1, USD (checked 2026-11): change here if AWS does.
PRICE = {
    "apigw_rest_per_million": 3.50,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_unit_per_million": 0.625,
    "dynamodb_read_unit_per_million": 0.125,
    "logs_ingest_per_gb": 0.50,
    "kms_key_month": 1.00,
    "secret_month": 0.40,
    "alarm_month": 0.10,
}
LOG_BYTES_PER_INVOCATION = 600  # START/END/REPORT lines plus one JSON log line, measured from chalice local output
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


class DynamoCalls:
    """Counts pynamodb's DynamoDB operations (transactions count one unit per item, as AWS bills them)."""

    def __init__(self) -> None:
        from pynamodb.connection.base import Connection

        self.counts: Counter = Counter()
        original = Connection.dispatch

        def counting(connection, operation_name, operation_kwargs):
            items = len(operation_kwargs.get("TransactItems", [])) or 1
            self.counts["write" if operation_name in WRITES else "read"] += items * (
                2 if operation_name == "TransactWriteItems" else 1
            )
            return original(connection, operation_name, operation_kwargs)

        Connection.dispatch = counting

    def measure(self, call, runs):
        self.counts.clear()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        return percentiles(samples), {k: v / runs for k, v in self.counts.items()}


def per_million(lambda_ms: list[tuple[float, int]], units: dict[str, float]) -> dict[str, float]:
    """Cost of a million requests: API Gateway, each Lambda invocation (duration rounded up to 1 ms), DynamoDB."""
    lambda_requests = len(lambda_ms) * PRICE["lambda_request_per_million"]
    gb_seconds = sum(round(ms + 0.5) / 1000 * memory_mb / 1024 for ms, memory_mb in lambda_ms) * 1_000_000
    return {
        "api_gateway": PRICE["apigw_rest_per_million"],
        "lambda_requests": lambda_requests,
        "lambda_compute": gb_seconds * PRICE["lambda_gb_second"],
        "dynamodb": units.get("read", 0) * PRICE["dynamodb_read_unit_per_million"]
        + units.get("write", 0) * PRICE["dynamodb_write_unit_per_million"],
        "logs": len(lambda_ms) * LOG_BYTES_PER_INVOCATION * 1_000_000 / 1024**3 * PRICE["logs_ingest_per_gb"],
    }


def idle_month() -> dict[str, float]:
    template_path = PROJECT_DIR / "build" / "package" / "dev" / "sam.json"
    if not template_path.exists():
        from infra.package import build_package

        build_package("dev")
    resources = json.loads(template_path.read_text())["Resources"].values()
    kinds = Counter(r["Type"] for r in resources)
    return {
        "kms_key": kinds["AWS::KMS::Key"] * PRICE["kms_key_month"],
        "secrets": kinds["AWS::SecretsManager::Secret"] * PRICE["secret_month"],
        "alarms": kinds["AWS::CloudWatch::Alarm"] * PRICE["alarm_month"],
        "dashboard (first 3 per account free)": 0.0,
        "tables, bucket, queues, functions at rest": 0.0,
    }


def main() -> int:
    args = sizes(__doc__, requests=200)
    with local_stack() as app:
        from functions.authorizer import maestro_authorizer
        from maestro.services import identity
        from maestro.services.context import RequestMeta

        calls = DynamoCalls()
        pair = identity.signup(
            "Cost",
            f"cost-{uuid.uuid4().hex[:6]}@cost.example",
            "cost-benchmark-password",
            "Cost",
            RequestMeta(source_ip="127.0.0.1"),
        )
        admin = identity.authenticate(f"Bearer {pair.access_token}", None, RequestMeta())
        context_vars = admin.to_context() | {"principalId": admin.actor}
        ctx = Context()

        def routed(method, path, body=None):
            event = api_event(method, path, {"Content-Type": "application/json"})
            event["requestContext"]["authorizer"] = context_vars
            event["body"] = json.dumps(body) if body is not None else None
            return lambda: app.app(event, ctx)

        auth_event = authorizer_event({"Authorization": f"Bearer {pair.access_token}"})
        (auth_ms, _), auth_units = calls.measure(lambda: maestro_authorizer(auth_event, ctx), args.requests)
        (read_ms, _), read_units = calls.measure(routed("GET", "/v1/auth/me"), args.requests)
        (write_ms, _), write_units = calls.measure(
            routed("POST", "/v1/api-keys", {"name": "k", "role": "viewer"}), max(20, args.requests // 5)
        )
        memory = 512
        rows = {
            "API Gateway alone (baseline)": {"api_gateway": PRICE["apigw_rest_per_million"]},
            f"read  (authorizer {auth_ms:.1f} ms + GET /v1/auth/me {read_ms:.1f} ms)": per_million(
                [(auth_ms, memory), (read_ms, memory)],
                auth_units | {k: auth_units.get(k, 0) + read_units.get(k, 0) for k in ("read", "write")},
            ),
            f"write (authorizer {auth_ms:.1f} ms + POST /v1/api-keys {write_ms:.1f} ms, audited)": per_million(
                [(auth_ms, memory), (write_ms, memory)],
                {k: auth_units.get(k, 0) + write_units.get(k, 0) for k in ("read", "write")},
            ),
        }
        print(
            f"DynamoDB units per request: authorizer {dict(auth_units)}, read {dict(read_units)}, "
            f"write {dict(write_units)}\n"
        )
        print(f"{'per million requests (USD)':72} {'total':>8}  breakdown")
        for name, parts in rows.items():
            print(f"{name:72} {sum(parts.values()):8.2f}  " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
        idle = idle_month()
        print(
            f"\nidle month (USD): {sum(idle.values()):.2f}  ("
            + ", ".join(f"{k} {v:.2f}" for k, v in idle.items())
            + ")"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
