"""The API against its own OpenAPI document: schemathesis generates requests for every operation (from the
document the local gateway serves at /v1/openapi.json) as every role, and every answer must be no 5xx, a
documented status code, the documented content type and a body matching the documented schema.

Bounded: a few examples per operation and role, no shrinking, and a time budget for the whole walk."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tests.integration.conftest import STRONG_PASSWORD, ApiClient

pytestmark = pytest.mark.integration

ROLES = ("admin", "developer", "viewer")  # maestro.domain.identity.permissions.Role, checked below
# A deeper, random hunt: MAESTRO_FUZZ_EXAMPLES=50 MAESTRO_FUZZ_RANDOM=1 MAESTRO_FUZZ_BUDGET=900 (and
# MAESTRO_FUZZ_ONLY=<path fragment> to walk some routes only).
EXAMPLES_PER_OPERATION = int(os.environ.get("MAESTRO_FUZZ_EXAMPLES", 5))
BUDGET_SECONDS = int(os.environ.get("MAESTRO_FUZZ_BUDGET", 150))
# Operations that cannot be fuzzed, with why. Everything else in the document is walked.
NOT_FUZZED = {
    (
        "POST",
        "/v1/integrations/github/webhook",
    ): "authenticated by X-Hub-Signature-256, an HMAC of the exact body under a connected project's secret, "
    "which a generated body cannot carry; tests/integration/test_github_webhook_http.py covers it",
}


def _checks():
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def served_document(api_url):
    import requests

    response = requests.get(f"{api_url}/v1/openapi.json", timeout=30)  # public: no credentials
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture(scope="module")
def fuzz_tenant(api_url):
    """A tenant with one of each object, so generated requests reach real projects, artifacts and versions."""
    from tests.integration.conftest import TenantFixture

    tenant = TenantFixture(api_url, f"Fuzz{uuid.uuid4().hex[:6]}")
    admin = tenant.admin
    user = admin.post(
        "/v1/users",
        json={
            "email": f"fuzz-{uuid.uuid4().hex[:6]}@fuzz.example",
            "name": "F",
            "role": "developer",
            "password": STRONG_PASSWORD,
        },
    ).json()
    project = admin.post(
        "/v1/projects",
        json={
            "name": "fuzzed",
            "problem_class": "nlp",
            "complexity_score": 4,
            "team_size": 3,
            "description": "a project to fuzz",
        },
    ).json()
    member = admin.post(
        f"/v1/projects/{project['id']}/members",
        json={"display_name": "M", "role": "analyst", "experience_level": "mid"},
    ).json()
    artifact = admin.post("/v1/artifacts", json={"name": "fuzzed model", "type": "model", "tags": ["fuzz"]}).json()
    version = admin.post(
        f"/v1/artifacts/{artifact['id']}/versions",
        json={"version": "1.0.0", "size_bytes": 6, "content_type": "text/plain", "sha256": "a" * 64},
    ).json()
    tenant.ids = {
        "user_id": user["id"],
        "project_id": project["id"],
        "member_id": member["id"],
        "artifact_id": artifact["id"],
        "version": version["version"],
    }
    return tenant


def test_the_served_document_is_the_generated_one(served_document):
    import app
    from maestro.http.openapi import build_document
    from maestro.http.routes import ROUTE_REGISTRY

    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert served_document == build_document(
        [s for k, s in ROUTE_REGISTRY.items() if k in served], version=served_document["info"]["version"]
    )


def test_every_operation_as_every_role_answers_as_documented(served_document, fuzz_tenant, api_url):
    import traceback

    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.core.failures import FailureGroup

    from maestro.domain.identity.permissions import Role

    assert set(ROLES) == {role.value for role in Role}
    schema = schemathesis.openapi.from_dict(served_document)
    operations = [result.ok() for result in schema.get_all_operations()]
    # DELETEs last, and on generated ids (not the seeded objects, which the other operations reuse); logout
    # last of all, since it ends the admin's session.
    operations.sort(key=lambda op: (op.path == "/v1/auth/logout", op.method.upper() == "DELETE", op.path, op.method))
    credentials = {"admin": {"Authorization": f"Bearer {fuzz_tenant.tokens['access_token']}"}}
    for role in ROLES[1:]:
        credentials[role] = dict(fuzz_tenant.client_for(role).headers)  # X-Api-Key
    for role, headers in credentials.items():  # the walk means something only if each credential works
        me = ApiClient(api_url).get("/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.json()["role"] == role, me.text
    checks = _checks()
    failures: list[str] = []
    walked: set[tuple[str, str, str]] = set()
    started = time.monotonic()

    def walk(operation, role: str | None, headers: dict[str, str]) -> None:
        method = operation.method.upper()
        overrides = (
            {}
            if method == "DELETE"
            else {name: value for name, value in fuzz_tenant.ids.items() if "{" + name + "}" in operation.path}
        )
        strategy = operation.as_strategy(path_parameters=overrides or None)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=not os.environ.get("MAESTRO_FUZZ_RANDOM"),
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            if time.monotonic() - started > BUDGET_SECONDS:
                return
            # The role's own credential only (schemathesis would otherwise add generated ones for the schemes).
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")
            }
            response = case.call(base_url=api_url, headers=headers, timeout=30)
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as failure:  # collect every operation's first failure, then report them all
                failures.append(
                    f"{role or 'public'} {method} {operation.path}: {failure.exceptions[0]}\n"
                    f"  request: {case.path_parameters} {case.query} {case.body!r}\n"
                    f"  answer: {response.status_code} {response.text[:500]}"
                )
                raise

        try:
            run()
        except FailureGroup:
            pass  # recorded above
        except Exception:  # a generation error: recorded here
            failures.append(f"{role or 'public'} {method} {operation.path}: {traceback.format_exc()[-1500:]}")
        walked.add((role or "public", method, operation.path))

    for operation in operations:
        method = operation.method.upper()
        if (method, operation.path) in NOT_FUZZED:
            continue
        if os.environ.get("MAESTRO_FUZZ_ONLY", "") not in operation.path:
            continue
        if operation.definition.raw.get("security") == []:
            walk(operation, None, {})
        else:
            for role in ROLES:
                walk(operation, role, credentials[role])
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS + 30, f"the walk took {elapsed:.0f}s; lower EXAMPLES_PER_OPERATION"
    assert not failures, f"{len(failures)} operations answered against the contract:\n" + "\n\n".join(failures)
    documented = {(m.upper(), p) for p, item in served_document["paths"].items() for m in item}
    if not os.environ.get("MAESTRO_FUZZ_ONLY"):
        assert {(m, p) for _, m, p in walked} == documented - set(NOT_FUZZED)
