"""Authentication cost: login latency (dominated by argon2id) and the per-request cost of the authorizer
(JWT and API key), beside a no-auth request to the same API handler, all in one run on a moto server.

    .venv/bin/python benchmarks/auth.py [--requests 300] [--logins 20]
"""

from __future__ import annotations

import json
import uuid

from _local_stack import local_stack, sizes, timed


class Context:
    aws_request_id = "bench"
    function_name = "maestro-ml-bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"

    @staticmethod
    def get_remaining_time_in_millis():
        return 30_000


def api_event(method: str, path: str, headers: dict | None = None) -> dict:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
            "path": path,
            "stage": "api",
        },
    }


def authorizer_event(headers: dict) -> dict:
    event = api_event("GET", "/v1/auth/me", headers)
    event.update({"type": "REQUEST", "methodArn": "arn:aws:execute-api:us-east-1:000000000000:api/api/GET/v1/auth/me"})
    return event


def main() -> int:
    args = sizes(__doc__, requests=300, logins=20)
    with local_stack() as app:
        from functions.authorizer import maestro_authorizer
        from maestro.domain.identity import passwords
        from maestro.services import identity
        from maestro.services.context import RequestMeta

        password, email = "bench-password-for-argon2", f"bench-{uuid.uuid4().hex[:6]}@bench.example"
        signed_up = identity.signup("Bench", email, password, "Bench", RequestMeta(source_ip="127.0.0.1"))
        admin = identity.authenticate(f"Bearer {signed_up.access_token}", None, RequestMeta())
        key = identity.create_api_key(admin, "bench", "developer", None, RequestMeta())["key"]
        ctx = Context()
        health = api_event("GET", "/v1/health")
        assert json.loads(app.app(health, ctx)["body"])["status"] == "ok"

        rows = [
            ("argon2id hash alone (m=19 MiB, t=2)", timed(lambda: passwords.hash_password(password), args.logins)),
            (
                "login (POST /v1/auth/login use case)",
                timed(lambda: identity.login(email, password, RequestMeta()), args.logins),
            ),
            ("baseline: no-auth request (GET /v1/health)", timed(lambda: app.app(health, ctx), args.requests)),
            (
                "JWT signature + claims check only",
                timed(lambda: identity.token_service().verify_access(signed_up.access_token), args.requests),
            ),
            (
                "authorizer: Bearer JWT (+ session read)",
                timed(
                    lambda: maestro_authorizer(
                        authorizer_event({"Authorization": f"Bearer {signed_up.access_token}"}), ctx
                    ),
                    args.requests,
                ),
            ),
            (
                "authorizer: X-Api-Key (+ key lookup)",
                timed(lambda: maestro_authorizer(authorizer_event({"X-Api-Key": key}), ctx), args.requests),
            ),
        ]
        baseline = rows[2][1][0]
        print(f"{'operation':46} {'p50 ms':>8} {'p95 ms':>8} {'p50 / no-auth':>14}")
        for name, (p50, p95) in rows:
            print(f"{name:46} {p50:8.2f} {p95:8.2f} {p50 / baseline:14.2f}")
        print("\nlocal endpoint: moto server over HTTP on 127.0.0.1 (each DynamoDB call ~ms; AWS is similar in-region)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
