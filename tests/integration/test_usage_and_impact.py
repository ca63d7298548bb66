"""Usages (idempotent, exact counters under concurrency) and impact scores recalculated from outcomes."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from tests.integration.conftest import declare_version, problem

pytestmark = pytest.mark.integration


def _ready_version(client, artifact_id, version="1.0.0", content=b"artifact-bytes"):
    declared = declare_version(client, artifact_id, content, "application/octet-stream", version)
    assert declared.status_code == 201, declared.text
    upload = declared.json()["upload"]
    assert requests.put(upload["url"], data=content, headers=upload["headers"], timeout=30).status_code == 200
    done = client.post(f"/v1/artifacts/{artifact_id}/versions/{version}/complete")
    assert done.status_code == 200 and done.json()["status"] == "ready", done.text


def _project(client, name="p", **fields):
    body = {"name": name, "problem_class": "classification", "complexity_score": 5, "team_size": 4, **fields}
    return client.post("/v1/projects", json=body).json()["id"]


@pytest.fixture
def library(tenant):
    artifact_id = tenant.admin.post("/v1/artifacts", json={"name": "rfm", "type": "feature_pipeline"}).json()["id"]
    _ready_version(tenant.admin, artifact_id)
    return tenant, artifact_id


def test_a_usage_is_recorded_once_per_project_artifact_and_version(library):
    tenant, artifact_id = library
    project_id = _project(tenant.admin)
    first = tenant.admin.post(
        f"/v1/artifacts/{artifact_id}/usages", json={"project_id": project_id, "version": "1.0.0"}
    )
    again = tenant.admin.post(
        f"/v1/artifacts/{artifact_id}/usages", json={"project_id": project_id, "version": "1.0.0"}
    )
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["usage_count"] == 1
    used = tenant.admin.get(f"/v1/projects/{project_id}/artifacts").json()["items"]
    assert [(u["artifact_id"], u["version"]) for u in used] == [(artifact_id, "1.0.0")]
    problem(
        tenant.admin.post(f"/v1/artifacts/{artifact_id}/usages", json={"project_id": project_id, "version": "9.9.9"}),
        404,
    )
    problem(
        tenant.admin.post(f"/v1/artifacts/{artifact_id}/usages", json={"project_id": "prj_nope", "version": "1.0.0"}),
        404,
    )


def test_fifty_concurrent_usages_keep_the_counter_exact(library):
    tenant, artifact_id = library
    projects = [_project(tenant.admin, f"p{n}") for n in range(25)]
    # 25 distinct projects, each logged twice at once: 25 usages, never 50 and never fewer.
    calls = [p for p in projects for _ in range(2)]
    with ThreadPoolExecutor(10) as pool:
        statuses = list(
            pool.map(
                lambda p: (
                    tenant.admin.post(
                        f"/v1/artifacts/{artifact_id}/usages", json={"project_id": p, "version": "1.0.0"}
                    ).status_code
                ),
                calls,
            )
        )
    assert sorted(statuses) == [200] * 25 + [201] * 25
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["usage_count"] == 25
    analytics = tenant.admin.get(f"/v1/artifacts/{artifact_id}/analytics").json()
    assert analytics["usage_count"] == 25 and analytics["project_count"] == 25


def test_an_outcome_triggers_impact_recalculation(tenant, dispatcher):
    helpful = tenant.admin.post("/v1/artifacts", json={"name": "helpful", "type": "model_template"}).json()["id"]
    unused = tenant.admin.post("/v1/artifacts", json={"name": "unused", "type": "schema"}).json()["id"]
    _ready_version(tenant.admin, helpful)
    project_id = _project(tenant.admin)
    tenant.admin.post(f"/v1/artifacts/{helpful}/usages", json={"project_id": project_id, "version": "1.0.0"})
    closed = tenant.admin.put(
        f"/v1/projects/{project_id}/outcome",
        json={
            "model_performance": 0.9,
            "business_impact_usd": 50_000,
            "duration_days": 30,
            "compute_cost_usd": 500,
            "completed_at": datetime(2026, 5, 1, tzinfo=UTC).isoformat(),
        },
    )
    assert closed.status_code == 200
    deadline = time.monotonic() + 10
    impact = None
    while time.monotonic() < deadline:
        impact = tenant.admin.get(f"/v1/artifacts/{helpful}").json()["impact"]
        if impact:
            break
        time.sleep(0.2)
    assert impact is not None, "the outcome event did not reach the impact job"
    assert impact["method"] == "shrunken_mean" and impact["completed_projects"] == 1
    analytics = tenant.admin.get(f"/v1/artifacts/{helpful}/analytics").json()
    assert analytics["impact"]["method"] == "shrunken_mean"
    assert tenant.admin.get(f"/v1/artifacts/{unused}").json()["impact"]["method"] == "insufficient_data"


def test_the_nightly_job_recalculates_every_tenant(library):
    import app
    from infra.local.dispatcher import LambdaContextStub

    tenant, artifact_id = library
    summaries = app.recalculate_impact_nightly(
        {
            "source": "aws.events",
            "detail-type": "Scheduled Event",
            "detail": {},
            "time": "2026-11-26T03:00:00Z",
            "resources": [],
            "id": "x",
            "region": "us-east-1",
            "account": "000000000000",
            "version": "0",
        },
        LambdaContextStub("recalculate_impact_nightly"),
    )
    assert any(s["tenant_id"] == tenant.tenant_id and s["artifacts"] == 1 for s in summaries)
