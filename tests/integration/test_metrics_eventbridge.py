"""Process metrics as EventBridge custom events: rule -> SQS -> batch handler with per-record failures."""

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tenant):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "eb", "problem_class": "forecasting", "complexity_score": 5, "team_size": 2}
    ).json()["id"]
    return tenant, project_id


def _detail(tenant_id, project_id, n=3, metric_type="experiment_run"):
    return {
        "tenant_id": tenant_id,
        "project_id": project_id,
        "events": [
            {"metric_type": metric_type, "value": 1, "timestamp": f"2026-04-0{i + 1}T08:00:00Z", "metadata": {"run": i}}
            for i in range(n)
        ],
    }


def _count(tenant_id, project_id, metric_type="experiment_run"):
    from maestro.repositories import metrics as store

    return len(list(store.events_in_period(tenant_id, project_id, metric_type, None, None)))


def _wait_for(predicate, timeout_s=8.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_custom_events_flow_through_the_same_pipeline_and_replays_change_nothing(project, dispatcher):
    from maestro.aws_clients import client

    tenant, project_id = project
    entry = {
        "Source": "maestro.ingest",
        "DetailType": "ProcessMetrics",
        "Detail": json.dumps(_detail(tenant.tenant_id, project_id)),
    }
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    assert _wait_for(lambda: _count(tenant.tenant_id, project_id) == 3)
    client("events").put_events(Entries=[entry, entry])  # replays
    time.sleep(2.0)
    assert _count(tenant.tenant_id, project_id) == 3


def _record(body, message_id=None):
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "awsRegion": "us-east-1",
    }


def test_one_bad_record_fails_alone(project):
    import app
    from infra.local.dispatcher import LambdaContextStub

    tenant, project_id = project
    good = _record(json.dumps({"id": "e1", "detail": _detail(tenant.tenant_id, project_id, 2, "gpu_hours")}))
    unknown_tenant = _record(json.dumps({"id": "e2", "detail": _detail("ten_nobody", project_id)}), "bad-tenant")
    not_json = _record("{{{", "bad-json")
    with_bad_events = _record(
        json.dumps(
            {
                "id": "e3",
                "detail": {
                    "tenant_id": tenant.tenant_id,
                    "project_id": project_id,
                    "events": [{"metric_type": "gpu_hours", "value": -5, "timestamp": "2026-04-09T08:00:00Z"}],
                },
            }
        )
    )
    response = app.ingest_process_metrics(
        {"Records": [good, unknown_tenant, not_json, with_bad_events]}, LambdaContextStub("ingest_process_metrics")
    )
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["bad-json", "bad-tenant"]
    assert _count(tenant.tenant_id, project_id, "gpu_hours") == 2
    # The invalid event inside a readable record is kept with its reason, not silently dropped.
    from maestro.aws_clients import client
    from maestro.settings import get_settings

    kept = (
        client("s3")
        .get_object(Bucket=get_settings().artifact_bucket, Key=f"quarantine/eventbridge/{tenant.tenant_id}/e3.jsonl")[
            "Body"
        ]
        .read()
    )
    assert b"cannot be negative" in kept
