"""Projects over HTTP: validation, listing filters and paging, optimistic concurrency, soft delete, outcomes
and the success score, members, and Idempotency-Key on POST."""

import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration

PROJECT = {
    "name": "Churn model",
    "description": "Predict churn of telecom customers",
    "problem_class": "classification",
    "complexity_score": 6,
    "team_size": 4,
    "repositories": ["acme/churn"],
    "features": {"data_gb": 12.5},
}


def _create(client, **overrides):
    response = client.post("/v1/projects", json={**PROJECT, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_and_read_a_project(tenant):
    created = _create(tenant.admin)
    assert created["id"].startswith("prj_") and created["status"] == "active"
    fetched = tenant.admin.get(f"/v1/projects/{created['id']}")
    assert fetched.json() == created and fetched.headers["ETag"] == '"1"'


def test_unknown_problem_class_is_422_with_the_list(tenant):
    body = problem(tenant.admin.post("/v1/projects", json={**PROJECT, "problem_class": "astrology"}), 422)
    error = next(e for e in body["errors"] if e["field"] == "problem_class")
    for allowed in ("classification", "anomaly_detection", "other"):
        assert allowed in error["message"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("complexity_score", 11),
        ("complexity_score", 0),
        ("team_size", 501),
        ("team_size", 0),
        ("repositories", ["not a repo"]),
        ("features", {"x": "high"}),
    ],
)
def test_out_of_range_fields_are_422(tenant, field, value):
    body = problem(tenant.admin.post("/v1/projects", json={**PROJECT, field: value}), 422)
    assert any(e["field"].startswith(field) for e in body["errors"])


def test_list_filters_by_problem_class_and_status_and_pages(tenant):
    ids = [_create(tenant.admin, problem_class="nlp", name=f"nlp {n}")["id"] for n in range(3)]
    _create(tenant.admin, problem_class="forecasting")
    seen, cursor = [], None
    while True:
        params = {"problem_class": "nlp", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = tenant.admin.get("/v1/projects", params=params).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    active = tenant.admin.get("/v1/projects", params={"status": "active", "limit": 100}).json()["items"]
    assert len(active) == 4
    problem(tenant.admin.get("/v1/projects", params={"status": "paused"}), 422)


def test_list_searches_names_and_descriptions_sorts_and_pages(tenant):
    _create(tenant.admin, name="Fraud scoring", description="card fraud", team_size=2)
    _create(tenant.admin, name="Churn Model B", description="telecom customers", team_size=7)
    _create(tenant.admin, name="churn model a", description="retail", team_size=3, problem_class="regression")
    _create(tenant.admin, name="Forecast", description="churn-adjacent demand", team_size=5)

    def names(**params):
        seen, cursor = [], None
        while True:
            page = tenant.admin.get("/v1/projects", params={**params, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            seen += [p["name"] for p in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return seen

    # every word, in name or description, any case; paged by cursor in the chosen order
    assert names(q="CHURN model", sort="name", limit=1) == ["churn model a", "Churn Model B"]
    assert names(q="churn", sort="-team_size", limit=2) == ["Churn Model B", "Forecast", "churn model a"]
    assert names(q="churn", problem_class="regression") == ["churn model a"]
    assert names(sort="team_size") == ["Fraud scoring", "churn model a", "Forecast", "Churn Model B"]
    assert names(q="nothing like it") == []
    with_total = tenant.admin.get("/v1/projects", params={"q": "churn", "limit": 1}).json()
    assert with_total["total"] == 3 and len(with_total["items"]) == 1
    # a cursor belongs to its query; an unknown sort names the choices
    problem(tenant.admin.get("/v1/projects", params={"q": "fraud", "cursor": with_total["next_cursor"]}), 400)
    body = problem(tenant.admin.get("/v1/projects", params={"sort": "colour"}), 422)
    assert "-success_score" in body["errors"][0]["message"]


def test_patch_with_a_stale_etag_is_412(tenant):
    created = _create(tenant.admin)
    first = tenant.admin.patch(f"/v1/projects/{created['id']}", json={"team_size": 6}, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.json()["team_size"] == 6 and first.headers["ETag"] == '"2"'
    problem(
        tenant.admin.patch(f"/v1/projects/{created['id']}", json={"team_size": 7}, headers={"If-Match": '"1"'}), 412
    )


def test_delete_is_soft_admin_only_and_frees_the_quota(tenant):
    created = _create(tenant.admin)
    problem(tenant.client_for("developer").delete(f"/v1/projects/{created['id']}"), 403)
    assert tenant.admin.get("/v1/tenant").json()["quotas"]["projects"]["used"] == 1
    assert tenant.admin.delete(f"/v1/projects/{created['id']}").status_code == 200
    problem(tenant.admin.get(f"/v1/projects/{created['id']}"), 404)
    assert tenant.admin.get("/v1/tenant").json()["quotas"]["projects"]["used"] == 0
    assert created["id"] not in str(tenant.admin.get("/v1/projects").json())
    from maestro.repositories.schema import Project
    from maestro.repositories.tables import ensure_bound

    ensure_bound()
    assert Project.get(tenant.tenant_id, created["id"]).deleted is True  # kept, not erased


def _outcome(**overrides):
    return {
        "model_performance": 0.8,
        "business_impact_usd": 100_000,
        "duration_days": 60,
        "compute_cost_usd": 2_000,
        "completed_at": datetime(2026, 6, 1, tzinfo=UTC).isoformat(),
        **overrides,
    }


def test_outcome_closes_the_project_and_scores_it(tenant):
    created = _create(tenant.admin)
    closed = tenant.admin.put(f"/v1/projects/{created['id']}/outcome", json=_outcome())
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "completed" and 0 <= body["success_score"] <= 100
    assert body["outcome"]["success"]["basis"] == "reference_scales"
    assert tenant.admin.get("/v1/projects", params={"status": "completed"}).json()["items"][0]["id"] == created["id"]


def test_success_score_is_normalised_against_the_tenants_history(tenant):
    for n in range(5):
        project = _create(tenant.admin, name=f"history {n}")
        tenant.admin.put(
            f"/v1/projects/{project['id']}/outcome",
            json=_outcome(business_impact_usd=10_000 * (n + 1), duration_days=30 + 10 * n),
        )
    best = _create(tenant.admin, name="best")
    worst = _create(tenant.admin, name="worst")
    best_score = tenant.admin.put(
        f"/v1/projects/{best['id']}/outcome",
        json=_outcome(business_impact_usd=1_000_000, duration_days=10, compute_cost_usd=10),
    ).json()
    worst_score = tenant.admin.put(
        f"/v1/projects/{worst['id']}/outcome",
        json=_outcome(business_impact_usd=1, duration_days=500, compute_cost_usd=1_000_000),
    ).json()
    assert best_score["outcome"]["success"]["basis"] == "tenant_history"
    assert best_score["success_score"] > 90 > 40 > worst_score["success_score"]


def test_members_are_added_listed_and_removed(tenant):
    project = _create(tenant.admin)
    member = tenant.admin.post(
        f"/v1/projects/{project['id']}/members",
        json={
            "user_id": tenant.admin_id,
            "display_name": "Ada",
            "role": "ml_scientist",
            "experience_level": "senior",
            "contribution_hours": 120,
        },
    )
    assert member.status_code == 201, member.text
    listed = tenant.admin.get(f"/v1/projects/{project['id']}/members").json()
    assert [m["id"] for m in listed["items"]] == [member.json()["id"]]
    problem(
        tenant.admin.post(
            f"/v1/projects/{project['id']}/members",
            json={"display_name": "X", "role": "wizard", "experience_level": "senior"},
        ),
        422,
    )
    problem(
        tenant.admin.post(
            f"/v1/projects/{project['id']}/members",
            json={"user_id": "usr_nobody", "display_name": "X", "role": "analyst", "experience_level": "mid"},
        ),
        404,
    )
    assert tenant.admin.delete(f"/v1/projects/{project['id']}/members/{member.json()['id']}").status_code == 200
    assert tenant.admin.get(f"/v1/projects/{project['id']}/members").json()["items"] == []
    problem(tenant.admin.delete(f"/v1/projects/{project['id']}/members/{member.json()['id']}"), 404)


def test_a_retried_post_with_the_same_idempotency_key_creates_nothing_new(tenant):
    key = str(uuid.uuid4())
    first = tenant.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key})
    again = tenant.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.headers["Idempotent-Replayed"] == "false" and again.headers["Idempotent-Replayed"] == "true"
    assert len(tenant.admin.get("/v1/projects").json()["items"]) == 1
    assert tenant.admin.get("/v1/tenant").json()["quotas"]["projects"]["used"] == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(tenant):
    key = str(uuid.uuid4())
    assert tenant.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key}).status_code == 201
    problem(tenant.admin.post("/v1/projects", json={**PROJECT, "name": "other"}, headers={"Idempotency-Key": key}), 422)


def test_idempotency_keys_do_not_cross_tenants(new_tenant):
    first, second = new_tenant(), new_tenant()
    key = str(uuid.uuid4())
    a = first.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key}).json()
    b = second.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key}).json()
    assert a["id"] != b["id"]
    assert second.admin.get(f"/v1/projects/{b['id']}").status_code == 200


def test_a_failed_attempt_is_not_remembered(tenant):
    key = str(uuid.uuid4())
    problem(tenant.admin.post("/v1/projects", json={**PROJECT, "team_size": 0}, headers={"Idempotency-Key": key}), 422)
    # Same key, corrected body: the failed attempt was forgotten, so this one runs and creates the project.
    retried = tenant.admin.post("/v1/projects", json=PROJECT, headers={"Idempotency-Key": key})
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "false"
