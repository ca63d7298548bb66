"""Artifact versions over HTTP, with real bytes through the presigned URLs and the S3 object-created events
delivered by the local dispatcher: verification (ready or rejected with the reason), immutability and the
integrity flag, downloads pinned to the verified object, lineage in both directions, tenant isolation,
storage accounting and Idempotency-Key."""

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration

OCTETS = "application/octet-stream"


def _artifact(client, artifact_type="model"):
    response = client.post("/v1/artifacts", json={"name": f"artifact {uuid.uuid4().hex[:8]}", "type": artifact_type})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _declaration(data: bytes, version="1.0.0", **overrides):
    return {
        "version": version,
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": OCTETS,
        **overrides,
    }


def _declare(client, artifact_id, data: bytes, version="1.0.0", **overrides):
    response = client.post(f"/v1/artifacts/{artifact_id}/versions", json=_declaration(data, version, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def _upload(created, data: bytes, exact_length=True):
    headers = dict(created["upload"]["headers"])
    if not exact_length:
        headers.pop("Content-Length")  # let requests say how many bytes really go
    response = requests.put(created["upload"]["url"], data=data, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def _settled(client, artifact_id, version, timeout_s=5.0, until=lambda v: v["status"] != "pending"):
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get(f"/v1/artifacts/{artifact_id}/versions/{version}").json()
        if until(view) or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def _published(client, data: bytes, version="1.0.0", artifact_id=None, **overrides):
    """An artifact version uploaded for real and verified by the platform."""
    artifact_id = artifact_id or _artifact(client)
    _upload(_declare(client, artifact_id, data, version, **overrides), data)
    view = _settled(client, artifact_id, version)
    assert view["status"] == "ready", view
    return artifact_id


def _stored_bytes(tenant):
    return tenant.admin.get("/v1/tenant").json()["quotas"]["stored_bytes"]["used"]


# ---------------------------------------------------------------- the full path
def test_an_upload_through_the_presigned_url_becomes_ready_and_downloads_the_same_bytes(tenant, dispatcher):
    data = b"model weights " * 1000
    artifact_id = _artifact(tenant.admin)
    before = datetime.now(UTC)
    response = tenant.admin.post(
        f"/v1/artifacts/{artifact_id}/versions", json=_declaration(data, description="first cut")
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v1/artifacts/{artifact_id}/versions/1.0.0"
    created = response.json()
    assert created["id"] == created["version"] == "1.0.0" and created["status"] == "pending"
    assert created["integrity"] == "unverified" and created["verified_at"] is None
    upload = created["upload"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == {
        "Content-Type": OCTETS,
        "Content-Length": str(len(data)),
        "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
    }
    expires = datetime.fromisoformat(upload["expires_at"])
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=15, seconds=5)

    _upload(created, data)
    ready = _settled(tenant.admin, artifact_id, "1.0.0")
    assert ready["status"] == "ready" and ready["integrity"] == "intact" and ready["status_reason"] is None
    assert ready["verified_at"] is not None and ready["description"] == "first cut"

    download = tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/download")
    assert download.status_code == 200, download.text
    link = download.json()
    assert link["method"] == "GET" and link["sha256"] == hashlib.sha256(data).hexdigest()
    assert timedelta(minutes=4) < datetime.fromisoformat(link["expires_at"]) - before <= timedelta(minutes=6)
    fetched = requests.get(link["url"], timeout=30)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["Content-Type"] == OCTETS
    # an attachment (a browser saves it rather than leaving the console for it), named after the artifact
    name = tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["name"]
    assert fetched.headers["Content-Disposition"] == f'attachment; filename="{name.replace(" ", "_")}-1.0.0"'

    artifact = tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()
    assert artifact["version_count"] == 1 and artifact["latest_version"] == "1.0.0"
    audit = tenant.admin.get("/v1/audit", params={"limit": 100}).json()["items"]
    by_action = {e["action"]: e for e in audit}
    assert by_action["artifact.version_create"]["actor"].startswith("user:")
    assert by_action["artifact.version_verified"]["actor"] == "system"
    assert by_action["artifact.version_verified"]["resource_id"] == artifact_id
    assert by_action["artifact.download_url"]["changes"]["after"]["version"] == "1.0.0"


def test_bytes_that_differ_from_the_declared_sha256_are_rejected(tenant, dispatcher):
    artifact_id = _artifact(tenant.admin)
    created = _declare(tenant.admin, artifact_id, b"0123456789")
    _upload(created, b"9876543210")  # same length, other bytes: moto does not enforce the signed checksum
    view = _settled(tenant.admin, artifact_id, "1.0.0")
    assert view["status"] == "rejected" and view["status_reason"] == "sha256 mismatch"
    body = problem(tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/download"), 409)
    assert "rejected" in body["detail"] and "sha256 mismatch" in body["detail"]
    audit = tenant.admin.get("/v1/audit", params={"action": "artifact.version_rejected"}).json()["items"]
    assert audit[0]["actor"] == "system" and audit[0]["changes"]["after"]["status_reason"] == "sha256 mismatch"


def test_more_bytes_than_declared_are_rejected_for_their_size(tenant, dispatcher):
    artifact_id = _artifact(tenant.admin)
    created = _declare(tenant.admin, artifact_id, b"0123456789")
    _upload(created, b"0123456789ab", exact_length=False)
    view = _settled(tenant.admin, artifact_id, "1.0.0")
    assert view["status"] == "rejected" and view["status_reason"] == "size 12 does not match declared 10"
    assert _stored_bytes(tenant) == 0


def test_a_declared_size_over_5_gib_is_refused(tenant):
    artifact_id = _artifact(tenant.admin)
    body = problem(
        tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions", json=_declaration(b"x", size_bytes=5 * 1024**3 + 1)),
        422,
    )
    error = next(e for e in body["errors"] if e["field"] == "size_bytes")
    assert "5 GiB" in error["message"]


@pytest.mark.parametrize(
    "field, value",
    [("version", "1.0"), ("version", "v1.0.0"), ("sha256", "abc"), ("content_type", "binary"), ("size_bytes", 0)],
)
def test_a_malformed_declaration_is_422_naming_the_field(tenant, field, value):
    artifact_id = _artifact(tenant.admin)
    body = problem(
        tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions", json=_declaration(b"x", **{field: value})), 422
    )
    assert [e["field"] for e in body["errors"]] == [field]


def test_the_same_version_twice_is_409(tenant):
    artifact_id = _artifact(tenant.admin)
    _declare(tenant.admin, artifact_id, b"one")
    body = problem(tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions", json=_declaration(b"two")), 409)
    assert "immutable" in body["detail"]
    assert (
        tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0").json()["sha256"]
        == hashlib.sha256(b"one").hexdigest()
    )


def test_downloading_a_pending_version_is_409_saying_its_status(tenant):
    artifact_id = _artifact(tenant.admin)
    _declare(tenant.admin, artifact_id, b"not yet")
    body = problem(tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/download"), 409)
    assert body["version_status"] == "pending" and "pending" in body["detail"]


# ---------------------------------------------------------------- complete
def test_complete_verifies_right_after_the_upload_and_counts_the_bytes_once(tenant, dispatcher):
    data = b"a" * 4096
    artifact_id = _artifact(tenant.admin)
    created = _declare(tenant.admin, artifact_id, data)
    assert problem(tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete"), 404)["detail"].startswith(
        "no object uploaded yet"
    )
    _upload(created, data)
    completed = tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete")
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "ready"
    time.sleep(0.5)  # the object-created event for the same upload arrives too, and must change nothing
    again = tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete")
    assert again.status_code == 200 and again.json() == completed.json()
    assert _stored_bytes(tenant) == len(data)
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["version_count"] == 1
    verified = tenant.admin.get("/v1/audit", params={"action": "artifact.version_verified"}).json()["items"]
    assert len(verified) == 1


def test_complete_rejects_a_mismatch_with_the_reason(tenant):
    artifact_id = _artifact(tenant.admin)
    created = _declare(tenant.admin, artifact_id, b"expected")
    _upload(created, b"EXPECTED")
    completed = tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete").json()
    assert completed["status"] == "rejected" and completed["status_reason"] == "sha256 mismatch"


def test_complete_leaves_an_object_too_large_for_one_request_to_the_event(tenant, dispatcher, monkeypatch):
    from maestro.domain import artifact_versions as rules
    from maestro.services import artifact_versions

    data = b"large enough" * 10
    artifact_id = _artifact(tenant.admin)
    created = _declare(tenant.admin, artifact_id, data)
    monkeypatch.setattr(rules, "SYNC_VERIFY_MAX_BYTES", len(data) - 1)
    monkeypatch.setattr(artifact_versions, "object_landed", lambda *args: "ignored")  # hold the event back
    _upload(created, data)
    deferred = tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete")
    assert deferred.status_code == 202 and deferred.json()["status"] == "pending"
    monkeypatch.undo()
    assert tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete").json()["status"] == "ready"


# ---------------------------------------------------------------- immutability
def test_an_object_overwritten_after_ready_is_flagged_and_downloads_keep_the_verified_bytes(tenant, dispatcher, s3):
    from maestro.settings import get_settings

    data = b"verified bytes"
    artifact_id = _published(tenant.admin, data)
    s3.put_object(
        Bucket=get_settings().artifact_bucket,
        Key=f"artifacts/{tenant.tenant_id}/{artifact_id}/1.0.0",
        Body=b"tampered bytes",
    )
    view = _settled(tenant.admin, artifact_id, "1.0.0", until=lambda v: v["integrity"] != "intact")
    assert view["integrity"] == "changed" and view["status"] == "ready"
    link = tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/download").json()
    assert link["integrity"] == "changed"
    assert requests.get(link["url"], timeout=30).content == data
    # the event handler flags the version, then appends the audit event: wait for the second write too
    deadline = time.monotonic() + 5.0
    while True:
        flagged = tenant.admin.get("/v1/audit", params={"action": "artifact.version_integrity_changed"}).json()["items"]
        if flagged or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(flagged) == 1 and flagged[0]["actor"] == "system"


def test_the_s3_event_as_aws_sends_it_is_understood(tenant, dispatcher):
    """AWS writes `etag`, `version-id` and URL-encodes the key (`+` as %2B); moto writes `eTag` and the raw key."""
    from functions.artifact_versions import handle_artifact_object_created
    from maestro.settings import get_settings

    data, version = b"build metadata", "1.0.0+build.7"
    artifact_id = _artifact(tenant.admin)
    put = _upload(_declare(tenant.admin, artifact_id, data, version), data)
    key = f"artifacts/{tenant.tenant_id}/{artifact_id}/1.0.0%2Bbuild.7"
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-26T10:15:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "version": "0",
            "bucket": {"name": get_settings().artifact_bucket},
            "object": {
                "key": key,
                "size": len(data),
                "etag": put.headers["ETag"].strip('"'),
                "version-id": put.headers["x-amz-version-id"],
                "sequencer": "0",
            },
            "request-id": "R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }
    handled = handle_artifact_object_created(event)
    assert handled["object_version_id"] == put.headers["x-amz-version-id"]
    assert handled["outcome"] in ("ready", "unchanged")  # "unchanged" when moto's own event got there first
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/{version}").json()["status"] == "ready"
    assert handle_artifact_object_created(event)["outcome"] == "unchanged"  # a replay changes nothing
    assert _stored_bytes(tenant) == len(data)
    for stray in ("artifacts/nobody/art_x/1.0.0", "artifacts/not-a-version-key"):
        event["detail"]["object"]["key"] = stray
        assert handle_artifact_object_created(event)["outcome"] == "ignored"


# ---------------------------------------------------------------- listing and lineage
def test_versions_page_with_cursors_and_latest_follows_semver(tenant, dispatcher):
    artifact_id = _artifact(tenant.admin)
    for version in ("1.9.0", "1.10.0", "1.10.0-rc.1"):
        _published(tenant.admin, version.encode(), version, artifact_id=artifact_id)
    seen, cursor = [], None
    while True:
        page = tenant.admin.get(
            f"/v1/artifacts/{artifact_id}/versions", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        assert len(page["items"]) <= 2
        seen += [v["version"] for v in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["1.10.0", "1.10.0-rc.1", "1.9.0"]
    artifact = tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()
    assert artifact["version_count"] == 3 and artifact["latest_version"] == "1.10.0"


def _child(client, artifact_id, version, *parents):
    return _declare(
        client,
        artifact_id,
        f"{artifact_id}@{version}".encode(),
        version,
        derived_from=[{"artifact_id": a, "version": v} for a, v in parents],
    )


def _nodes(lineage, direction):
    return [(n["artifact_id"], n["version"], n["depth"]) for n in lineage[direction]]


def test_lineage_walks_both_directions_version_by_version_within_the_depth(tenant):
    client = tenant.admin
    data, features, model, report = (_artifact(client, t) for t in ("dataset", "feature_pipeline", "model", "notebook"))
    _declare(client, data, b"d1", "1.0.0")
    _declare(client, data, b"d2", "2.0.0")
    _child(client, features, "1.0.0", (data, "1.0.0"))
    _child(client, features, "2.0.0", (data, "2.0.0"))
    _child(client, model, "1.0.0", (features, "2.0.0"))
    _child(client, report, "1.0.0", (model, "1.0.0"))

    from_model = client.get(f"/v1/artifacts/{model}/lineage").json()
    assert from_model["id"] == model and from_model["truncated"] is False
    assert _nodes(from_model, "upstream") == [(features, "2.0.0", 1), (data, "2.0.0", 2)]  # not data 1.0.0
    assert _nodes(from_model, "downstream") == [(report, "1.0.0", 1)]
    assert from_model["upstream"][0]["type"] == "feature_pipeline" and from_model["upstream"][0]["name"]

    from_data = client.get(f"/v1/artifacts/{data}/lineage").json()
    assert from_data["upstream"] == []
    assert sorted(_nodes(from_data, "downstream")) == sorted(
        [(features, "1.0.0", 1), (features, "2.0.0", 1), (model, "1.0.0", 2), (report, "1.0.0", 3)]
    )
    shallow = client.get(f"/v1/artifacts/{data}/lineage", params={"depth": 2}).json()
    assert (report, "1.0.0", 3) not in _nodes(shallow, "downstream") and len(shallow["downstream"]) == 3
    for depth in ("0", "6", "deep"):
        answer = problem(client.get(f"/v1/artifacts/{data}/lineage", params={"depth": depth}), 422)
        assert [error["field"] for error in answer["errors"]] == ["depth"]


def test_derived_from_must_name_the_tenants_own_existing_versions(new_tenant):
    victim, intruder = new_tenant(), new_tenant()
    victim_artifact = _artifact(victim.admin)
    _declare(victim.admin, victim_artifact, b"secret")
    mine = _artifact(intruder.admin)
    body = problem(
        intruder.admin.post(
            f"/v1/artifacts/{mine}/versions",
            json=_declaration(b"x", derived_from=[{"artifact_id": victim_artifact, "version": "1.0.0"}]),
        ),
        404,
    )
    assert victim_artifact in body["detail"]
    other = _artifact(intruder.admin)
    body = problem(
        intruder.admin.post(
            f"/v1/artifacts/{mine}/versions",
            json=_declaration(b"x", derived_from=[{"artifact_id": other, "version": "3.0.0"}]),
        ),
        404,
    )
    assert "3.0.0" in body["detail"] and other in body["detail"]
    problem(
        intruder.admin.post(
            f"/v1/artifacts/{mine}/versions",
            json=_declaration(b"x", derived_from=[{"artifact_id": mine, "version": "1.0.0"}]),
        ),
        422,
    )  # itself
    assert intruder.admin.get(f"/v1/artifacts/{mine}/versions").json()["items"] == []


# ---------------------------------------------------------------- tenants
def test_a_second_tenant_cannot_see_download_or_complete_the_first_tenants_versions(new_tenant, dispatcher):
    victim, intruder = new_tenant(), new_tenant()
    artifact_id = _published(victim.admin, b"victim bytes")
    base = f"/v1/artifacts/{artifact_id}"
    for method, path in (
        ("GET", "/versions"),
        ("GET", "/versions/1.0.0"),
        ("GET", "/versions/1.0.0/download"),
        ("POST", "/versions/1.0.0/complete"),
        ("GET", "/lineage"),
    ):
        problem(intruder.admin.request(method, base + path), 404)
    problem(intruder.admin.post(f"{base}/versions", json=_declaration(b"x", version="2.0.0")), 404)
    assert [v["version"] for v in victim.admin.get(f"{base}/versions").json()["items"]] == ["1.0.0"]


def test_stored_bytes_grow_by_the_size_of_each_ready_version(tenant, dispatcher):
    assert _stored_bytes(tenant) == 0
    artifact_id = _published(tenant.admin, b"x" * 1000)
    _published(tenant.admin, b"y" * 234, "1.1.0", artifact_id=artifact_id)
    assert _stored_bytes(tenant) == 1234


def test_a_declaration_that_cannot_fit_the_storage_quota_is_refused(tenant):
    from maestro.repositories.schema import Tenant
    from maestro.repositories.tables import ensure_bound

    ensure_bound()
    Tenant(tenant.tenant_id).update(actions=[Tenant.quota_overrides.set({"stored_bytes": 100})])  # an operator's
    artifact_id = _artifact(tenant.admin)
    body = problem(tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions", json=_declaration(b"x" * 101)), 403)
    assert body["quota"] == "stored_bytes" and body["limit"] == 100
    _declare(tenant.admin, artifact_id, b"x" * 100)


def test_a_retried_create_with_the_same_idempotency_key_returns_the_same_upload(tenant):
    artifact_id = _artifact(tenant.admin)
    key, declaration = str(uuid.uuid4()), _declaration(b"idempotent")
    path = f"/v1/artifacts/{artifact_id}/versions"
    first = tenant.admin.post(path, json=declaration, headers={"Idempotency-Key": key})
    again = tenant.admin.post(path, json=declaration, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.json()["upload"]["url"] == first.json()["upload"]["url"]
    assert first.headers["Idempotent-Replayed"] == "false" and again.headers["Idempotent-Replayed"] == "true"
    problem(tenant.admin.post(path, json=declaration), 409)  # without the key it is a second create
    created = tenant.admin.get("/v1/audit", params={"action": "artifact.version_create"}).json()["items"]
    assert len([e for e in created if e["outcome"] == "success"]) == 1
