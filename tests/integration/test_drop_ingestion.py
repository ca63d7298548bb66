"""S3 drops end to end on moto: presigned upload -> S3 event -> dispatcher -> format parser -> pipeline ->
quarantine and manifest. Every format, a malformed file, and replays that change nothing."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[1] / "events" / "ingest"
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tenant):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "drops", "problem_class": "classification", "complexity_score": 5, "team_size": 4}
    ).json()["id"]
    return tenant, project_id


def _upload(tenant, project_id, file_name, body: bytes, content_type=None):
    created = tenant.admin.post(
        f"/v1/projects/{project_id}/ingest-uploads",
        json={"file_name": file_name, **({"content_type": content_type} if content_type else {})},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    put = requests.put(upload["upload"]["url"], data=body, headers=upload["upload"]["headers"], timeout=30)
    assert put.status_code == 200, put.text
    return upload


def _manifest(s3, key, timeout_s=15.0, after=None):
    from maestro.settings import get_settings

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            manifest = json.loads(s3.get_object(Bucket=get_settings().artifact_bucket, Key=key)["Body"].read())
            if after is None or manifest["started_at"] > after:
                return manifest
        except s3.exceptions.NoSuchKey:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no manifest at {key}")


def _count(tenant_id, project_id, metric_type):
    from maestro.repositories import metrics as store

    return len(list(store.events_in_period(tenant_id, project_id, metric_type, None, None)))


def _replay(s3, key):
    """Deliver the same object again: a copy onto itself raises a fresh object-created event."""
    from maestro.settings import get_settings

    bucket = get_settings().artifact_bucket
    previous = json.loads(
        s3.get_object(Bucket=bucket, Key=key.replace("ingest/", "ingest-results/", 1) + ".json")["Body"].read()
    )
    s3.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        MetadataDirective="REPLACE",
        Metadata={"replay": "1"},
    )
    return previous["started_at"]


def test_a_malformed_jsonl_quarantines_bad_lines_and_keeps_the_rest(project, dispatcher, s3):
    tenant, project_id = project
    lines = [
        json.dumps({"metric_type": "commits", "value": 1, "timestamp": f"2026-05-0{d}T09:00:00Z"}) for d in range(1, 8)
    ]
    lines.insert(2, "{not json")
    lines.insert(5, json.dumps({"metric_type": "commits", "value": -1, "timestamp": "2026-05-09T09:00:00Z"}))
    lines.insert(7, json.dumps([1, 2]))
    upload = _upload(tenant, project_id, "events.jsonl", ("\n".join(lines) + "\n").encode())
    manifest = _manifest(s3, upload["result_key"])
    assert (manifest["status"], manifest["accepted"], manifest["rejected"], manifest["duplicates"]) == (
        "ingested",
        7,
        3,
        0,
    )
    assert [e["index"] for e in manifest["first_errors"]] == [3, 6, 8]
    from maestro.settings import get_settings

    quarantined = [
        json.loads(line)
        for line in s3.get_object(Bucket=get_settings().artifact_bucket, Key=manifest["quarantine_key"])["Body"]
        .read()
        .splitlines()
    ]
    assert [q["line"] for q in quarantined] == [3, 6, 8] and all(q["reason"] for q in quarantined)
    assert _count(tenant.tenant_id, project_id, "commits") == 7
    # Replaying the same object changes no count.
    after = _replay(s3, upload["key"])
    again = _manifest(s3, upload["result_key"], after=after)
    assert (again["accepted"], again["duplicates"]) == (0, 7)
    assert _count(tenant.tenant_id, project_id, "commits") == 7


def test_a_presigned_put_with_urllibs_default_content_type_stores_the_exact_bytes(project, dispatcher, s3):
    """urllib sends `application/x-www-form-urlencoded` when given a body and no type; the local stack once stored
    an empty object for it (200) and the drop was ingested as "0 accepted"."""
    import urllib.request

    from maestro.settings import get_settings

    tenant, project_id = project
    body = "".join(
        json.dumps({"metric_type": "commits", "value": 1, "timestamp": f"2026-06-0{d}T09:00:00Z"}) + "\n"
        for d in range(1, 6)
    ).encode()
    upload = tenant.admin.post(f"/v1/projects/{project_id}/ingest-uploads", json={"file_name": "events.jsonl"}).json()
    request = urllib.request.Request(upload["upload"]["url"], data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert request.get_header("Content-type") == "application/x-www-form-urlencoded"
    stored = s3.get_object(Bucket=get_settings().artifact_bucket, Key=upload["key"])
    assert stored["Body"].read() == body
    manifest = _manifest(s3, upload["result_key"])
    assert (manifest["status"], manifest["accepted"], manifest["rejected"]) == ("ingested", 5, 0)
    assert _count(tenant.tenant_id, project_id, "commits") == 5


def test_the_git_log_of_this_repository_matches_what_git_reports(project, dispatcher, s3):
    tenant, project_id = project
    log = subprocess.run(
        ["git", "log", "--numstat", "--date=iso-strict"], cwd=PROJECT_DIR, capture_output=True, check=True
    ).stdout
    expected_commits = int(
        subprocess.run(
            ["git", "rev-list", "--count", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
        ).stdout
    )
    numstat = subprocess.run(
        ["git", "log", "--numstat", "--format="], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    added = sum(int(line.split("\t")[0]) for line in numstat.splitlines() if line and line[0].isdigit())
    upload = _upload(tenant, project_id, "history.gitlog", log)
    manifest = _manifest(s3, upload["result_key"], timeout_s=60)
    assert manifest["rejected"] == 0, manifest["first_errors"]
    from maestro.repositories import metrics as store

    assert _count(tenant.tenant_id, project_id, "commits") == expected_commits
    stored_added = sum(r.value for r in store.events_in_period(tenant.tenant_id, project_id, "lines_added", None, None))
    assert stored_added == added


def test_junit_and_workflow_runs_drops(project, dispatcher, s3):
    tenant, project_id = project
    junit = _upload(tenant, project_id, "report.xml", (EVENTS / "junit_pytest.xml").read_bytes())
    runs = _upload(tenant, project_id, "runs.json", (EVENTS / "workflow_runs.json").read_bytes())
    junit_manifest = _manifest(s3, junit["result_key"])
    runs_manifest = _manifest(s3, runs["result_key"])
    assert junit_manifest["format"] == "junit" and junit_manifest["accepted"] > 0
    assert runs_manifest["format"] == "workflow_runs" and runs_manifest["accepted"] > 0
    assert _count(tenant.tenant_id, project_id, "tests") >= 1
    assert _count(tenant.tenant_id, project_id, "pipeline_run") == len(
        json.loads((EVENTS / "workflow_runs.json").read_text())["workflow_runs"]
    )


def test_an_xml_bomb_is_refused_not_expanded(project, dispatcher, s3):
    tenant, project_id = project
    upload = _upload(tenant, project_id, "bomb.xml", (EVENTS / "junit_billion_laughs.xml").read_bytes())
    manifest = _manifest(s3, upload["result_key"])
    assert manifest["accepted"] == 0 and manifest["rejected"] == 1


def test_an_unknown_format_is_rejected_with_a_reason(project, dispatcher, s3):
    tenant, project_id = project
    upload = _upload(tenant, project_id, "notes.txt", b"hello")
    manifest = _manifest(s3, upload["result_key"])
    assert manifest["status"] == "rejected" and "unknown format" in manifest["reason"]


def test_uploads_only_into_the_callers_own_project(new_tenant):
    victim, intruder = new_tenant(), new_tenant()
    project_id = victim.admin.post(
        "/v1/projects", json={"name": "v", "problem_class": "nlp", "complexity_score": 2, "team_size": 2}
    ).json()["id"]
    assert (
        intruder.admin.post(f"/v1/projects/{project_id}/ingest-uploads", json={"file_name": "x.jsonl"}).status_code
        == 404
    )


def test_a_drop_reports_back_through_its_upload_id(project, dispatcher, new_tenant):
    tenant, project_id = project
    created = tenant.admin.post(f"/v1/projects/{project_id}/ingest-uploads", json={"file_name": "events.jsonl"})
    upload = created.json()
    assert "/" not in upload["id"] and upload["key"].endswith(upload["id"])
    path = f"/v1/projects/{project_id}/ingest-uploads/{upload['id']}"
    assert tenant.admin.get(path).json() | {"manifest": None} == {
        "id": upload["id"],
        "project_id": project_id,
        "key": upload["key"],
        "state": "awaiting_upload",
        "manifest": None,
    }
    good = {"project_id": project_id, "metric_type": "commits", "value": 2, "timestamp": "2024-03-01T10:00:00Z"}
    body = (json.dumps(good) + "\n" + "not json\n").encode()
    requests.put(upload["upload"]["url"], data=body, headers=upload["upload"]["headers"], timeout=30)
    deadline = time.monotonic() + 15
    while (state := tenant.admin.get(path).json())["state"] in ("awaiting_upload", "processing"):
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["state"] == "ingested"
    manifest = state["manifest"]
    assert (manifest["accepted"], manifest["duplicates"], manifest["rejected"]) == (1, 0, 1)
    assert manifest["first_errors"][0]["index"] == 2
    assert new_tenant().admin.get(path).status_code == 404
    assert tenant.admin.get(f"/v1/projects/{project_id}/ingest-uploads/..%2Fx").status_code == 404
