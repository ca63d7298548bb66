"""S3 -> EventBridge -> SQS -> local dispatcher -> the ingestion handler, on moto server, as in AWS."""

import json
import time

import pytest

pytestmark = pytest.mark.integration


def _wait_for_object(s3, bucket, key, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.05)
    return None


def test_file_dropped_under_ingest_reaches_the_handler_within_5_seconds(s3, dispatcher, tenant):
    from maestro.settings import get_settings

    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "drop", "problem_class": "nlp", "complexity_score": 2, "team_size": 2}
    ).json()["id"]
    bucket = get_settings().artifact_bucket
    body = json.dumps({"metric_type": "commits", "value": 3, "timestamp": "2026-02-01T10:00:00Z"}).encode() + b"\n"
    key = f"ingest/{tenant.tenant_id}/{project_id}/events.jsonl"
    started = time.monotonic()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    manifest = _wait_for_object(s3, bucket, key.replace("ingest/", "ingest-results/", 1) + ".json")
    elapsed = time.monotonic() - started
    assert manifest is not None, "no manifest within 5 s: the event did not reach the handler"
    assert elapsed < 5
    assert manifest["status"] == "ingested" and manifest["accepted"] == 1
    assert (manifest["tenant_id"], manifest["project_id"]) == (tenant.tenant_id, project_id)
    assert manifest["etag"] == put["ETag"].strip('"')


def test_malformed_drop_key_is_rejected_with_a_reason(s3, dispatcher):
    from maestro.settings import get_settings

    bucket = get_settings().artifact_bucket
    s3.put_object(Bucket=bucket, Key="ingest/tenant-1/orphan.jsonl", Body=b"{}\n")
    manifest = _wait_for_object(s3, bucket, "ingest-results/tenant-1/orphan.jsonl.json")
    assert manifest["status"] == "rejected"
    assert "ingest/<tenant_id>/<project_id>" in manifest["reason"]


def test_objects_outside_ingest_are_not_delivered(s3, dispatcher):
    from maestro.settings import get_settings

    bucket = get_settings().artifact_bucket
    s3.put_object(Bucket=bucket, Key="elsewhere/tenant-1/a/1.0.0", Body=b"x")
    time.sleep(1.5)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="ingest-results/").get("Contents", [])
    assert not any("elsewhere" in o["Key"] for o in listed)
