"""GitHub webhooks (`POST /v1/integrations/github/webhook`): the signature check and the mapping of a delivery to raw
metric events, in the shape `maestro.domain.metrics.normalise` takes (the caller adds the project). Pure: no AWS.

Exactly-once. Every event id is derived from GitHub's own ids, never from the delivery, and every timestamp is a
time the payload states, so a redelivered webhook (same payload, new `X-GitHub-Delivery`) and the same fact arriving
in two deliveries (a commit in a push to a branch and again in the push that merges it) produce the same
`metric_type#timestamp#event_id` key and are stored once. Two ids are shared with the S3 drop zone
(`maestro.ingestion.formats`) on purpose. Workflow runs are `gha:<run id>:<attempt>:<metric_type>`, computed by the
same function as a workflow-runs drop, so a run seen both ways is stored once. Commits are `git:<sha>:<metric_type>`,
as in a `.gitlog` drop; the two share a stored key when the push's commit time is the time the log printed.

Events (`events_from_webhook`); anything not listed is `handled=False` with the reason:

* `ping`: handled, no events.
* `push`: per commit, `commits` (1) and `files_changed` (added + removed + modified paths), stamped with the
  commit's timestamp. A push carries no line counts: `lines_added`/`lines_deleted` come from a `.gitlog` drop or,
  per pull request, from `pr_additions`/`pr_deletions`.
* `pull_request`: `opened` -> `pr_opened`; `closed` and merged -> `pr_merged`, `pr_merge_hours` (created to
  merged), `pr_additions`, `pr_deletions`, `pr_changed_files`, stamped with `merged_at`; `closed` unmerged ->
  `pr_closed`.
* `pull_request_review` `submitted` -> `reviews`.
* `workflow_run` `completed` -> `pipeline_run`, `pipeline_attempt`, `pipeline_duration_seconds` and, for a run with
  a verdict (success, failure, timed_out, startup_failure), `pipeline_success`.
* `workflow_job` `completed` -> `job_run`, `job_duration_seconds` and, with a verdict, `job_success`.
* `deployment` `created` -> `deployment`; `deployment_status` `created` in state `success` ->
  `deployment_succeeded`, in `failure` or `error` -> `deployment_failed` (pending/queued/in_progress are not
  outcomes and are ignored).
* `release` `published` -> `release`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from maestro.domain.errors import InvalidInput
from maestro.domain.metrics import BUILT_IN_TYPES, MetricRejected, parse_timestamp

# One derivation of a workflow run's facts for the webhook and the workflow-runs drop, so their ids agree.
from maestro.ingestion.formats import SUCCESS_BY_CONCLUSION, run_events

SOURCE = "github"
SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-GitHub-Delivery"
EVENT_HEADER = "X-GitHub-Event"
NOT_TRACKED = "event type not tracked"

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_FAILED_DEPLOYMENT_STATES = ("failure", "error")


@dataclass(frozen=True)
class WebhookResult:
    """What one delivery means: `handled` is False for event types and actions we do not track (the route answers
    202 and counts them as ignored); `events` are raw metric events for the ingestion pipeline."""

    handled: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored_reason: str | None = None


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only when `header` is `sha256=<hex>` of HMAC-SHA256(secret, body), compared in constant time. A missing
    or malformed header, or an empty secret, never verifies."""
    if not secret or not isinstance(header, str):
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))


def repository_full_name(payload: Any) -> str | None:
    """`owner/name` of the repository a delivery is about (which selects the project and its secret), if any."""
    repository = payload.get("repository") if isinstance(payload, dict) else None
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return name if isinstance(name, str) and name else None


def events_from_webhook(event_name: str, delivery_id: str, payload: dict[str, Any]) -> WebhookResult:
    """The raw metric events of one verified delivery (see the module docstring). Raises InvalidInput when a tracked
    event lacks a field its events need."""
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook payload must be a JSON object")
    tracked = _TRACKED.get(event_name)
    if tracked is None:
        return WebhookResult(False, ignored_reason=NOT_TRACKED)
    actions, mapper = tracked
    action = payload.get("action")
    if actions and action not in actions:
        return WebhookResult(False, ignored_reason=f"{event_name} action {action!r} not tracked")
    context = {"delivery_id": delivery_id, "repository": repository_full_name(payload)}
    try:
        return WebhookResult(True, mapper(payload, context))
    except _Ignored as ignored:
        return WebhookResult(False, ignored_reason=str(ignored))


class _Ignored(Exception):
    """A tracked action whose payload states no fact we count (say, a deployment still in progress)."""


def _ping(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def _push(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    ref = payload.get("ref")
    branch = ref[len("refs/heads/") :] if isinstance(ref, str) and ref.startswith("refs/heads/") else None
    commits = payload.get("commits") or []  # empty when a branch or tag is deleted
    if not isinstance(commits, list):
        raise InvalidInput("push: commits must be a list")
    events = []
    for commit in commits:
        sha = _required(commit, "id", "push commit")
        timestamp = _timestamp(commit, "timestamp", f"push commit {sha}")
        author = _part(commit, "author")
        added, removed, modified = (len(commit.get(key) or []) for key in ("added", "removed", "modified"))
        metadata = {
            **context,
            "sha": sha,
            "ref": ref,
            "branch": branch,
            "distinct": commit.get("distinct"),
            "author_name": author.get("name"),
            "author_email": author.get("email"),
            "author_username": author.get("username"),
            "files_added": added,
            "files_removed": removed,
            "files_modified": modified,
        }
        for metric_type, value in (("commits", 1), ("files_changed", added + removed + modified)):
            events.append(_event(f"git:{sha}:{metric_type}", metric_type, value, timestamp, metadata))
    return events


def _pull_request(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    pr, pr_id = _fact(payload, "pull_request")
    metadata = {
        **context,
        "pr_id": pr_id,
        "number": pr.get("number"),
        "author": _part(pr, "user").get("login"),
        "base_ref": _part(pr, "base").get("ref"),
        "head_ref": _part(pr, "head").get("ref"),
        "head_sha": _part(pr, "head").get("sha"),
        "merge_commit_sha": pr.get("merge_commit_sha"),
        "draft": pr.get("draft"),
    }
    values: list[tuple[str, float]]
    if payload["action"] == "opened":
        values, timestamp = [("pr_opened", 1)], _timestamp(pr, "created_at", "pull_request")
    elif not pr.get("merged"):
        values, timestamp = [("pr_closed", 1)], _timestamp(pr, "closed_at", "pull_request")
    else:
        timestamp = _timestamp(pr, "merged_at", "pull_request")
        opened = _moment(_timestamp(pr, "created_at", "pull_request"))
        hours = max(0.0, (_moment(timestamp) - opened).total_seconds() / 3600)
        values = [("pr_merged", 1), ("pr_merge_hours", hours)]
        values += [
            (f"pr_{key}", _count(pr, key, "pull_request")) for key in ("additions", "deletions", "changed_files")
        ]
        metadata["merged_by"] = _part(pr, "merged_by").get("login")
    return [
        _event(f"gh:pr:{pr_id}:{metric_type}", metric_type, value, timestamp, metadata) for metric_type, value in values
    ]


def _pull_request_review(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    review, review_id = _fact(payload, "review")
    pr = _part(payload, "pull_request")
    metadata = {
        **context,
        "review_id": review_id,
        "state": review.get("state"),
        "reviewer": _part(review, "user").get("login"),
        "pr_number": pr.get("number"),
        "pr_id": pr.get("id"),
        "commit_id": review.get("commit_id"),
    }
    submitted_at = _timestamp(review, "submitted_at", "review")
    return [_event(f"gh:review:{review_id}:reviews", "reviews", 1, submitted_at, metadata)]


def _workflow_run(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    run, run_id = _fact(payload, "workflow_run")
    try:
        events = run_events(run)
    except ValueError as malformed:
        raise InvalidInput(f"workflow_run: {malformed}") from None
    extra = {
        **context,
        "run_id": run_id,
        "run_attempt": run.get("run_attempt", 1),
        "workflow_name": _part(payload, "workflow").get("name") or run.get("name"),
    }
    return [{**event, "source": SOURCE, "metadata": {**event["metadata"], **extra}} for event in events]


def _workflow_job(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    job, job_id = _fact(payload, "workflow_job")
    started_at = _timestamp(job, "started_at", "workflow_job")
    completed_at = _timestamp(job, "completed_at", "workflow_job")
    conclusion = job.get("conclusion")
    values = [
        ("job_run", 1),
        ("job_duration_seconds", max(0.0, (_moment(completed_at) - _moment(started_at)).total_seconds())),
    ]
    if conclusion in SUCCESS_BY_CONCLUSION:  # a cancelled or skipped job has no verdict, as for runs
        values.append(("job_success", SUCCESS_BY_CONCLUSION[conclusion]))
    metadata = {
        **context,
        "job_id": job_id,
        "job_name": job.get("name"),
        "run_id": job.get("run_id"),
        "run_attempt": job.get("run_attempt"),
        "workflow_name": job.get("workflow_name"),
        "conclusion": conclusion,
        "head_sha": job.get("head_sha"),
        "head_branch": job.get("head_branch"),
    }
    # A re-run gets new job ids, so the job id alone is stable (older payloads carry no run_attempt).
    return [
        _event(f"gh:job:{job_id}:{metric_type}", metric_type, value, started_at, metadata)
        for metric_type, value in values
    ]


def _deployment(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    deployment, deployment_id = _fact(payload, "deployment")
    created_at = _timestamp(deployment, "created_at", "deployment")
    return [
        _event(
            f"gh:deployment:{deployment_id}:deployment",
            "deployment",
            1,
            created_at,
            {**context, **_deployment_metadata(deployment)},
        )
    ]


def _deployment_status(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    status, status_id = _fact(payload, "deployment_status")
    state = status.get("state")
    if state == "success":
        metric_type = "deployment_succeeded"
    elif state in _FAILED_DEPLOYMENT_STATES:
        metric_type = "deployment_failed"
    else:
        raise _Ignored(f"deployment_status state {state!r} is not an outcome")
    deployment = _part(payload, "deployment")
    metadata = {
        **context,
        **_deployment_metadata(deployment),
        "status_id": status_id,
        "state": state,
        "environment": status.get("environment") or deployment.get("environment"),
    }
    created_at = _timestamp(status, "created_at", "deployment_status")
    return [_event(f"gh:deployment_status:{status_id}:{metric_type}", metric_type, 1, created_at, metadata)]


def _deployment_metadata(deployment: dict[str, Any]) -> dict[str, Any]:
    # The deployed sha is what DORA lead time joins to the commits.
    return {
        "deployment_id": deployment.get("id"),
        "environment": deployment.get("environment"),
        "sha": deployment.get("sha"),
        "ref": deployment.get("ref"),
        "task": deployment.get("task"),
    }


def _release(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    release, release_id = _fact(payload, "release")
    metadata = {
        **context,
        "release_id": release_id,
        "tag_name": release.get("tag_name"),
        "prerelease": release.get("prerelease"),
        "target_commitish": release.get("target_commitish"),
    }
    published_at = _timestamp(release, "published_at", "release")
    return [_event(f"gh:release:{release_id}:release", "release", 1, published_at, metadata)]


# Event type -> (the actions we count, or () for events without one; the mapper of a tracked delivery).
_TRACKED: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]]]] = {
    "ping": ((), _ping),
    "push": ((), _push),
    "pull_request": (("opened", "closed"), _pull_request),
    "pull_request_review": (("submitted",), _pull_request_review),
    "workflow_run": (("completed",), _workflow_run),
    "workflow_job": (("completed",), _workflow_job),
    "deployment": (("created",), _deployment),
    "deployment_status": (("created",), _deployment_status),
    "release": (("published",), _release),
}


def _event(event_id: str, metric_type: str, value: float, timestamp: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "metric_type": metric_type,
        "value": value,
        "unit": BUILT_IN_TYPES[metric_type],
        "timestamp": timestamp,
        "source": SOURCE,
        "metadata": dict(metadata),
    }


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _fact(payload: dict[str, Any], key: str) -> tuple[dict[str, Any], Any]:
    """The object a delivery is about (the pull request, the run...) and GitHub's id for it."""
    value = payload.get(key)
    if not isinstance(value, dict):
        raise InvalidInput(f"{key} is required")
    return value, _required(value, "id", key)


def _required(obj: Any, key: str, where: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None or isinstance(value, bool) or value == "":
        raise InvalidInput(f"{where}: {key} is required")
    return value


def _count(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{where}: {key} must be a count")
    return value


def _timestamp(obj: dict[str, Any], key: str, where: str) -> str:
    """The payload's own time, as GitHub wrote it, after checking it parses with a zone."""
    raw = obj.get(key)
    _moment(raw, f"{where}: {key}")
    return cast(str, raw)  # _moment accepted it, and a JSON payload's only accepted form is an ISO 8601 string


def _moment(raw: Any, what: str = "time") -> datetime:
    try:
        return parse_timestamp(raw)
    except MetricRejected as bad:
        raise InvalidInput(f"{what}: {bad.reason}") from None
