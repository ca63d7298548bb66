"""Registry latency: create, get, search and usage through the API handler (validation, tenancy, audit
included) beside the raw DynamoDB calls each one makes, in the same run on a moto server; then keyword search
time over a 10k-artifact library.

    .venv/bin/python benchmarks/registry.py [--requests 100] [--library 10000]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from _local_stack import local_stack, timed
from auth import Context, api_event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--library", type=int, default=10_000)
    args = parser.parse_args()
    with local_stack() as app:
        from maestro.aws_clients import client
        from maestro.services import identity
        from maestro.services.context import RequestMeta
        from maestro.settings import get_settings

        settings = get_settings()
        dynamodb = client("dynamodb")
        pair = identity.signup(
            "Registry",
            f"r-{uuid.uuid4().hex[:6]}@bench.example",
            "registry-benchmark-pw",
            "R",
            RequestMeta(source_ip="127.0.0.1"),
        )
        caller = identity.authenticate(f"Bearer {pair.access_token}", None, RequestMeta())
        context_vars = caller.to_context() | {"principalId": caller.actor}
        ctx = Context()

        def call(method, path, body=None):
            event = api_event(method, path, {"Content-Type": "application/json"})
            event["requestContext"]["authorizer"] = context_vars
            event["requestContext"]["resourcePath"] = event["resource"] = _resource(path)
            event["pathParameters"] = _params(path)
            event["body"] = json.dumps(body) if body is not None else None
            response = app.app(event, ctx)
            assert response["statusCode"] < 300, response
            return json.loads(response["body"])

        counter = iter(range(10**9))
        created = call("POST", "/v1/artifacts", {"name": "seed", "type": "dataset"})
        table = settings.table_name

        def raw_create():
            n = next(counter)
            item_id = f"art_raw{n}"
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table("name-claims"),
                            "Item": {
                                "tenant_id": {"S": caller.tenant_id},
                                "claim": {"S": f"raw#{n}"},
                                "owner_id": {"S": item_id},
                            },
                            "ConditionExpression": "attribute_not_exists(claim)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": table("artifacts"),
                            "Item": {
                                "tenant_id": {"S": caller.tenant_id},
                                "artifact_id": {"S": item_id},
                                "name": {"S": f"raw {n}"},
                                "type": {"S": "dataset"},
                                "type_name": {"S": f"dataset#raw {n}"},
                                "impact_score": {"N": "50"},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": table("tenants"),
                            "Key": {"tenant_id": {"S": caller.tenant_id}},
                            "UpdateExpression": "ADD artifacts_count :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )

        rows = [
            (
                "create  POST /v1/artifacts (+ audit append)",
                timed(
                    lambda: call(
                        "POST", "/v1/artifacts", {"name": f"a{next(counter)}", "type": "dataset", "tags": ["bench"]}
                    ),
                    args.requests,
                ),
            ),
            ("  raw: TransactWriteItems (claim, item, counter)", timed(raw_create, args.requests)),
            (
                "get     GET /v1/artifacts/{id}",
                timed(lambda: call("GET", f"/v1/artifacts/{created['id']}"), args.requests),
            ),
            (
                "  raw: GetItem (consistent)",
                timed(
                    lambda: dynamodb.get_item(
                        TableName=table("artifacts"),
                        ConsistentRead=True,
                        Key={"tenant_id": {"S": caller.tenant_id}, "artifact_id": {"S": created["id"]}},
                    ),
                    args.requests,
                ),
            ),
        ]
        # usage: one ready version, then each call records a new (project, artifact, version)
        import hashlib
        import urllib.request

        content = b"benchmark artifact"
        declared = call(
            "POST",
            f"/v1/artifacts/{created['id']}/versions",
            {
                "version": "1.0.0",
                "size_bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content_type": "application/octet-stream",
            },
        )
        upload = urllib.request.Request(
            declared["upload"]["url"], data=content, method="PUT", headers=declared["upload"]["headers"]
        )
        urllib.request.urlopen(upload).read()
        call("POST", f"/v1/artifacts/{created['id']}/versions/1.0.0/complete")
        from maestro.services.projects import create_project

        projects = iter(
            [
                create_project(
                    caller,
                    {"name": f"p{n}", "problem_class": "other", "complexity_score": 1, "team_size": 1},
                    RequestMeta(),
                )["id"]
                for n in range(args.requests)
            ]
        )

        def raw_usage():
            n = next(counter)
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table("artifact-usages"),
                            "Item": {
                                "tenant_artifact": {"S": f"{caller.tenant_id}#{created['id']}"},
                                "project_version": {"S": f"raw{n}#1.0.0"},
                                "tenant_project": {"S": f"{caller.tenant_id}#raw{n}"},
                                "artifact_version": {"S": f"{created['id']}#1.0.0"},
                            },
                            "ConditionExpression": "attribute_not_exists(project_version)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": table("artifacts"),
                            "Key": {"tenant_id": {"S": caller.tenant_id}, "artifact_id": {"S": created["id"]}},
                            "UpdateExpression": "ADD usage_count :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )

        rows += [
            (
                "usage   POST /v1/artifacts/{id}/usages (+ audit)",
                timed(
                    lambda: call(
                        "POST",
                        f"/v1/artifacts/{created['id']}/usages",
                        {"project_id": next(projects), "version": "1.0.0"},
                    ),
                    args.requests,
                ),
            ),
            ("  raw: TransactWriteItems (usage row, counter)", timed(raw_usage, args.requests)),
        ]
        small = len(list(_query_all(dynamodb, table("artifacts"), caller.tenant_id)))
        rows += [
            (
                f"search  POST /v1/artifacts/search ({small} artifacts)",
                timed(lambda: call("POST", "/v1/artifacts/search", {"query": "a1", "limit": 20}), 20),
            ),
            (
                f"  raw: Query of the tenant partition ({small} items)",
                timed(lambda: list(_query_all(dynamodb, table("artifacts"), caller.tenant_id)), 20),
            ),
        ]
        print(f"{'operation':56} {'p50 ms':>8} {'p95 ms':>8}")
        for name, (p50, p95) in rows:
            print(f"{name:56} {p50:8.2f} {p95:8.2f}")

        started = time.perf_counter()
        writes = []
        for n in range(args.library - small):
            writes.append(
                {
                    "PutRequest": {
                        "Item": {
                            "tenant_id": {"S": caller.tenant_id},
                            "artifact_id": {"S": f"art_lib{n:06d}"},
                            "name": {"S": f"library item {n}"},
                            "type": {"S": "feature_pipeline"},
                            "type_name": {"S": f"feature_pipeline#library item {n}"},
                            "impact_score": {"N": str(n % 100)},
                            "description": {"S": f"feature pipeline number {n} for churn and fraud"},
                            "tags": {"L": [{"S": "churn" if n % 2 else "fraud"}]},
                            "usage_count": {"N": str(n % 7)},
                            "revision": {"N": "1"},
                            "deleted": {"BOOL": False},
                            "created_at": {"S": "2026-01-01T00:00:00.000000+0000"},
                            "updated_at": {"S": "2026-01-01T00:00:00.000000+0000"},
                        }
                    }
                }
            )
            if len(writes) == 25:
                dynamodb.batch_write_item(RequestItems={table("artifacts"): writes})
                writes = []
        if writes:
            dynamodb.batch_write_item(RequestItems={table("artifacts"): writes})
        print(f"\nloaded a {args.library}-artifact library in {time.perf_counter() - started:.1f} s")
        rows = [
            (
                f"search, {args.library} artifacts, query 'churn', sort relevance",
                timed(lambda: call("POST", "/v1/artifacts/search", {"query": "churn", "limit": 20}), 5),
            ),
            (
                f"search, {args.library} artifacts, tag filter, sort impact",
                timed(lambda: call("POST", "/v1/artifacts/search", {"tags": ["fraud"], "sort": "impact"}), 5),
            ),
            (
                f"  raw: Query of the tenant partition ({args.library} items)",
                timed(lambda: list(_query_all(dynamodb, table("artifacts"), caller.tenant_id)), 5),
            ),
        ]
        for name, (p50, p95) in rows:
            print(f"{name:56} {p50:8.2f} {p95:8.2f}")
    return 0


def _resource(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[1] == "artifacts" and parts[2] not in ("search", "top"):
        parts[2] = "{artifact_id}"
    if len(parts) >= 5 and parts[3] == "versions":
        parts[4] = "{version}"
    return "/" + "/".join(parts)


def _params(path: str) -> dict | None:
    parts = path.strip("/").split("/")
    params = {}
    if len(parts) >= 3 and parts[1] == "artifacts" and parts[2] not in ("search", "top"):
        params["artifact_id"] = parts[2]
    if len(parts) >= 5 and parts[3] == "versions":
        params["version"] = parts[4]
    return params or None


def _query_all(dynamodb, table_name, tenant_id):
    kwargs = {
        "TableName": table_name,
        "KeyConditionExpression": "tenant_id = :t",
        "ExpressionAttributeValues": {":t": {"S": tenant_id}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


if __name__ == "__main__":
    raise SystemExit(main())
