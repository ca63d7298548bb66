"""Roles, tenant isolation, users, API keys, quotas and the JWT attack list — over HTTP through the authorizer."""

import base64
import json
import re
import time
import uuid
from datetime import UTC

import jwt
import pytest

from tests.integration.conftest import STRONG_PASSWORD, ApiClient, problem

pytestmark = pytest.mark.integration
ROLES = ("admin", "developer", "viewer")


def _served():
    import app

    return {(method, path) for path, methods in app.app.routes.items() for method in methods}


def _registry():
    """The declared specs of the routes the app serves (other test apps register routes too)."""
    from maestro.http.routes import ROUTE_REGISTRY

    served = _served()
    return {key: spec for key, spec in ROUTE_REGISTRY.items() if key in served}


def test_every_route_is_declared_with_a_permission():
    assert set(_registry()) == _served()


def _fill(path, values):
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


# ---------------------------------------------------------------- the role x route matrix
def test_every_route_against_every_role(tenant):
    from maestro.domain.identity.permissions import PUBLIC, roles_allowed

    placeholders = {
        "user_id": "usr_missing",
        "key_id": "missingkey000000",
        "project_id": "prj_missing",
        "member_id": "mem_missing",
        "artifact_id": "art_missing",
        "version": "9.9.9",
        "alias": "champion",
        "job_id": "job_missing",
        "prediction_id": "prd_missing",
        "upload_id": "0123456789ab-missing.jsonl",
        "import_upload_id": "imp_missing",
    }
    checked = 0
    for (method, path), spec in sorted(_registry().items()):
        if spec.permission == PUBLIC:
            continue
        url = _fill(path, placeholders)
        for role in ROLES:
            response = tenant.client_for(role).request(
                method, url, json={} if method in ("POST", "PUT", "PATCH") else None
            )
            if role in roles_allowed(spec.permission):
                assert response.status_code not in (401, 403), f"{role} {method} {path}: {response.text}"
            else:
                body = problem(response, 403)
                assert body["permission"] == spec.permission
            checked += 1
    assert checked >= 30


def test_access_denied_is_audited(tenant):
    problem(tenant.client_for("viewer").post("/v1/api-keys", json={"name": "x", "role": "admin"}), 403)
    events = tenant.admin.get("/v1/audit", params={"action": "access.denied"}).json()["items"]
    assert events and events[0]["outcome"] == "denied" and events[0]["actor"].startswith("key:")


# ---------------------------------------------------------------- tenant isolation
def test_a_second_tenant_cannot_see_or_touch_the_first_tenants_objects(new_tenant):
    from maestro.domain.identity.permissions import PUBLIC

    victim, intruder = new_tenant("Victim"), new_tenant("Intruder")
    victim_user = victim.admin.post(
        "/v1/users",
        json={
            "email": f"v-{uuid.uuid4().hex[:6]}@v.example",
            "name": "V",
            "role": "developer",
            "password": STRONG_PASSWORD,
        },
    ).json()
    victim_key = victim.admin.post("/v1/api-keys", json={"name": "ci", "role": "developer"}).json()
    victim_project = victim.admin.post(
        "/v1/projects", json={"name": "secret", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
    ).json()
    victim_member = victim.admin.post(
        f"/v1/projects/{victim_project['id']}/members",
        json={"display_name": "M", "role": "analyst", "experience_level": "mid"},
    ).json()
    victim_artifact = victim.admin.post("/v1/artifacts", json={"name": "secret model", "type": "model"}).json()
    victim_version = victim.admin.post(
        f"/v1/artifacts/{victim_artifact['id']}/versions",
        json={
            "version": "4.2.0-victim.1",
            "size_bytes": 6,
            "content_type": "application/octet-stream",
            "sha256": "b" * 64,
        },
    ).json()
    victim_job = victim.admin.post("/v1/models/meta/retrain").json()
    victim_prediction = victim.admin.post("/v1/predictions", json={"project_id": victim_project["id"]}).json()
    victim_drop = victim.admin.post(
        f"/v1/projects/{victim_project['id']}/ingest-uploads", json={"file_name": "events.jsonl"}
    ).json()
    victim_import = victim.admin.post("/v1/projects/import-uploads", json={"file_name": "history.csv"}).json()
    # Every path parameter any route takes must be here: a new route with a new parameter fails this test
    # until its victim object is added.
    ids = {
        "user_id": victim_user["id"],
        "key_id": victim_key["id"],
        "project_id": victim_project["id"],
        "member_id": victim_member["id"],
        "artifact_id": victim_artifact["id"],
        "version": victim_version["version"],
        "alias": "champion",
        "job_id": victim_job["id"],
        "prediction_id": victim_prediction["id"],
        "upload_id": victim_drop["id"],
        "import_upload_id": victim_import["id"],
    }
    intruder_project = intruder.admin.post(
        "/v1/projects", json={"name": "mine", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
    ).json()
    # A valid body for every mutating route with path parameters, so each answers for the ids, not the body.
    # A new such route fails this test until its body is added here.
    bodies = {
        ("PATCH", "/v1/users/{user_id}"): {"role": "admin"},
        ("PATCH", "/v1/projects/{project_id}"): {"name": "pwned"},
        ("PUT", "/v1/projects/{project_id}/outcome"): {
            "model_performance": 0.5,
            "business_impact_usd": 1,
            "duration_days": 1,
            "compute_cost_usd": 1,
            "completed_at": "2026-01-01T00:00:00Z",
        },
        ("POST", "/v1/projects/{project_id}/members"): {
            "display_name": "x",
            "role": "analyst",
            "experience_level": "mid",
        },
        ("POST", "/v1/projects/{project_id}/ingest-uploads"): {"file_name": "stolen.jsonl"},
        ("PUT", "/v1/projects/{project_id}/integrations/github"): {
            "repository": "evil/repo",
            "webhook_secret": "x" * 32,
        },
        ("PATCH", "/v1/artifacts/{artifact_id}"): {"description": "pwned"},
        ("POST", "/v1/artifacts/{artifact_id}/usages"): {
            "project_id": intruder_project["id"],
            "version": victim_version["version"],
        },
        ("POST", "/v1/artifacts/{artifact_id}/versions"): {
            "version": "6.6.6",
            "size_bytes": 1,
            "sha256": "c" * 64,
            "content_type": "text/plain",
        },
        ("POST", "/v1/artifacts/{artifact_id}/versions/{version}/complete"): {},
        ("PUT", "/v1/artifacts/{artifact_id}/aliases/{alias}"): {"version": victim_version["version"]},
        ("POST", "/v1/artifacts/{artifact_id}/versions/{version}/predict"): {"instances": [[1.0, 2.0]]},
        ("PUT", "/v1/artifacts/{artifact_id}/versions/{version}/serving/reference"): {"features": {"x": [1.0]}},
        ("POST", "/v1/projects/{project_id}/integrations/mlflow/sync"): {},
    }
    # Query parameters are checked before the route reads anything (422 tells nothing about the tenant's
    # objects), so a route with required parameters is sent valid ones: only ownership decides here.
    queries = {("GET", "/v1/projects/{project_id}/metrics"): {"type": "commits"}}
    walked = 0
    for (method, path), spec in sorted(_registry().items()):
        if spec.permission == PUBLIC or "{" not in path:
            continue
        body = None
        if method in ("POST", "PUT", "PATCH"):
            assert (method, path) in bodies, f"add a valid body for {method} {path} to this walk"
            body = bodies[(method, path)]
        model = spec.params_model
        if model is not None and any(field.is_required() for field in model.model_fields.values()):
            assert (method, path) in queries, f"add valid query parameters for {method} {path} to this walk"
        response = intruder.admin.request(method, _fill(path, ids), json=body, params=queries.get((method, path)))
        problem(response, 404)
        walked += 1
    assert walked >= 4
    # Routes that name the victim's objects in the body answer for them as well.
    problem(intruder.admin.post("/v1/predictions", json={"project_id": victim_project["id"]}), 404)
    problem(intruder.admin.post("/v1/recommendations", json={"project_id": victim_project["id"]}), 404)
    # Lists and tenant-wide reads show only the intruder's own objects.
    listed = "".join(
        json.dumps(intruder.admin.get(path).json()) for path in ("/v1/users", "/v1/api-keys", "/v1/projects")
    )
    for victim_id in (*ids.values(), victim.tenant_id):
        assert victim_id not in listed
    # The intruder's audit log names its own failed attempts, and nothing of the victim's log.
    audit = intruder.admin.get("/v1/audit", params={"limit": 1000}).json()["items"]
    assert {e["tenant_id"] for e in audit} == {intruder.tenant_id}
    assert not {e["action"] for e in audit} & {"user.create", "api_key.create"}
    assert intruder.admin.get("/v1/tenant").json()["id"] == intruder.tenant_id
    # And nothing of the victim's changed.
    assert victim.admin.get(f"/v1/users/{victim_user['id']}").json()["role"] == "developer"
    victim_project_now = victim.admin.get(f"/v1/projects/{victim_project['id']}").json()
    assert victim_project_now["name"] == "secret" and victim_project_now["status"] == "active"
    assert len(victim.admin.get(f"/v1/projects/{victim_project['id']}/members").json()["items"]) == 1
    assert victim.client_for("viewer").get("/v1/auth/me").status_code == 200


def test_a_forged_cursor_cannot_page_into_another_tenant(new_tenant):
    from maestro.pagination import encode_cursor

    victim, intruder = new_tenant(), new_tenant()
    forged = encode_cursor({"tenant_id": {"S": victim.tenant_id}, "user_id": {"S": "usr_0"}})
    problem(intruder.admin.get("/v1/users", params={"cursor": forged}), 400)


# ---------------------------------------------------------------- users
def test_users_page_with_cursors(tenant):
    for n in range(4):
        assert (
            tenant.admin.post(
                "/v1/users",
                json={
                    "email": f"p{n}-{uuid.uuid4().hex[:6]}@x.example",
                    "name": f"P{n}",
                    "role": "viewer",
                    "password": STRONG_PASSWORD,
                },
            ).status_code
            == 201
        )
    seen, cursor = [], None
    while True:
        page = tenant.admin.get("/v1/users", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_role_change_uses_if_match_and_answers_412_on_a_lost_update(tenant):
    created = tenant.admin.post(
        "/v1/users",
        json={
            "email": f"e-{uuid.uuid4().hex[:6]}@x.example",
            "name": "E",
            "role": "viewer",
            "password": STRONG_PASSWORD,
        },
    )
    user_id, etag = created.json()["id"], created.headers["ETag"]
    first = tenant.admin.patch(f"/v1/users/{user_id}", json={"role": "developer"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.json()["role"] == "developer"
    problem(tenant.admin.patch(f"/v1/users/{user_id}", json={"role": "admin"}, headers={"If-Match": etag}), 412)
    events = tenant.admin.get("/v1/audit", params={"action": "user.update"}).json()["items"]
    success = [e for e in events if e["outcome"] == "success"]
    assert success[0]["changes"] == {"before": {"role": "viewer"}, "after": {"role": "developer"}}


def test_the_last_admin_can_be_neither_demoted_nor_deleted(tenant):
    body = problem(tenant.admin.patch(f"/v1/users/{tenant.admin_id}", json={"role": "viewer"}), 409)
    assert "last admin" in body["detail"]
    problem(tenant.admin.delete(f"/v1/users/{tenant.admin_id}"), 409)
    problem(tenant.admin.patch(f"/v1/users/{tenant.admin_id}", json={"active": False}), 409)
    second = tenant.admin.post(
        "/v1/users",
        json={
            "email": f"a2-{uuid.uuid4().hex[:6]}@x.example",
            "name": "A2",
            "role": "admin",
            "password": STRONG_PASSWORD,
        },
    ).json()
    assert tenant.admin.patch(f"/v1/users/{second['id']}", json={"role": "viewer"}).status_code == 200


def test_a_deactivated_users_tokens_stop_working(tenant, api_url):
    email = f"d-{uuid.uuid4().hex[:6]}@x.example"
    user = tenant.admin.post(
        "/v1/users", json={"email": email, "name": "D", "role": "developer", "password": STRONG_PASSWORD}
    ).json()
    tokens = ApiClient(api_url).post("/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}).json()
    as_user = ApiClient(api_url, token=tokens["access_token"])
    assert as_user.get("/v1/auth/me").status_code == 200
    assert tenant.admin.patch(f"/v1/users/{user['id']}", json={"active": False}).status_code == 200
    problem(as_user.get("/v1/auth/me"), 401)
    problem(ApiClient(api_url).post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    problem(ApiClient(api_url).post("/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}), 401)


def test_users_quota_is_enforced_and_reported(tenant):
    from maestro.repositories.schema import Tenant
    from maestro.repositories.tables import ensure_bound

    ensure_bound()
    Tenant(tenant.tenant_id).update(actions=[Tenant.quota_overrides.set({"users": 2})])  # an operator's override
    assert (
        tenant.admin.post(
            "/v1/users",
            json={"email": f"q1-{uuid.uuid4().hex[:6]}@x.example", "name": "Q", "role": "viewer", "invite": True},
        ).status_code
        == 201
    )
    body = problem(
        tenant.admin.post(
            "/v1/users",
            json={"email": f"q2-{uuid.uuid4().hex[:6]}@x.example", "name": "Q", "role": "viewer", "invite": True},
        ),
        403,
    )
    assert body["quota"] == "users" and body["limit"] == 2
    usage = tenant.admin.get("/v1/tenant").json()["quotas"]["users"]
    assert usage == {"used": 2, "limit": 2, "remaining": 0}


# ---------------------------------------------------------------- API keys
def test_api_key_secret_is_shown_once_and_works_in_both_headers(tenant, api_url):
    created = tenant.admin.post("/v1/api-keys", json={"name": "ingest", "role": "developer"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert re.fullmatch(r"mml_[a-z0-9]{16}_[A-Za-z0-9_-]{43}", key)
    assert ApiClient(api_url, token=key).get("/v1/auth/me").json()["role"] == "developer"
    assert ApiClient(api_url, api_key=key).get("/v1/auth/me").json()["principal_type"] == "key"
    listed = tenant.admin.get("/v1/api-keys").json()["items"]
    mine = next(k for k in listed if k["id"] == created.json()["id"])
    assert "key" not in mine and key.split("_", 2)[2] not in json.dumps(listed)
    assert mine["last_used_at"] is not None


def test_revoked_and_expired_keys_are_refused(tenant, api_url):
    from datetime import datetime, timedelta

    revoked = tenant.admin.post("/v1/api-keys", json={"name": "r", "role": "viewer"}).json()
    assert tenant.admin.delete(f"/v1/api-keys/{revoked['id']}").status_code == 200
    assert problem(ApiClient(api_url, api_key=revoked["key"]).get("/v1/auth/me"), 401)["detail"] == "API key revoked"
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    expiring = tenant.admin.post("/v1/api-keys", json={"name": "e", "role": "viewer", "expires_at": soon}).json()
    time.sleep(2.2)
    assert problem(ApiClient(api_url, api_key=expiring["key"]).get("/v1/auth/me"), 401)["detail"] == "API key expired"
    wrong = expiring["key"][:-4] + "AAAA"
    problem(ApiClient(api_url, api_key=wrong).get("/v1/auth/me"), 401)


# ---------------------------------------------------------------- the JWT attack list, end to end
def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def forge(tenant):
    """Signs tokens with the live local key (or another), to attack the authorizer the way a thief would."""
    from maestro.secrets import get_secret_json
    from maestro.services import identity

    keys = get_secret_json("jwt-signing-keys")
    kid, secret = keys["active_kid"], next(k["secret"] for k in keys["keys"] if k["kid"] == keys["active_kid"])
    service = identity.token_service()
    live = service.verify_access(tenant.tokens["access_token"])
    now = int(time.time())
    base = {
        "iss": service.issuer,
        "aud": service.audience,
        "sub": live.user_id,
        "tid": live.tenant_id,
        "sid": live.session_id,
        "role": "admin",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }

    def make(claims=None, headers=None, key=secret, algorithm="HS256"):
        return jwt.encode(
            {**base, **(claims or {})},
            key,
            algorithm=algorithm,
            headers={"kid": kid, "typ": "at+jwt", **(headers or {})},
        )

    make.base, make.kid = base, kid
    return make


def test_a_correctly_forged_token_is_accepted_so_the_attacks_below_are_meaningful(forge, api_url):
    assert ApiClient(api_url, token=forge()).get("/v1/auth/me").status_code == 200


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "wrong_algorithm",
        "wrong_key",
        "tampered_payload",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "refresh_as_access",
        "revoked_session",
    ],
)
def test_jwt_attack_is_rejected_with_401(attack, forge, tenant, api_url):
    now = int(time.time())
    if attack == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': forge.kid})}.{_b64(forge.base)}."
    elif attack == "wrong_algorithm":
        token = forge(algorithm="HS512")
    elif attack == "wrong_key":
        token = forge(key="an-entirely-different-signing-secret-0123456789")
    elif attack == "tampered_payload":
        header, _, signature = forge(claims={"role": "viewer"}).split(".")
        token = f"{header}.{_b64({**forge.base, 'role': 'admin'})}.{signature}"
    elif attack == "expired":
        token = forge(claims={"iat": now - 1000, "nbf": now - 1000, "exp": now - 100})
    elif attack == "not_yet_valid":
        token = forge(claims={"nbf": now + 300})
    elif attack == "wrong_audience":
        token = forge(claims={"aud": "some-other-api"})
    elif attack == "wrong_issuer":
        token = forge(claims={"iss": "https://evil.example"})
    elif attack == "refresh_as_access":
        token = tenant.tokens["refresh_token"]
    else:  # revoked_session
        token = forge()
        assert tenant.admin.post("/v1/auth/logout").status_code == 200
    problem(ApiClient(api_url, token=token).get("/v1/auth/me"), 401)


# ---------------------------------------------------------------- audit over the API
def test_mutations_are_audited_and_tampering_is_found_by_verify(tenant, dynamodb):
    from maestro.settings import get_settings

    tenant.admin.post("/v1/api-keys", json={"name": "a", "role": "viewer"})
    tenant.admin.post(
        "/v1/users",
        json={"email": f"z-{uuid.uuid4().hex[:6]}@x.example", "name": "Z", "role": "viewer", "invite": True},
    )
    actions = [e["action"] for e in tenant.admin.get("/v1/audit").json()["items"]]
    assert {"tenant.create", "api_key.create", "user.create"} <= set(actions)
    assert tenant.admin.get("/v1/audit/verify").json() == {
        "intact": True,
        "checked": len(actions),
        "first_broken": None,
    }
    table = get_settings().table_name("audit-events")
    dynamodb.update_item(
        TableName=table,
        Key={"tenant_id": {"S": tenant.tenant_id}, "seq": {"N": "2"}},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "failure"}},
    )
    result = tenant.admin.get("/v1/audit/verify").json()
    assert result["intact"] is False
    assert result["first_broken"]["seq"] == 2 and result["first_broken"]["problem"] == "edited"
