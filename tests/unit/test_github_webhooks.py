"""GitHub webhooks: the signature check and the metric events of GitHub's real payloads (tests/events/github, whose
README names where each one comes from). Values are read from the fixtures, never restated."""

import copy
import hashlib
import hmac
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maestro.domain.errors import InvalidInput
from maestro.domain.metrics import BUILT_IN_TYPES, normalise, parse_timestamp
from maestro.ingestion import github
from maestro.ingestion.formats import parse_workflow_runs
from maestro.ingestion.github import events_from_webhook, repository_full_name, verify_signature

FIXTURES = Path(__file__).resolve().parents[1] / "events" / "github"
ALL_FIXTURES = sorted(path.name[: -len(".json")] for path in FIXTURES.glob("*.json"))
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # after every fixture's timestamps
SECRET = b"project-webhook-secret"


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict:
    return json.loads(body(name))


def event_name(fixture: str) -> str:
    return fixture.split(".", 1)[0]


def deliver(fixture: str, delivery_id: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958", data: dict | None = None):
    return events_from_webhook(event_name(fixture), delivery_id, payload(fixture) if data is None else data)


def of_type(result, metric_type: str) -> list[dict]:
    return [event for event in result.events if event["metric_type"] == metric_type]


def only(result, metric_type: str) -> dict:
    (event,) = of_type(result, metric_type)
    return event


def stored_keys(result) -> set[str]:
    return {
        normalise(raw, project_id="p1", custom_types={}, source="github", now=NOW).metric_key for raw in result.events
    }


def sign(secret: bytes, data: bytes) -> str:
    return "sha256=" + hmac.new(secret, data, hashlib.sha256).hexdigest()


# --- X-Hub-Signature-256 ----------------------------------------------------------------------------------------


def test_githubs_documented_test_vector_verifies():
    # https://docs.github.com/webhooks/securing ("Validating webhook deliveries", testing the webhook payload)
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_signature(b"It's a Secret to Everybody", b"Hello, World!", header)


def test_signature_of_the_raw_body_with_the_projects_secret_verifies():
    raw = body("pull_request.closed-merged")
    assert verify_signature(SECRET, raw, sign(SECRET, raw))
    assert verify_signature(SECRET, raw, sign(SECRET, raw).upper().replace("SHA256=", "sha256="))


def test_signature_made_with_another_secret_is_refused():
    raw = body("push.merge-to-master")
    assert not verify_signature(SECRET, raw, sign(b"another-projects-secret", raw))


def test_tampered_body_is_refused():
    raw = body("pull_request.closed-merged")
    header = sign(SECRET, raw)
    tampered = raw.replace(b'"additions": 6', b'"additions": 600')
    assert tampered != raw
    assert not verify_signature(SECRET, tampered, header)
    # the same JSON re-serialised is not the body GitHub signed either
    assert not verify_signature(SECRET, json.dumps(json.loads(raw)).encode(), header)


def test_missing_signature_is_refused():
    raw = body("ping")
    assert not verify_signature(SECRET, raw, None)
    assert not verify_signature(SECRET, raw, "")


@pytest.mark.parametrize(
    "header",
    [
        "sha1=" + hmac.new(SECRET, body("ping"), hashlib.sha1).hexdigest(),  # the legacy X-Hub-Signature
        hmac.new(SECRET, body("ping"), hashlib.sha256).hexdigest(),  # no algorithm prefix
        "sha256=" + "zz" * 32,  # not hex
        sign(SECRET, body("ping"))[:-1],  # 63 hex digits
        sign(SECRET, body("ping")) + "00",  # 66 hex digits
        sign(SECRET, body("ping")) + ",sha256=00",
        "sha512=" + hashlib.sha512(body("ping")).hexdigest(),
        "sha256 " + hmac.new(SECRET, body("ping"), hashlib.sha256).hexdigest(),
    ],
)
def test_malformed_signature_headers_are_refused(header):
    assert not verify_signature(SECRET, body("ping"), header)


def test_an_empty_secret_never_verifies():
    raw = body("ping")
    assert not verify_signature(b"", raw, sign(b"", raw))


def test_signature_is_compared_in_constant_time(monkeypatch):
    calls = []
    real_compare = hmac.compare_digest

    def recording_compare(a, b):
        calls.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(github.hmac, "compare_digest", recording_compare)
    raw = body("push.new-branch")
    assert verify_signature(SECRET, raw, sign(SECRET, raw))
    assert not verify_signature(SECRET, raw, sign(b"wrong", raw))
    assert len(calls) == 2
    assert calls[0][0] == hmac.new(SECRET, raw, hashlib.sha256).digest()


# --- the repository that selects the project --------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_repository_full_name_is_the_payloads_repository(fixture):
    data = payload(fixture)
    assert repository_full_name(data) == data["repository"]["full_name"]


def test_repository_full_name_is_none_without_a_repository():
    data = payload("ping")
    del data["repository"]
    assert repository_full_name(data) is None
    assert repository_full_name({"repository": None}) is None
    assert repository_full_name([]) is None


# --- events of each delivery ------------------------------------------------------------------------------------


def test_ping_is_handled_without_events():
    result = deliver("ping")
    assert result.handled and result.events == [] and result.ignored_reason is None


@pytest.mark.parametrize("fixture", ["push.merge-to-master", "push.new-branch"])
def test_push_counts_each_commit_and_its_files(fixture):
    data = payload(fixture)
    result = deliver(fixture)
    assert result.handled
    commits, files = of_type(result, "commits"), of_type(result, "files_changed")
    assert len(commits) == len(files) == len(data["commits"])
    for commit, commit_event, files_event in zip(data["commits"], commits, files, strict=False):
        assert commit_event["value"] == 1
        assert files_event["value"] == len(commit["added"]) + len(commit["removed"]) + len(commit["modified"])
        for event in (commit_event, files_event):
            assert event["timestamp"] == commit["timestamp"]
            assert event["event_id"] == f"git:{commit['id']}:{event['metric_type']}"
            meta = event["metadata"]
            assert meta["sha"] == commit["id"]
            assert (meta["author_name"], meta["author_email"], meta["author_username"]) == (
                commit["author"]["name"],
                commit["author"]["email"],
                commit["author"]["username"],
            )
            assert meta["branch"] == data["ref"].removeprefix("refs/heads/")
            assert meta["distinct"] == commit["distinct"]
            assert (meta["files_added"], meta["files_removed"], meta["files_modified"]) == (
                len(commit["added"]),
                len(commit["removed"]),
                len(commit["modified"]),
            )


def test_push_commit_times_keep_their_zone_and_store_in_utc():
    data = payload("push.merge-to-master")
    first = of_type(deliver("push.merge-to-master"), "commits")[0]
    stored = normalise(first, project_id="p1", custom_types={}, source="github", now=NOW)
    assert stored.timestamp == parse_timestamp(data["commits"][0]["timestamp"])
    assert stored.timestamp.utcoffset().total_seconds() == 0


def test_push_carries_no_line_counts():
    types = {event["metric_type"] for event in deliver("push.merge-to-master").events}
    assert types == {"commits", "files_changed"}


def test_push_that_deletes_a_tag_has_no_commits():
    data = payload("push.tag-deleted")
    assert data["deleted"] and data["commits"] == []
    result = deliver("push.tag-deleted")
    assert result.handled and result.events == []


def test_opened_pull_request_counts_once_at_its_creation():
    pr = payload("pull_request.opened")["pull_request"]
    event = only(deliver("pull_request.opened"), "pr_opened")
    assert event["value"] == 1 and event["timestamp"] == pr["created_at"]
    assert event["metadata"]["number"] == pr["number"] and event["metadata"]["author"] == pr["user"]["login"]


def test_merged_pull_request_reports_merge_time_and_size():
    pr = payload("pull_request.closed-merged")["pull_request"]
    assert pr["merged"] is True
    result = deliver("pull_request.closed-merged")
    assert {event["metric_type"] for event in result.events} == {
        "pr_merged",
        "pr_merge_hours",
        "pr_additions",
        "pr_deletions",
        "pr_changed_files",
    }
    hours = (parse_timestamp(pr["merged_at"]) - parse_timestamp(pr["created_at"])).total_seconds() / 3600
    assert only(result, "pr_merged")["value"] == 1
    assert only(result, "pr_merge_hours")["value"] == pytest.approx(hours)
    assert only(result, "pr_additions")["value"] == pr["additions"]
    assert only(result, "pr_deletions")["value"] == pr["deletions"]
    assert only(result, "pr_changed_files")["value"] == pr["changed_files"]
    assert {event["timestamp"] for event in result.events} == {pr["merged_at"]}
    meta = only(result, "pr_merged")["metadata"]
    assert meta["merge_commit_sha"] == pr["merge_commit_sha"] and meta["merged_by"] == pr["merged_by"]["login"]


def test_merged_pull_request_links_to_its_merge_commit_in_the_push():
    # Both captures are of one real merge: the PR's merge commit is the push's head commit.
    merge_sha = only(deliver("pull_request.closed-merged"), "pr_merged")["metadata"]["merge_commit_sha"]
    pushed = {event["metadata"]["sha"] for event in of_type(deliver("push.merge-to-master"), "commits")}
    assert merge_sha == payload("push.merge-to-master")["head_commit"]["id"] and merge_sha in pushed


def test_pull_request_closed_without_merge_counts_a_close():
    pr = payload("pull_request.closed-unmerged")["pull_request"]
    assert pr["merged"] is False
    result = deliver("pull_request.closed-unmerged")
    assert [event["metric_type"] for event in result.events] == ["pr_closed"]
    assert result.events[0]["timestamp"] == pr["closed_at"]


@pytest.mark.parametrize("action", ["synchronize", "labeled", "reopened", "edited"])
def test_other_pull_request_actions_are_ignored(action):
    data = payload("pull_request.opened")
    data["action"] = action  # the mapping reads only the action of an otherwise real payload
    result = deliver("pull_request.opened", data=data)
    assert not result.handled and result.events == [] and action in result.ignored_reason


def test_submitted_review_counts_with_its_reviewer_and_state():
    data = payload("pull_request_review.submitted")
    event = only(deliver("pull_request_review.submitted"), "reviews")
    assert event["value"] == 1 and event["timestamp"] == data["review"]["submitted_at"]
    meta = event["metadata"]
    assert meta["state"] == data["review"]["state"]
    assert meta["reviewer"] == data["review"]["user"]["login"]
    assert meta["pr_number"] == data["pull_request"]["number"]


def test_completed_workflow_run_reports_attempt_duration_and_verdict():
    run = payload("workflow_run.completed")["workflow_run"]
    result = deliver("workflow_run.completed")
    assert only(result, "pipeline_run")["value"] == 1
    assert only(result, "pipeline_attempt")["value"] == run["run_attempt"]
    duration = (parse_timestamp(run["updated_at"]) - parse_timestamp(run["run_started_at"])).total_seconds()
    assert only(result, "pipeline_duration_seconds")["value"] == duration
    assert only(result, "pipeline_success")["value"] == (1 if run["conclusion"] == "success" else 0)
    for event in result.events:
        assert event["event_id"] == f"gha:{run['id']}:{run['run_attempt']}:{event['metric_type']}"
        assert event["source"] == "github"
        assert event["metadata"]["workflow_name"] == payload("workflow_run.completed")["workflow"]["name"]


def test_completed_workflow_run_is_the_same_fact_as_in_a_workflow_runs_drop():
    run = payload("workflow_run.completed")["workflow_run"]
    listing = json.dumps({"total_count": 1, "workflow_runs": [run]}).encode()
    dropped = [event for _, event in parse_workflow_runs(io.BytesIO(listing))]
    assert stored_keys(deliver("workflow_run.completed")) == {
        normalise(raw, project_id="p1", custom_types={}, source="github_actions", now=NOW).metric_key for raw in dropped
    }


@pytest.mark.parametrize("fixture", ["workflow_job.completed", "workflow_job.completed-failure"])
def test_completed_workflow_job_reports_duration_and_verdict(fixture):
    job = payload(fixture)["workflow_job"]
    result = deliver(fixture)
    assert only(result, "job_run")["value"] == 1
    duration = (parse_timestamp(job["completed_at"]) - parse_timestamp(job["started_at"])).total_seconds()
    assert only(result, "job_duration_seconds")["value"] == duration
    assert only(result, "job_success")["value"] == (1 if job["conclusion"] == "success" else 0)
    for event in result.events:
        assert event["timestamp"] == job["started_at"]
        meta = event["metadata"]
        assert meta["run_attempt"] == job.get("run_attempt")  # absent from the older failure payload
        assert meta["workflow_name"] == job.get("workflow_name")
        assert (meta["job_name"], meta["run_id"]) == (job["name"], job["run_id"])


def test_created_deployment_counts_with_environment_and_sha():
    deployment = payload("deployment.created")["deployment"]
    event = only(deliver("deployment.created"), "deployment")
    assert event["value"] == 1 and event["timestamp"] == deployment["created_at"]
    meta = event["metadata"]
    assert (meta["environment"], meta["sha"], meta["ref"], meta["deployment_id"]) == (
        deployment["environment"],
        deployment["sha"],
        deployment["ref"],
        deployment["id"],
    )


@pytest.mark.parametrize(
    "fixture, metric_type",
    [("deployment_status.success", "deployment_succeeded"), ("deployment_status.failure", "deployment_failed")],
)
def test_deployment_outcome_carries_the_deployed_sha(fixture, metric_type):
    data = payload(fixture)
    result = deliver(fixture)
    assert [event["metric_type"] for event in result.events] == [metric_type]
    event = result.events[0]
    assert event["timestamp"] == data["deployment_status"]["created_at"]
    meta = event["metadata"]
    assert meta["sha"] == data["deployment"]["sha"]
    assert meta["deployment_id"] == data["deployment"]["id"]
    assert meta["state"] == data["deployment_status"]["state"]
    assert meta["environment"] == data["deployment_status"]["environment"]


def test_published_release_counts_with_its_tag():
    release = payload("release.published")["release"]
    event = only(deliver("release.published"), "release")
    assert event["value"] == 1 and event["timestamp"] == release["published_at"]
    assert event["metadata"]["tag_name"] == release["tag_name"]
    assert event["metadata"]["prerelease"] == release["prerelease"]


@pytest.mark.parametrize(
    "fixture, why",
    [
        ("workflow_run.requested", "requested"),
        ("workflow_job.queued", "queued"),
        ("deployment_status.in_progress", "in_progress"),
    ],
)
def test_tracked_events_that_state_no_outcome_yet_are_ignored(fixture, why):
    result = deliver(fixture)
    assert not result.handled and result.events == [] and why in result.ignored_reason


@pytest.mark.parametrize("name", ["star", "issues", "check_suite", "fork"])
def test_event_types_we_do_not_track_are_ignored(name):
    result = events_from_webhook(name, "d-1", payload("star.created"))
    assert not result.handled and result.events == [] and result.ignored_reason == github.NOT_TRACKED


# --- properties of every delivery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_every_event_normalises_into_its_built_in_type(fixture):
    for raw in deliver(fixture).events:
        stored = normalise(raw, project_id="p1", custom_types={}, source="github", now=NOW)
        assert stored.unit == BUILT_IN_TYPES[raw["metric_type"]]
        assert stored.event_id == raw["event_id"]


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_every_event_names_its_source_delivery_and_repository(fixture):
    repository = payload(fixture)["repository"]["full_name"]
    for event in deliver(fixture, delivery_id="d-42").events:
        assert event["source"] == "github"
        assert event["metadata"]["delivery_id"] == "d-42"
        assert event["metadata"]["repository"] == repository


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_a_redelivery_stores_under_the_same_keys(fixture):
    first = deliver(fixture, delivery_id="c1a4a600-1234-11ea-8a4d-000000000001")
    again = deliver(fixture, delivery_id="c1a4a600-1234-11ea-8a4d-000000000001")
    redelivered = deliver(fixture, delivery_id="5e7b3c00-5678-11ea-9b2e-000000000002")
    assert [e["event_id"] for e in first.events] == [e["event_id"] for e in again.events]
    assert [e["event_id"] for e in first.events] == [e["event_id"] for e in redelivered.events]
    assert stored_keys(first) == stored_keys(redelivered)
    assert len(stored_keys(first)) == len(first.events)  # no two facts of one delivery share a key


def test_handled_deliveries_name_no_reason_and_ignored_ones_do():
    for fixture in ALL_FIXTURES:
        result = deliver(fixture)
        assert (result.ignored_reason is None) == result.handled, fixture


# --- payloads that do not carry what their events need ------------------------------------------------------------


def test_a_tracked_event_without_its_object_is_invalid_input():
    data = payload("pull_request.opened")
    del data["pull_request"]
    with pytest.raises(InvalidInput):
        deliver("pull_request.opened", data=data)


def test_a_tracked_event_with_an_unreadable_time_is_invalid_input():
    data = copy.deepcopy(payload("push.merge-to-master"))
    data["commits"][0]["timestamp"] = "2019-11-02 13:56:20"  # no zone
    with pytest.raises(InvalidInput):
        deliver("push.merge-to-master", data=data)


def test_a_payload_that_is_not_an_object_is_invalid_input():
    with pytest.raises(InvalidInput):
        events_from_webhook("push", "d-1", [payload("push.new-branch")])
