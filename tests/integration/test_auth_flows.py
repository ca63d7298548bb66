"""Signup, login, refresh rotation and reuse detection, logout, throttling — over HTTP against the local API."""

import time
import uuid

import pytest

from tests.integration.conftest import STRONG_PASSWORD, ApiClient, problem

pytestmark = pytest.mark.integration


def test_signup_creates_a_tenant_whose_first_user_is_admin(tenant):
    assert tenant.tokens["token_type"] == "Bearer"
    assert tenant.tokens["expires_in"] == 900
    me = tenant.admin.get("/v1/auth/me").json()
    assert me["role"] == "admin" and me["tenant"]["id"] == tenant.tenant_id
    assert "password" not in str(me) and "password_hash" not in str(me)


def test_signup_rejects_weak_and_common_passwords(api_url):
    anonymous = ApiClient(api_url)
    for password in ("short-pw", "1q2w3e4r5t6y", "x" * 129):
        body = problem(
            anonymous.post(
                "/v1/auth/signup",
                json={"tenant_name": "W", "email": f"{uuid.uuid4().hex}@w.example", "password": password, "name": "W"},
            ),
            422,
        )
        assert body["errors"][0]["field"] == "password"


def test_duplicate_email_is_409(tenant, api_url):
    problem(
        ApiClient(api_url).post(
            "/v1/auth/signup",
            json={"tenant_name": "Other", "email": tenant.email, "password": STRONG_PASSWORD, "name": "X"},
        ),
        409,
    )


def test_closed_signup_answers_403(api_url, monkeypatch):
    from maestro.settings import reset_settings

    monkeypatch.setenv("MAESTRO_OPEN_SIGNUP", "false")
    reset_settings()
    try:
        body = problem(
            ApiClient(api_url).post(
                "/v1/auth/signup",
                json={
                    "tenant_name": "C",
                    "email": f"{uuid.uuid4().hex}@c.example",
                    "password": STRONG_PASSWORD,
                    "name": "C",
                },
            ),
            403,
        )
        assert "operator" in body["detail"]
    finally:
        monkeypatch.undo()
        reset_settings()


def test_signup_is_rate_limited_per_source_ip(local_stack, monkeypatch):
    from maestro.domain.errors import RateLimited
    from maestro.services import identity
    from maestro.services.context import RequestMeta
    from maestro.settings import reset_settings

    monkeypatch.setenv("MAESTRO_SIGNUPS_PER_IP_PER_HOUR", "2")
    reset_settings()
    meta = RequestMeta(source_ip=f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(2):
            identity.signup("R", f"{uuid.uuid4().hex}@r.example", STRONG_PASSWORD, "R", meta)
        with pytest.raises(RateLimited) as raised:
            identity.signup("R", f"{uuid.uuid4().hex}@r.example", STRONG_PASSWORD, "R", meta)
        assert 0 < raised.value.retry_after_seconds <= 3600
    finally:
        monkeypatch.undo()
        reset_settings()


def test_login_returns_the_documented_token_pair(tenant, api_url):
    response = ApiClient(api_url).post("/v1/auth/login", json={"email": tenant.email, "password": STRONG_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer" and body["user"]["id"] == tenant.admin_id


def test_wrong_password_and_unknown_email_look_the_same(tenant, api_url):
    anonymous = ApiClient(api_url)
    wrong = problem(anonymous.post("/v1/auth/login", json={"email": tenant.email, "password": "not-the-password"}), 401)
    unknown = problem(
        anonymous.post("/v1/auth/login", json={"email": "nobody@x.example", "password": "whatever1234"}), 401
    )
    assert wrong["detail"] == unknown["detail"]


def test_five_failures_lock_the_account_for_15_minutes_even_for_the_right_password(tenant, api_url):
    anonymous = ApiClient(api_url)
    for _ in range(5):
        problem(anonymous.post("/v1/auth/login", json={"email": tenant.email, "password": "wrong-password!"}), 401)
    locked = anonymous.post("/v1/auth/login", json={"email": tenant.email, "password": STRONG_PASSWORD})
    problem(locked, 429)
    assert 850 <= int(locked.headers["Retry-After"]) <= 900
    events = tenant.admin.get("/v1/audit", params={"action": "auth.lock", "limit": 100}).json()["items"]
    assert len(events) == 1
    failures = tenant.admin.get("/v1/audit", params={"action": "auth.login", "limit": 100}).json()["items"]
    assert sum(1 for e in failures if e["outcome"] == "failure") == 5
    assert any(e["outcome"] == "denied" for e in failures)  # the attempt made while locked


def test_refresh_rotates_and_each_refresh_token_is_single_use(tenant, api_url):
    anonymous = ApiClient(api_url)
    first = tenant.tokens["refresh_token"]
    rotated = anonymous.post("/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    third = anonymous.post("/v1/auth/refresh", json={"refresh_token": second})
    assert third.status_code == 200


def test_reused_refresh_token_revokes_the_whole_family(tenant, api_url):
    anonymous = ApiClient(api_url)
    stolen = tenant.tokens["refresh_token"]
    legit = anonymous.post("/v1/auth/refresh", json={"refresh_token": stolen}).json()
    body = problem(anonymous.post("/v1/auth/refresh", json={"refresh_token": stolen}), 401)
    assert "revoked" in body["detail"]
    # The legitimate holder's newer tokens died with the family.
    problem(anonymous.post("/v1/auth/refresh", json={"refresh_token": legit["refresh_token"]}), 401)
    problem(ApiClient(api_url, token=legit["access_token"]).get("/v1/auth/me"), 401)
    events = tenant.admin.get("/v1/audit", params={"action": "auth.refresh_reuse"})
    # The admin's own session was that family: read the audit with a fresh login.
    fresh = anonymous.post("/v1/auth/login", json={"email": tenant.email, "password": STRONG_PASSWORD}).json()
    events = (
        ApiClient(api_url, token=fresh["access_token"]).get("/v1/audit", params={"action": "auth.refresh_reuse"}).json()
    )
    assert len(events["items"]) == 1


def test_logout_ends_the_access_token_and_the_refresh_token(tenant, api_url):
    assert tenant.admin.post("/v1/auth/logout").status_code == 200
    problem(tenant.admin.get("/v1/auth/me"), 401)
    problem(ApiClient(api_url).post("/v1/auth/refresh", json={"refresh_token": tenant.tokens["refresh_token"]}), 401)


def test_invited_user_sets_a_password_and_signs_in(tenant, api_url):
    invited = tenant.admin.post(
        "/v1/users",
        json={"email": f"inv-{uuid.uuid4().hex[:6]}@x.example", "name": "Inv", "role": "viewer", "invite": True},
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["invited"] is True and body["invite_token"]
    accepted = ApiClient(api_url).post(
        "/v1/auth/accept-invite", json={"invite_token": body["invite_token"], "password": STRONG_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["user"]["role"] == "viewer"
    # The invitation is single use.
    problem(
        ApiClient(api_url).post(
            "/v1/auth/accept-invite", json={"invite_token": body["invite_token"], "password": STRONG_PASSWORD}
        ),
        401,
    )


def test_health_stays_public(api_url):
    assert ApiClient(api_url).get("/v1/health").status_code == 200


def test_missing_credentials_are_401_problem(api_url):
    body = problem(ApiClient(api_url).get("/v1/auth/me"), 401)
    assert "credentials required" in body["detail"]


def test_a_token_used_after_15_minutes_is_rejected(tenant, api_url, monkeypatch):
    """Expiry end to end: a token issued 16 minutes ago (signed with the live key) is refused."""
    from maestro.services import identity

    service = identity.token_service()
    session_id = service.verify_access(tenant.tokens["access_token"]).session_id  # a live session
    service.clock = lambda: time.time() - 16 * 60  # issue it in the past
    old = service.issue_access(tenant.tenant_id, tenant.admin_id, "admin", session_id)
    body = problem(ApiClient(api_url, token=old.token).get("/v1/auth/me"), 401)
    assert body["detail"] == "token expired"
