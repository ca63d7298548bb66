"""POST /v1/metrics: one validated pipeline, exactly once, 207-style answers, custom types, API keys."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tenant):
    response = tenant.admin.post(
        "/v1/projects", json={"name": "ingest", "problem_class": "nlp", "complexity_score": 4, "team_size": 3}
    )
    return tenant, response.json()["id"]


def _event(project_id, n, **overrides):
    return {
        "project_id": project_id,
        "metric_type": "commits",
        "value": 1,
        "timestamp": f"2026-03-0{1 + n % 9}T10:00:{n % 60:02d}Z",
        "metadata": {"n": n},
        **overrides,
    }


def _stored(tenant_id, project_id, metric_type="commits"):
    from maestro.repositories import metrics as store

    rows = list(store.events_in_period(tenant_id, project_id, metric_type, None, None))
    aggregate = sum(a.count for a in store.day_aggregates(tenant_id, project_id, metric_type))
    return len(rows), aggregate


def test_a_batch_answers_accepted_duplicates_and_each_rejection(project):
    tenant, project_id = project
    events = [_event(project_id, n) for n in range(5)]
    events += [
        _event(project_id, 0),  # duplicate of #0 inside the batch
        _event(project_id, 7, metric_type="telepathy"),  # unknown type
        _event(project_id, 8, unit="minutes", metric_type="pipeline_duration_seconds"),  # wrong unit
        _event(project_id, 9, timestamp="yesterday"),  # bad timestamp
        _event("prj_unknown", 10),  # not this tenant's project
        _event(project_id, 11, value=float("nan")) | {"value": "NaN"},  # not a number
    ]
    response = tenant.admin.post("/v1/metrics", json={"events": events})
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["accepted"] == 5 and body["duplicates"] == 1
    assert [r["index"] for r in body["rejected"]] == [6, 7, 8, 9, 10]
    assert "telepathy" in body["rejected"][0]["reason"] and "seconds" in body["rejected"][1]["reason"]
    assert _stored(tenant.tenant_id, project_id) == (5, 5)


def test_replaying_a_batch_changes_no_count(project):
    tenant, project_id = project
    events = [_event(project_id, n) for n in range(20)]
    first = tenant.admin.post("/v1/metrics", json={"events": events}).json()
    again = tenant.admin.post("/v1/metrics", json={"events": events}).json()
    assert (first["accepted"], first["duplicates"]) == (20, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 20)
    assert _stored(tenant.tenant_id, project_id) == (20, 20)


def test_concurrent_replays_stay_exact(project):
    tenant, project_id = project
    events = [_event(project_id, n, metric_type="lines_added", value=n) for n in range(60)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tenant.admin.post("/v1/metrics", json={"events": events}).json(), range(4)))
    assert sum(r["accepted"] for r in results) == 60
    assert sum(r["duplicates"] for r in results) == 180
    from maestro.repositories import metrics as store

    total = sum(a.total for a in store.day_aggregates(tenant.tenant_id, project_id, "lines_added"))
    assert total == sum(range(60))
    assert _stored(tenant.tenant_id, project_id, "lines_added") == (60, 60)


def test_batches_over_1000_events_are_413(project):
    tenant, project_id = project
    body = problem(tenant.admin.post("/v1/metrics", json={"events": [_event(project_id, n) for n in range(1001)]}), 413)
    assert body["limit"] == 1000
    assert problem(tenant.admin.post("/v1/metrics", json={"events": []}), 422)["errors"][0]["field"] == "events"
    problem(tenant.admin.post("/v1/metrics", json=[1, 2]), 422)
    problem(tenant.admin.post("/v1/metrics", data=b"{not json", headers={"Content-Type": "application/json"}), 400)


def test_custom_types_are_registered_first(project):
    tenant, project_id = project
    event = _event(project_id, 1, metric_type="labelled_examples", value=1200)
    assert tenant.admin.post("/v1/metrics", json={"events": [event]}).json()["rejected"]
    created = tenant.admin.post("/v1/metric-types", json={"metric_type": "labelled_examples", "unit": "count"})
    assert created.status_code == 201
    problem(tenant.admin.post("/v1/metric-types", json={"metric_type": "labelled_examples", "unit": "count"}), 409)
    problem(tenant.admin.post("/v1/metric-types", json={"metric_type": "commits", "unit": "count"}), 409)
    assert tenant.admin.post("/v1/metrics", json={"events": [event]}).json()["accepted"] == 1
    types = {t["metric_type"]: t for t in tenant.admin.get("/v1/metric-types").json()["items"]}
    assert types["labelled_examples"]["built_in"] is False and types["commits"]["unit"] == "count"


def test_an_ingestion_api_key_can_send_metrics_and_a_viewer_cannot(project):
    tenant, project_id = project
    assert (
        tenant.client_for("developer").post("/v1/metrics", json={"events": [_event(project_id, 3)]}).status_code == 200
    )
    problem(tenant.client_for("viewer").post("/v1/metrics", json={"events": [_event(project_id, 4)]}), 403)


def test_another_tenants_project_is_rejected_not_stored(new_tenant):
    victim, intruder = new_tenant(), new_tenant()
    project_id = victim.admin.post(
        "/v1/projects", json={"name": "v", "problem_class": "nlp", "complexity_score": 4, "team_size": 3}
    ).json()["id"]
    body = intruder.admin.post("/v1/metrics", json={"events": [_event(project_id, 1)]}).json()
    assert body["accepted"] == 0 and "not found" in body["rejected"][0]["reason"]
    assert _stored(victim.tenant_id, project_id) == (0, 0)
