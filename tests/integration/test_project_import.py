"""Bringing a team's history in: POST /v1/projects/import (200/207, idempotent re-import, one bad row never blocks
the others, outcomes, members and usages by id or type/name), consistent dates on import and on PUT outcome, and
the same rows as a CSV or JSONL file through a presigned upload and the S3 -> EventBridge -> handler path."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import poll, problem
from tests.integration.test_usage_and_impact import _ready_version

pytestmark = pytest.mark.integration

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "docs" / "project-import-sample.csv"


def _row(external_id, **overrides):
    return {
        "external_id": external_id,
        "name": f"Project {external_id}",
        "problem_class": "classification",
        "complexity_score": 5,
        "team_size": 3,
        **overrides,
    }


OUTCOME = {
    "model_performance": 0.81,
    "business_impact_usd": 120000,
    "duration_days": 60,
    "compute_cost_usd": 3000,
    "completed_at": "2021-06-30T00:00:00Z",
}


@pytest.fixture
def library(tenant):
    created = tenant.admin.post("/v1/artifacts", json={"name": "RFM features", "type": "feature_pipeline"})
    artifact_id = created.json()["id"]
    _ready_version(tenant.admin, artifact_id)
    return tenant, artifact_id


def test_a_batch_with_outcome_members_and_usages_is_taken_and_a_reimport_changes_nothing(library):
    tenant, artifact_id = library
    rows = [
        _row(
            "crm-1",
            start_date="2021-05-01",
            outcome=OUTCOME,
            members=[
                {"display_name": "Ada", "role": "ml_scientist", "experience_level": "senior"},
                {"display_name": "Bo", "role": "data_engineer", "experience_level": "mid", "contribution_hours": 20},
            ],
            usages=[{"artifact_id": artifact_id, "version": "1.0.0"}],
        ),
        _row("crm-2", usages=[{"type": "feature_pipeline", "name": "rfm features", "version": "1.0.0"}]),
    ]
    first = tenant.admin.post("/v1/projects/import", json={"projects": rows})
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (2, 0, 0, [])
    ids = {p["external_id"]: p["id"] for p in body["projects"]}

    project = tenant.admin.get(f"/v1/projects/{ids['crm-1']}").json()
    assert project["status"] == "completed" and project["outcome"]["duration_days"] == 60
    assert project["success_score"] is not None
    members = tenant.admin.get(f"/v1/projects/{ids['crm-1']}/members").json()["items"]
    assert sorted(m["display_name"] for m in members) == ["Ada", "Bo"]
    for external_id in ("crm-1", "crm-2"):
        used = tenant.admin.get(f"/v1/projects/{ids[external_id]}/artifacts").json()["items"]
        assert [(u["artifact_id"], u["version"]) for u in used] == [(artifact_id, "1.0.0")]
    assert tenant.admin.get(f"/v1/projects/{ids['crm-2']}").json()["status"] == "active"

    again = tenant.admin.post("/v1/projects/import", json={"projects": rows})
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
    listed = tenant.admin.get("/v1/projects", params={"limit": 100}).json()["items"]
    assert len(listed) == 2
    assert len(tenant.admin.get(f"/v1/projects/{ids['crm-1']}/members").json()["items"]) == 2
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["usage_count"] == 2

    changed = tenant.admin.post("/v1/projects/import", json={"projects": [{**rows[1], "team_size": 7}]}).json()
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 0)
    assert tenant.admin.get(f"/v1/projects/{ids['crm-2']}").json()["team_size"] == 7


def test_bad_rows_are_207_with_index_external_id_and_reason_and_never_block_the_others(library):
    tenant, artifact_id = library
    rows = [
        _row("ok-1"),
        _row("bad-class", problem_class="astrology"),
        _row("bad-dates", start_date="2022-01-01", outcome=OUTCOME),
        _row("bad-artifact", usages=[{"type": "model_template", "name": "nope", "version": "1"}]),
        _row("bad-version", usages=[{"artifact_id": artifact_id, "version": "9.9.9"}]),
        "not an object",
        _row("ok-2", outcome=OUTCOME),
        _row("ok-1"),
    ]
    answer = tenant.admin.post("/v1/projects/import", json={"projects": rows})
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert body["created"] == 2
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 7]
    assert rejected[1]["external_id"] == "bad-class" and "problem_class" in rejected[1]["reason"]
    assert set(rejected[2]["fields"]) == {"outcome.completed_at", "start_date"}
    assert "completed_at" in rejected[2]["reason"] and "start_date" in rejected[2]["reason"]
    assert "not found" in rejected[3]["reason"] and "not found" in rejected[4]["reason"]
    assert rejected[5]["external_id"] is None
    assert "twice" in rejected[7]["reason"]
    names = sorted(p["name"] for p in tenant.admin.get("/v1/projects", params={"limit": 100}).json()["items"])
    assert names == ["Project ok-1", "Project ok-2"]


def test_an_outcome_without_a_start_date_starts_at_completed_at_minus_its_duration(tenant):
    body = tenant.admin.post("/v1/projects/import", json={"projects": [_row("no-start", outcome=OUTCOME)]}).json()
    project = tenant.admin.get(f"/v1/projects/{body['projects'][0]['id']}").json()
    assert project["start_date"] == "2021-05-01"  # 2021-06-30 - 60 days

    created = tenant.admin.post("/v1/projects", json={k: v for k, v in _row("x").items() if k != "external_id"}).json()
    recorded = tenant.admin.put(f"/v1/projects/{created['id']}/outcome", json=OUTCOME)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["start_date"] == "2021-05-01"


def test_an_outcome_completed_before_the_start_is_422_naming_both_fields(tenant):
    created = tenant.admin.post(
        "/v1/projects", json={k: v for k, v in _row("x", start_date="2022-03-01").items() if k != "external_id"}
    ).json()
    answer = tenant.admin.put(f"/v1/projects/{created['id']}/outcome", json=OUTCOME)
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in answer.json()["errors"]} == {"completed_at", "start_date"}
    assert tenant.admin.get(f"/v1/projects/{created['id']}").json()["status"] == "active"


def _days_from_now(days: float) -> str:
    from datetime import timedelta

    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_an_outcome_completed_in_the_future_is_422_naming_completed_at_on_put_and_a_refused_row_on_import(tenant):
    """A project that has not ended yet is not completed: completed_at may be at most a day ahead of now (clock
    skew, a team east of UTC recording today), on PUT .../outcome and on every import row."""
    created = tenant.admin.post(
        "/v1/projects", json={k: v for k, v in _row("x", start_date="2026-01-05").items() if k != "external_id"}
    ).json()
    answer = tenant.admin.put(
        f"/v1/projects/{created['id']}/outcome", json={**OUTCOME, "completed_at": _days_from_now(3)}
    )
    body = problem(answer, 422)
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("completed_at", "future")]
    assert "future" in body["detail"]
    assert tenant.admin.get(f"/v1/projects/{created['id']}").json()["status"] == "active"
    # within the leeway: recorded
    today = tenant.admin.put(
        f"/v1/projects/{created['id']}/outcome", json={**OUTCOME, "completed_at": _days_from_now(0.5)}
    )
    assert today.status_code == 200, today.text
    assert today.json()["status"] == "completed"

    rows = [
        _row("ended", outcome=OUTCOME),
        _row("ends-next-year", start_date="2026-01-05", outcome={**OUTCOME, "completed_at": _days_from_now(200)}),
    ]
    imported = tenant.admin.post("/v1/projects/import", json={"projects": rows})
    assert imported.status_code == 207, imported.text
    result = imported.json()
    assert result["created"] == 1
    [refused] = result["rejected"]
    assert (refused["index"], refused["external_id"], refused["fields"]) == (
        1,
        "ends-next-year",
        ["outcome.completed_at"],
    )
    assert "future" in refused["reason"]
    names = {p["name"] for p in tenant.admin.get("/v1/projects", params={"limit": 100}).json()["items"]}
    assert "Project ends-next-year" not in names and "Project ended" in names


def test_patching_start_date_after_the_recorded_completion_is_422_naming_both_fields(tenant):
    created = tenant.admin.post("/v1/projects", json={k: v for k, v in _row("x").items() if k != "external_id"})
    project_id = created.json()["id"]
    assert tenant.admin.put(f"/v1/projects/{project_id}/outcome", json=OUTCOME).status_code == 200  # ends 2021-06-30
    late = tenant.admin.patch(f"/v1/projects/{project_id}", json={"start_date": "2021-07-15"})
    body = problem(late, 422)
    assert {e["field"] for e in body["errors"]} == {"completed_at", "start_date"}
    assert tenant.admin.get(f"/v1/projects/{project_id}").json()["start_date"] == "2021-05-01"  # unchanged
    earlier = tenant.admin.patch(f"/v1/projects/{project_id}", json={"start_date": "2021-04-01"})
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["start_date"] == "2021-04-01"
    # an outcome comes through PUT .../outcome only: PATCH has no outcome field and changes nothing
    future = {**OUTCOME, "completed_at": _days_from_now(30)}
    assert problem(tenant.admin.patch(f"/v1/projects/{project_id}", json={"outcome": future}), 400)
    assert tenant.admin.get(f"/v1/projects/{project_id}").json()["outcome"]["completed_at"].startswith("2021-06-30")


def test_dry_run_validates_without_writing(tenant):
    answer = tenant.admin.post("/v1/projects/import?dry_run=true", json={"projects": [_row("d-1"), _row("d-2")]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["dry_run"] is True and answer.json()["created"] == 2
    assert tenant.admin.get("/v1/projects").json()["items"] == []


def test_more_than_500_rows_is_413_and_an_empty_batch_is_422(tenant):
    too_many = tenant.admin.post("/v1/projects/import", json={"projects": [_row(f"r{i}") for i in range(501)]})
    assert problem(too_many, 413)["limit"] == 500
    empty = problem(tenant.admin.post("/v1/projects/import", json={"projects": []}), 422)
    assert [error["field"] for error in empty["errors"]] == ["projects"]
    problem(tenant.admin.post("/v1/projects/import", json=[_row("r1")]), 422)
    problem(tenant.admin.post("/v1/projects/import?dry_run=perhaps", json={"projects": [_row("r1")]}), 422)


def test_another_tenant_neither_sees_nor_collides_with_imported_projects(tenant, new_tenant):
    other = new_tenant()
    mine = tenant.admin.post("/v1/projects/import", json={"projects": [_row("shared-id")]}).json()
    theirs = other.admin.post("/v1/projects/import", json={"projects": [_row("shared-id")]}).json()
    assert mine["created"] == theirs["created"] == 1
    assert mine["projects"][0]["id"] != theirs["projects"][0]["id"]
    assert other.admin.get(f"/v1/projects/{mine['projects'][0]['id']}").status_code == 404


def _wait_for_upload(client, upload_id, timeout_s=60):
    return poll(
        lambda: client.get(f"/v1/projects/import-uploads/{upload_id}").json(),
        lambda status: status["state"] in ("succeeded", "failed"),
        timeout_s,
        0.3,
    )


def test_the_sample_csv_imports_through_a_presigned_upload(tenant, dispatcher):
    created = tenant.admin.post("/v1/projects/import-uploads", json={"file_name": "history.csv"})
    assert created.status_code == 201, created.text
    upload = created.json()
    assert upload["state"] == "awaiting_upload" and upload["id"].startswith("imp_")
    assert tenant.admin.get(f"/v1/projects/import-uploads/{upload['id']}").json()["state"] == "awaiting_upload"
    sent = requests.put(
        upload["upload"]["url"], data=SAMPLE_CSV.read_bytes(), headers=upload["upload"]["headers"], timeout=30
    )
    assert sent.status_code == 200
    status = _wait_for_upload(tenant.admin, upload["id"])
    assert status["state"] == "succeeded", status
    # the sample names artifacts the team would have: this tenant has none, so those rows are refused by name
    total_rows = sum(1 for line in SAMPLE_CSV.read_text().splitlines()[1:] if line.strip())
    assert status["rows"] == total_rows
    assert status["counts"]["created"] + status["counts"]["rejected_count"] == total_rows
    assert status["counts"]["created"] >= 1
    assert all("artifact" in e["reason"] for e in status["first_errors"])


def test_a_jsonl_upload_reports_its_bad_lines(tenant, dispatcher):
    upload = tenant.admin.post("/v1/projects/import-uploads", json={"file_name": "history.jsonl"}).json()
    lines = b'{"external_id": "j-1", "name": "J1", "problem_class": "nlp", "complexity_score": 4, "team_size": 2}\n'
    lines += b"this is not json\n"
    requests.put(upload["upload"]["url"], data=lines, headers=upload["upload"]["headers"], timeout=30)
    status = _wait_for_upload(tenant.admin, upload["id"])
    assert status["state"] == "succeeded", status
    assert status["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected_count": 1}
    assert status["first_errors"][0]["index"] == 1 and "JSON" in status["first_errors"][0]["reason"]


def test_an_unknown_import_upload_is_404_and_another_tenants_is_too(tenant, new_tenant):
    upload = tenant.admin.post("/v1/projects/import-uploads", json={"file_name": "a.csv"}).json()
    assert new_tenant().admin.get(f"/v1/projects/import-uploads/{upload['id']}").status_code == 404
    assert tenant.admin.get("/v1/projects/import-uploads/imp_0000").status_code == 404
    assert tenant.admin.post("/v1/projects/import-uploads", json={"file_name": "a.xlsx"}).status_code == 422


def test_the_retrain_counts_projects_used_and_left_out_with_the_reason(tenant, dispatcher):
    """Past outcomes recorded today without a start date are used (they ended at completed_at), a project still
    running and one that ends next year (stored before the date rules refused it) are left out and counted, as is
    an outcome stored before the start."""
    from tests.integration.conftest import wait_for_job

    past = [_row(f"past-{n}", outcome={**OUTCOME, "duration_days": 30 + n}) for n in range(3)]
    rows = [*past, _row("running"), _row("ends-later")]
    assert tenant.admin.post("/v1/projects/import", json={"projects": rows}).status_code == 200
    ends_later = next(p for p in tenant.admin.get("/v1/projects").json()["items"] if p["name"] == "Project ends-later")
    future = {**OUTCOME, "completed_at": _days_from_now(200), "success": {"score": 50}}
    _store_outcome_bypassing_the_date_rule(tenant.tenant_id, ends_later["id"], future)
    legacy = tenant.admin.post(
        "/v1/projects", json={k: v for k, v in _row("x", start_date="2023-01-01").items() if k != "external_id"}
    ).json()
    _store_outcome_bypassing_the_date_rule(tenant.tenant_id, legacy["id"], {**OUTCOME, "success": {"score": 50}})

    job = wait_for_job(tenant.admin, tenant.admin.post("/v1/models/meta/retrain").json()["id"], timeout_s=120)
    assert job["state"] == "succeeded", job
    expected = {"projects": 6, "used": 3, "left_out": {"no_outcome": 1, "not_ended": 1, "invalid": 1}}
    counted = job["detail"]["training_data"]
    assert {k: counted[k] for k in ("projects", "used")} == {"projects": 6, "used": 3}
    assert counted["left_out"] == {**expected["left_out"], "without_features": 0}
    meta = tenant.admin.get("/v1/models/meta").json()
    assert meta["training_data"]["used"] == 3 and meta["training_data"]["left_out"] == counted["left_out"]
    assert meta["basis"] == "prior"  # 3 < 40: said, with the reason, not silent


def _store_outcome_bypassing_the_date_rule(tenant_id, project_id, outcome):
    from maestro.repositories import projects as store
    from maestro.repositories.schema import Project

    project = store.get_project(tenant_id, project_id)
    store.update_project(
        project,
        [Project.outcome.set(outcome), Project.success_score.set(50), Project.status.set("completed")],
        expected_version=None,
    )
