"""Issue 15's regression tests over real HTTP: each sends the request a black-box test found misanswered and
asserts the decided rule (README "Input rules and limits")."""

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.conftest import STRONG_PASSWORD, ApiClient, add_user, declare_version, problem

pytestmark = pytest.mark.integration


def _project(client, name="p", **fields):
    body = {"name": name, "problem_class": "classification", "complexity_score": 5, "team_size": 4, **fields}
    response = client.post("/v1/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _raw(client, method, path, data, headers=None):
    return requests.request(
        method,
        client.base_url + path,
        data=data,
        headers={**client.headers, "Content-Type": "application/json", **(headers or {})},
        timeout=30,
    )


# ---------------------------------------------------------------- 2. finite numbers only
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_project_features_are_refused_and_the_list_stays_json(tenant, literal):
    body = '{"name": "f", "problem_class": "nlp", "complexity_score": 3, "team_size": 2, "features": {"x": %s}}'
    problem(_raw(tenant.admin, "POST", "/v1/projects", body % literal), 400)
    listed = tenant.admin.get("/v1/projects")
    assert listed.status_code == 200
    assert "Infinity" not in listed.text and "NaN" not in listed.text
    json.loads(listed.text, parse_constant=lambda name: pytest.fail(f"{name} in the answer"))


def test_outcome_fields_and_success_weights_refuse_non_finite_numbers(tenant):
    project = _project(tenant.admin)
    outcome = (
        '{"model_performance": 0.8, "business_impact_usd": 1e309, "duration_days": 30, "compute_cost_usd": 10,'
        ' "completed_at": "2026-01-01T00:00:00Z"}'
    )
    problem(_raw(tenant.admin, "PUT", f"/v1/projects/{project['id']}/outcome", outcome), 400)
    # "Infinity" as a string would slip past the JSON rule; the models refuse it too.
    stringly = json.loads(outcome.replace("1e309", "0"))
    stringly["business_impact_usd"] = "Infinity"
    problem(tenant.admin.put(f"/v1/projects/{project['id']}/outcome", json=stringly), 422)
    problem(_raw(tenant.admin, "PUT", "/v1/tenant/success-weights", '{"weights": {"performance": NaN}}'), 400)
    problem(tenant.admin.put("/v1/tenant/success-weights", json={"weights": {"performance": "nan"}}), 422)
    assert tenant.admin.get(f"/v1/projects/{project['id']}").json()["outcome"] is None


# ---------------------------------------------------------------- 3. no 500s from client input
def test_a_body_nested_10000_levels_is_400_on_every_body_route_including_login(tenant, api_url):
    bomb = "[" * 10_000 + "]" * 10_000
    problem(_raw(ApiClient(api_url), "POST", "/v1/auth/login", bomb), 400)
    problem(_raw(tenant.admin, "POST", "/v1/projects", bomb), 400)
    problem(_raw(tenant.admin, "POST", "/v1/metrics", bomb), 400)
    problem(_raw(tenant.admin, "POST", "/v1/artifacts/search", bomb), 400)
    # Nesting within the limit still parses (and is judged by the model).
    assert _raw(ApiClient(api_url), "POST", "/v1/auth/login", '{"email": [[[[1]]]]}').status_code == 422


def _cursor(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize("offset", [b"Infinity", b"1e400", b"-1", b"1.5", b"true", b'"7"', b"9" * 5000])
def test_forged_offset_cursors_are_400(tenant, offset):
    cursor = _cursor(b'{"o":' + offset + b',"f":"x"}')
    problem(tenant.admin.get("/v1/artifacts", params={"query": "churn", "cursor": cursor}), 400)
    problem(tenant.admin.post("/v1/artifacts/search", json={"query": "churn", "cursor": cursor}), 400)


def test_forged_key_cursors_are_400(tenant):
    forged = [
        {"tenant_id": {"S": tenant.tenant_id}, "project_id": {"N": "Infinity"}},
        {"tenant_id": {"S": tenant.tenant_id}, "nope": {"S": "x"}},
        {"tenant_id": {"S": tenant.tenant_id}, "project_id": {"B": "AAAA"}},
    ]
    for key in forged:
        cursor = _cursor(json.dumps(key).encode())
        problem(tenant.admin.get("/v1/projects", params={"cursor": cursor}), 400)
        problem(tenant.admin.get("/v1/users", params={"cursor": cursor}), 400)


def test_an_if_match_of_4301_digits_is_400(tenant):
    project = _project(tenant.admin)
    for etag in ("9" * 4301, "²", '"1"x', "1" * 20):
        response = tenant.admin.patch(
            f"/v1/projects/{project['id']}", json={"team_size": 5}, headers={"If-Match": etag}
        )
        assert response.status_code in (400, 412), response.text
        problem(response, response.status_code)


def test_a_metric_value_of_1e16_is_stored_and_numbers_dynamodb_cannot_hold_are_refused(tenant):
    project = _project(tenant.admin)
    event = {
        "event_id": "big-1",
        "project_id": project["id"],
        "metric_type": "commits",
        "value": 1e16,
        "timestamp": "2026-01-01T00:00:00Z",
    }
    stored = tenant.admin.post("/v1/metrics", json={"events": [event]})
    assert stored.status_code == 200 and stored.json()["accepted"] == 1, stored.text
    for literal in ("1e200", "1e-200", "1" + "0" * 40):
        body = json.dumps({"events": [{**event, "event_id": f"big-{literal[:6]}"}]}).replace("1e+16", literal)
        problem(_raw(tenant.admin, "POST", "/v1/metrics", body), 400)


# ---------------------------------------------------------------- 4. per-caller throttling
@pytest.fixture
def low_limits(monkeypatch):
    from maestro.settings import reset_settings

    monkeypatch.setenv("MAESTRO_THROTTLE_PRINCIPAL_UNITS", "40")
    monkeypatch.setenv("MAESTRO_THROTTLE_TENANT_UNITS", "60")
    monkeypatch.setenv("MAESTRO_THROTTLE_WINDOW_SECONDS", "3600")
    monkeypatch.setenv("MAESTRO_THROTTLE_HEAVY_COST", "10")
    reset_settings()
    # Fixed windows: a test must not straddle the start of one (counts would begin again mid-burst).
    if time.time() % 3600 > 3600 - 120:
        time.sleep(3600 - time.time() % 3600 + 1)
    yield
    monkeypatch.undo()
    reset_settings()


def _burst(client, count, method="GET", path="/v1/projects", json_body=None):
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: client.request(method, path, json=json_body), range(count)))


def test_a_burst_through_one_api_key_is_throttled_with_retry_after(tenant, low_limits):
    key = tenant.client_for("viewer")
    answers = _burst(key, 80)
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 40 and statuses.count(429) == 40, statuses
    refused = next(r for r in answers if r.status_code == 429)
    body = problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600 and body["retry_after"] == int(
        refused.headers["Retry-After"]
    )


def test_the_tenant_budget_caps_all_its_callers_together(tenant, low_limits):
    first, second = tenant.client_for("viewer"), tenant.client_for("developer")  # 2 units of the admin's
    statuses = [r.status_code for r in _burst(first, 40) + _burst(second, 40)]
    assert statuses.count(200) == 58 and statuses.count(429) == 22, statuses


def test_heavy_routes_cost_more(tenant, low_limits):
    key = tenant.client_for("viewer")
    answers = _burst(key, 8, "POST", "/v1/artifacts/search", {"query": "churn pipeline"})
    statuses = [r.status_code for r in answers]
    assert statuses.count(429) == 4, statuses  # 40 units / 10 per search
    assert all(s in (200, 429) for s in statuses), statuses


# ---------------------------------------------------------------- 5. races and codes
def test_one_invitation_accepted_concurrently_opens_exactly_one_session(tenant, api_url):
    invited = tenant.admin.post(
        "/v1/users",
        json={"email": f"inv-{uuid.uuid4().hex[:6]}@x.example", "name": "Inv", "role": "viewer", "invite": True},
    ).json()
    anonymous = ApiClient(api_url)
    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(
                lambda _: anonymous.post(
                    "/v1/auth/accept-invite",
                    json={"invite_token": invited["invite_token"], "password": STRONG_PASSWORD},
                ),
                range(5),
            )
        )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 401, 401, 401, 401], [r.text for r in answers]


def _patch_at_once(client, user, roles):
    etag = f'"{user["version"]}"'
    with ThreadPoolExecutor(len(roles)) as pool:
        return list(
            pool.map(
                lambda role: client.patch(f"/v1/users/{user['id']}", json={"role": role}, headers={"If-Match": etag}),
                roles,
            )
        )


def test_concurrent_user_patches_with_one_if_match_answer_only_412(tenant):
    for _ in range(3):
        user = add_user(tenant.admin, "viewer")
        answers = _patch_at_once(tenant.admin, user, ["developer", "viewer", "admin", "developer", "viewer", "admin"])
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(200) == 1 and statuses.count(412) == 5, [r.text for r in answers]


def test_concurrent_project_patches_without_if_match_never_answer_412(tenant):
    project = _project(tenant.admin)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda size: tenant.admin.patch(f"/v1/projects/{project['id']}", json={"team_size": size}),
                range(1, 17),
            )
        )
    assert [r.status_code for r in answers] == [200] * 16, [r.text for r in answers if r.status_code != 200]
    final = tenant.admin.get(f"/v1/projects/{project['id']}").json()
    assert final["version"] == project["version"] + 16


# ---------------------------------------------------------------- 6. unvalidated content
HIDDEN = ["nul\x00byte", "evil\u202etxt.exe", "zero\u200bwidth", "bom\ufeff", "line\nbreak", "esc\x1b[31m", "   "]


@pytest.mark.parametrize("name", HIDDEN)
def test_names_refuse_control_bidi_override_and_zero_width_characters(tenant, name):
    project = _project(tenant.admin)
    creations = [
        ("/v1/projects", {"name": name, "problem_class": "nlp", "complexity_score": 3, "team_size": 2}),
        ("/v1/artifacts", {"name": name, "type": "notebook"}),
        ("/v1/users", {"email": f"n-{uuid.uuid4().hex[:6]}@x.example", "name": name, "role": "viewer", "invite": True}),
        ("/v1/api-keys", {"name": name, "role": "viewer"}),
        (
            f"/v1/projects/{project['id']}/members",
            {"display_name": name, "role": "ml_engineer", "experience_level": "mid"},
        ),
    ]
    for path, body in creations:
        problem(tenant.admin.post(path, json=body), 422)
    problem(tenant.admin.patch(f"/v1/projects/{project['id']}", json={"name": name}), 422)


def test_ordinary_unicode_names_are_kept(tenant):
    for name in ("Müller & Søn — 数据", "نموذج تصنيف", "🎵 pipeline"):
        created = tenant.admin.post("/v1/artifacts", json={"name": name, "type": "notebook"})
        assert created.status_code == 201 and created.json()["name"] == name, created.text


def test_an_ingest_content_type_with_crlf_is_refused(tenant):
    project = _project(tenant.admin)
    path = f"/v1/projects/{project['id']}/ingest-uploads"
    for content_type in ("text/plain\r\nX-Evil: 1", "text/plain\n", 'text/plain; a="x\r\ny"', "text/plain;\r\n a=b"):
        problem(tenant.admin.post(path, json={"file_name": "events.jsonl", "content_type": content_type}), 422)
    good = tenant.admin.post(path, json={"file_name": "events.jsonl", "content_type": "application/x-ndjson"})
    assert good.status_code == 201, good.text


def test_a_usage_on_a_version_that_never_became_ready_is_409(tenant):
    artifact = tenant.admin.post("/v1/artifacts", json={"name": "pend", "type": "dataset"}).json()
    content = b"never uploaded"
    declared = declare_version(tenant.admin, artifact["id"], content, "application/octet-stream")
    assert declared.status_code == 201
    project = _project(tenant.admin)
    problem(
        tenant.admin.post(
            f"/v1/artifacts/{artifact['id']}/usages", json={"project_id": project["id"], "version": "1.0.0"}
        ),
        409,
    )
    assert tenant.admin.get(f"/v1/artifacts/{artifact['id']}").json()["usage_count"] == 0


def test_a_malformed_x_request_id_never_becomes_the_audit_request_id(tenant):
    good = f"req-{uuid.uuid4().hex}"
    created = tenant.admin.post(
        "/v1/artifacts", json={"name": "rid-good", "type": "notebook"}, headers={"X-Request-Id": good}
    )
    assert created.headers["X-Request-Id"] == good
    bad = "x" * 300 + "<script>"
    answered = tenant.admin.post(
        "/v1/artifacts", json={"name": "rid-bad", "type": "notebook"}, headers={"X-Request-Id": bad}
    )
    assert answered.status_code == 201 and answered.headers["X-Request-Id"] != bad
    events = tenant.admin.get("/v1/audit", params={"action": "artifact.create", "limit": 10}).json()["items"]
    ids = {e["resource_id"]: e.get("request_id") for e in events}
    assert ids[created.json()["id"]] == good
    assert ids[answered.json()["id"]] == answered.headers["X-Request-Id"]


# ---------------------------------------------------------------- 7. account signals
def test_a_locked_account_and_an_unknown_email_answer_alike(tenant, api_url):
    anonymous = ApiClient(api_url)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@nowhere.example"
    answers = {}
    for email in (tenant.email, unknown):
        statuses = [
            anonymous.post("/v1/auth/login", json={"email": email, "password": "wrong-password-123"}).status_code
            for _ in range(5)
        ]
        assert statuses == [401] * 5
        locked = anonymous.post("/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD})
        body = problem(locked, 429)
        answers[email] = (locked.status_code, body["title"], body["detail"], int(locked.headers["Retry-After"]) // 60)
    assert answers[tenant.email] == answers[unknown]


def test_an_api_key_stops_when_its_owner_is_deactivated(tenant, api_url):
    other_admin = add_user(tenant.admin, "admin", prefix="a", name="A2")
    session = ApiClient(api_url).post(
        "/v1/auth/login", json={"email": other_admin["email"], "password": STRONG_PASSWORD}
    )
    admin2 = ApiClient(api_url, token=session.json()["access_token"])
    made = admin2.post("/v1/api-keys", json={"name": "admin2 key", "role": "admin"}).json()
    assert made["owner"] == f"user:{other_admin['id']}"
    key = ApiClient(api_url, api_key=made["key"])
    # A key made by that key belongs to the same user.
    child = key.post("/v1/api-keys", json={"name": "child", "role": "viewer"}).json()
    assert child["owner"] == f"user:{other_admin['id']}"
    assert key.get("/v1/users").status_code == 200
    deactivated = tenant.admin.patch(f"/v1/users/{other_admin['id']}", json={"active": False})
    assert deactivated.status_code == 200, deactivated.text
    problem(key.get("/v1/users"), 401)
    problem(ApiClient(api_url, api_key=child["key"]).get("/v1/projects"), 401)
    listed = {k["id"]: k["owner"] for k in tenant.admin.get("/v1/api-keys").json()["items"]}
    assert listed[made["id"]] == f"user:{other_admin['id']}"
    time.sleep(0)  # reactivation gives the key back
    assert tenant.admin.patch(f"/v1/users/{other_admin['id']}", json={"active": True}).status_code == 200
    assert key.get("/v1/users").status_code == 200


# ---------------------------------------------------------------- 1. outbound calls (see also test_outbound.py)
def test_a_tracking_uri_password_is_never_echoed_nor_audited_and_is_sent_as_basic_auth(tenant):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received = []

    class Tracking(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            received.append(self.headers.get("Authorization"))
            self.send_response(404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracking)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        secret = "pa55-w0rd-never-shown"
        uri = f"http://alice:{secret}@127.0.0.1:{server.server_address[1]}/"
        configured = tenant.admin.put("/v1/integrations/mlflow", json={"tracking_uri": uri})
        assert configured.status_code == 200, configured.text
        assert secret not in configured.text and "alice" not in configured.text
        assert configured.json()["auth"] == "basic" and configured.json()["has_token"] is True
        project = _project(tenant.admin, mlflow_experiment="exp")
        synced = tenant.admin.post(f"/v1/projects/{project['id']}/integrations/mlflow/sync")
        assert synced.status_code == 404  # the server's answer; what matters is what it was sent
        assert received == ["Basic " + base64.b64encode(f"alice:{secret}".encode()).decode()]
        audit = tenant.admin.get("/v1/audit", params={"action": "integration.mlflow", "limit": 10})
        assert audit.status_code == 200 and secret not in audit.text
        both = tenant.admin.put("/v1/integrations/mlflow", json={"tracking_uri": uri, "token": "t0ken"})
        assert secret not in problem(both, 400).get("detail", "")
    finally:
        server.shutdown()
        server.server_close()
