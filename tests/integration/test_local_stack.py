"""The local stack on moto server: resources exist as the platform needs them, and health reports them."""

import pytest
import requests

pytestmark = pytest.mark.integration


def test_health_is_ok_with_version_and_dependencies(api_url):
    response = requests.get(f"{api_url}/v1/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["dependencies"]["dynamodb"]["ok"] and body["dependencies"]["s3"]["ok"]
    assert response.headers["X-Request-Id"]


def test_health_is_503_naming_the_dependency_that_is_down(local_stack, monkeypatch):
    """S3 unreachable (the bucket is gone from this endpoint's view): 503 problem+json naming s3 only."""
    from chalice.test import Client

    import app
    from maestro.settings import reset_settings

    monkeypatch.setenv("MAESTRO_ARTIFACT_BUCKET", "maestro-test-no-such-bucket")
    reset_settings()
    try:
        with Client(app.app, stage_name="test") as client:
            response = client.http.get("/v1/health")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json_body
    assert body["detail"] == "unreachable: s3"
    assert body["dependencies"]["dynamodb"]["ok"] is True
    assert body["dependencies"]["s3"]["ok"] is False


def test_health_is_503_when_the_endpoint_itself_is_down(local_stack, monkeypatch):
    from chalice.test import Client

    import app
    from infra.local.moto_server import free_port
    from maestro.aws_clients import reset_clients
    from maestro.settings import reset_settings

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    reset_settings()
    reset_clients()
    try:
        with Client(app.app, stage_name="test") as client:
            response = client.http.get("/v1/health")
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_clients()
    assert response.status_code == 503
    assert set(response.json_body["detail"].removeprefix("unreachable: ").split(", ")) == {"dynamodb", "s3"}


def test_artifact_bucket_is_versioned_encrypted_and_private(s3, local_stack):
    from maestro.settings import get_settings

    bucket = get_settings().artifact_bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    # EventBridge notifications: moto does not echo EventBridgeConfiguration back from
    # get_bucket_notification_configuration, so test_event_delivery.py proves them by delivering an event.


def test_bootstrap_is_idempotent(local_stack):
    import app
    from infra.local.bootstrap import bootstrap
    from maestro.settings import get_settings

    assert bootstrap(get_settings(), app.app) == local_stack


def test_required_secrets_exist_and_are_marked_local_only(local_stack):
    from maestro.secrets import LOCAL_ONLY_MARKER, REQUIRED_SECRETS, get_secret_json

    for name in REQUIRED_SECRETS:
        assert get_secret_json(name)[LOCAL_ONLY_MARKER] is True
