"""GitHub webhooks over HTTP with GitHub's real payloads: signatures, replays, ignored events, tenancy."""

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.integration
PAYLOADS = Path(__file__).resolve().parents[1] / "events" / "github"
SECRET = "webhook-secret-for-tests-0123456789"


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _deliver(api_url, fixture, secret=SECRET, delivery=None, signature=None, event=None):
    body = (PAYLOADS / f"{fixture}.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event or fixture.split(".")[0],
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if signature is not False:
        headers["X-Hub-Signature-256"] = signature or _sign(body, secret)
    return ApiClient(api_url).request("POST", "/v1/integrations/github/webhook", data=body, headers=headers)


def _repository(fixture):
    return json.loads((PAYLOADS / f"{fixture}.json").read_text())["repository"]["full_name"]


@pytest.fixture
def connected(tenant):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "gh", "problem_class": "other", "complexity_score": 3, "team_size": 3}
    ).json()["id"]
    response = tenant.admin.put(
        f"/v1/projects/{project_id}/integrations/github",
        json={"repository": _repository("push.merge-to-master"), "webhook_secret": SECRET},
    )
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    return tenant, project_id


def _count(tenant_id, project_id, metric_type):
    from maestro.repositories import metrics as store

    return len(list(store.events_in_period(tenant_id, project_id, metric_type, None, None)))


def test_a_signed_push_is_ingested_and_a_replayed_delivery_changes_nothing(connected, api_url):
    tenant, project_id = connected
    commits = len(json.loads((PAYLOADS / "push.merge-to-master.json").read_text())["commits"])
    delivery = str(uuid.uuid4())
    first = _deliver(api_url, "push.merge-to-master", delivery=delivery)
    assert first.status_code == 200, first.text
    assert first.json()["projects"][0]["accepted"] == 2 * commits  # commits + files_changed per commit
    assert _count(tenant.tenant_id, project_id, "commits") == commits
    replay = _deliver(api_url, "push.merge-to-master", delivery=delivery).json()
    assert replay["projects"][0] == {"project_id": project_id, "duplicate_delivery": True}
    # The same facts under a new delivery id: every event is a duplicate.
    again = _deliver(api_url, "push.merge-to-master").json()["projects"][0]
    assert (again["accepted"], again["duplicates"]) == (0, 2 * commits)
    assert _count(tenant.tenant_id, project_id, "commits") == commits


@pytest.mark.parametrize("signature", [False, "sha256=" + "0" * 64, "sha1=abc"])
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(connected, api_url, signature):
    tenant, project_id = connected
    response = _deliver(api_url, "push.merge-to-master", signature=signature)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert _count(tenant.tenant_id, project_id, "commits") == 0


def test_a_body_signed_with_another_secret_is_401(connected, api_url):
    assert _deliver(api_url, "push.merge-to-master", secret="not-the-secret-at-all-00000").status_code == 401


def test_untracked_events_answer_202_and_are_counted_as_ignored(tenant, api_url):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "gh", "problem_class": "other", "complexity_score": 3, "team_size": 3}
    ).json()["id"]
    tenant.admin.put(
        f"/v1/projects/{project_id}/integrations/github",
        json={"repository": _repository("star.created"), "webhook_secret": SECRET},
    )
    response = _deliver(api_url, "star.created")
    assert response.status_code == 202
    assert response.json()["handled"] is False and response.json()["ignored_reason"]


def test_pull_request_review_and_workflow_events(tenant, api_url):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "gh", "problem_class": "other", "complexity_score": 3, "team_size": 3}
    ).json()["id"]
    fixtures = [
        "pull_request.closed-merged",
        "pull_request_review.submitted",
        "workflow_run.completed",
        "workflow_job.completed",
        "deployment.created",
        "deployment_status.success",
        "release.published",
    ]
    for repository in {_repository(f) for f in fixtures}:
        tenant.admin.put(
            f"/v1/projects/{project_id}/integrations/github", json={"repository": repository, "webhook_secret": SECRET}
        )
    for fixture in fixtures:
        response = _deliver(api_url, fixture)
        assert response.status_code == 200, (fixture, response.text)
        assert response.json()["projects"][0]["accepted"] >= 1, fixture
    for metric_type in (
        "pr_merged",
        "reviews",
        "pipeline_run",
        "job_run",
        "deployment",
        "deployment_succeeded",
        "release",
    ):
        assert _count(tenant.tenant_id, project_id, metric_type) == 1, metric_type


def test_two_tenants_on_one_repository_each_count_only_their_own_deliveries(new_tenant, api_url):
    first, second = new_tenant(), new_tenant()
    repository = _repository("push.merge-to-master")
    projects = []
    for tenant, secret in ((first, SECRET), (second, "the-second-tenants-own-secret-42")):
        project_id = tenant.admin.post(
            "/v1/projects", json={"name": "gh", "problem_class": "other", "complexity_score": 3, "team_size": 3}
        ).json()["id"]
        tenant.admin.put(
            f"/v1/projects/{project_id}/integrations/github", json={"repository": repository, "webhook_secret": secret}
        )
        projects.append(project_id)
    assert _deliver(api_url, "push.merge-to-master").status_code == 200
    assert _count(first.tenant_id, projects[0], "commits") > 0
    assert _count(second.tenant_id, projects[1], "commits") == 0
