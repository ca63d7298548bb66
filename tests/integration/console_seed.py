"""Data for the web console's browser tests, made through the API as a user would: a project with two months of
git, CI and deployment history and a team, artifacts with versions, usages and lineage."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import requests

AUTHORS = [("ada@acme.example", "Ada"), ("bob@acme.example", "Bob"), ("cy@acme.example", "Cy")]
ARTIFACTS = [
    (
        "churn-features",
        "feature_pipeline",
        "Customer churn feature pipeline: tenure, usage decay, support tickets",
        ["churn", "tabular"],
    ),
    (
        "xgb-classifier-template",
        "model_template",
        "Gradient boosted trees template for tabular classification",
        ["xgboost", "classification"],
    ),
    (
        "customer-events-schema",
        "schema",
        "Schema of customer events: id, timestamp, event type, amount",
        ["schema", "events"],
    ),
]


def _json(response: requests.Response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json()


def process_events(project_id: str, now: datetime, weeks: int = 8) -> list[dict]:
    """Commits, lines, PRs, CI runs and deploys spread over `weeks` weeks before `now`."""
    start = now - timedelta(weeks=weeks)
    events: list[dict] = []
    for n in range(weeks * 5):  # a working day each
        at = start + timedelta(days=n * 7 / 5, hours=10)
        email, name = AUTHORS[0 if n % 3 else (n // 3) % 3]
        sha = hashlib.sha1(f"{project_id}{n}".encode()).hexdigest()
        meta = {"sha": sha, "author_email": email, "author_name": name}
        events += [
            {
                "metric_type": "commits",
                "value": 1,
                "timestamp": at.isoformat(),
                "metadata": meta,
                "event_id": f"git:{sha}:commits",
            },
            {
                "metric_type": "lines_added",
                "value": 20 + 7 * (n % 5),
                "timestamp": at.isoformat(),
                "metadata": meta,
                "event_id": f"git:{sha}:lines_added",
            },
            {
                "metric_type": "lines_deleted",
                "value": 5 + 3 * (n % 4),
                "timestamp": at.isoformat(),
                "metadata": meta,
                "event_id": f"git:{sha}:lines_deleted",
            },
        ]
        run = {"name": "ci", "workflow_id": 7, "run_id": 1000 + n, "run_attempt": 1}
        ok = n % 6 != 0
        events += [
            {
                "metric_type": "pipeline_run",
                "value": 1,
                "timestamp": at.isoformat(),
                "metadata": run,
                "event_id": f"gha:{1000 + n}:1:pipeline_run",
            },
            {
                "metric_type": "pipeline_success",
                "value": int(ok),
                "timestamp": at.isoformat(),
                "metadata": run,
                "event_id": f"gha:{1000 + n}:1:pipeline_success",
            },
            {
                "metric_type": "pipeline_duration_seconds",
                "value": 240 + 30 * (n % 4),
                "timestamp": at.isoformat(),
                "metadata": run,
                "event_id": f"gha:{1000 + n}:1:pipeline_duration_seconds",
            },
        ]
        if n % 2 == 0:
            pr = {"number": n, "author_email": email}
            events += [
                {"metric_type": "pr_opened", "value": 1, "timestamp": at.isoformat(), "metadata": pr},
                {
                    "metric_type": "pr_merged",
                    "value": 1,
                    "timestamp": (at + timedelta(hours=20)).isoformat(),
                    "metadata": pr,
                },
                {
                    "metric_type": "pr_merge_hours",
                    "value": 8 + n % 30,
                    "timestamp": (at + timedelta(hours=20)).isoformat(),
                    "metadata": pr,
                },
            ]
    for week in range(weeks):
        at = start + timedelta(weeks=week, days=3, hours=15)
        failed = week % 4 == 3
        deploy = {"environment": "production", "deployment_id": week, "sha": f"{week:040x}"}
        events.append(
            {
                "metric_type": "deployment_failed" if failed else "deployment_succeeded",
                "value": 1,
                "timestamp": at.isoformat(),
                "metadata": deploy,
            }
        )
        if failed:
            events.append(
                {
                    "metric_type": "deployment_succeeded",
                    "value": 1,
                    "timestamp": (at + timedelta(hours=3)).isoformat(),
                    "metadata": {**deploy, "deployment_id": 100 + week},
                }
            )
    return [{**e, "project_id": project_id} for e in events]


def upload_version(client, artifact_id: str, version: str, content: bytes, derived_from=()) -> dict:
    declared = _json(
        client.post(
            f"/v1/artifacts/{artifact_id}/versions",
            json={
                "version": version,
                "size_bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content_type": "text/plain",
                "derived_from": list(derived_from),
            },
        ),
        201,
    )
    upload = declared["upload"]
    assert requests.put(upload["url"], data=content, headers=upload["headers"], timeout=30).status_code == 200
    return _json(client.post(f"/v1/artifacts/{artifact_id}/versions/{version}/complete"), 200, 202)


def seed_workspace(client, now: datetime | None = None) -> dict:
    """A project with history and a team, and a small artifact library used by it. Returns their ids."""
    now = now or datetime.now(UTC)
    project = _json(
        client.post(
            "/v1/projects",
            json={
                "name": "Churn prediction v2",
                "problem_class": "classification",
                "complexity_score": 6,
                "team_size": 4,
                "description": "Predict which subscribers churn next month from usage and support history",
                "start_date": (now - timedelta(weeks=8)).date().isoformat(),
            },
        ),
        201,
    )
    for display_name, role, level in [
        ("Ada", "ml_engineer", "senior"),
        ("Bob", "ml_scientist", "mid"),
        ("Cy", "data_engineer", "junior"),
    ]:
        _json(
            client.post(
                f"/v1/projects/{project['id']}/members",
                json={"display_name": display_name, "role": role, "experience_level": level, "contribution_hours": 120},
            ),
            201,
        )
    _json(client.post("/v1/metrics", json={"events": process_events(project["id"], now)}), 200)
    artifacts = {}
    for name, kind, description, tags in ARTIFACTS:
        artifacts[name] = _json(
            client.post("/v1/artifacts", json={"name": name, "type": kind, "description": description, "tags": tags}),
            201,
        )["id"]
    schema_id, features_id = artifacts["customer-events-schema"], artifacts["churn-features"]
    upload_version(client, schema_id, "1.0.0", b"id: string\ntimestamp: datetime\nevent_type: string\n")
    upload_version(
        client,
        features_id,
        "1.0.0",
        b"def features(events):\n    return events\n",
        derived_from=[{"artifact_id": schema_id, "version": "1.0.0"}],
    )
    upload_version(
        client,
        features_id,
        "1.1.0",
        b"def features(events):\n    return events.tail(90)\n",
        derived_from=[{"artifact_id": schema_id, "version": "1.0.0"}],
    )
    for artifact_id, version in [(features_id, "1.1.0"), (schema_id, "1.0.0")]:
        _json(
            client.post(
                f"/v1/artifacts/{artifact_id}/usages",
                json={"project_id": project["id"], "version": version, "context": "training data"},
            ),
            201,
        )
    return {"project_id": project["id"], "artifacts": artifacts}


PROBLEM_CLASSES = ["classification", "regression", "forecasting", "nlp", "recommendation"]


def history_rows(count: int, now: datetime) -> list[dict]:
    """`count` finished projects spread over the last four years, as rows of POST /v1/projects (with the outcome
    PUT .../outcome takes): what a team brings in when it starts."""
    rows = []
    for n in range(count):
        start = now - timedelta(days=1460 - n * (1300 // max(count, 1)))
        duration = 40 + (n * 37) % 160
        rows.append(
            {
                "name": f"History {n:02d} " + ["churn", "pricing", "demand", "search", "fraud"][n % 5],
                "problem_class": PROBLEM_CLASSES[n % len(PROBLEM_CLASSES)],
                "complexity_score": 2 + n % 8,
                "team_size": 2 + n % 7,
                "description": f"past project {n} of the team",
                "start_date": start.date().isoformat(),
                "outcome": {
                    "model_performance": round(0.6 + (n % 7) * 0.05, 2),
                    "business_impact_usd": 10_000 + 2_500 * (n % 11),
                    "duration_days": duration,
                    "compute_cost_usd": 300 + 45 * (n % 13),
                    "completed_at": (start + timedelta(days=duration)).isoformat(),
                },
            }
        )
    return rows


def seed_past_project(client, now: datetime, years_ago: float = 2.0, weeks: int = 20) -> dict:
    """A project that ended `years_ago`: `weeks` weeks of git, CI and deploy events up to its end, nothing since
    (its outcome is left for the console to record). Its whole life has data; the 90 days before today none."""
    end = now - timedelta(days=365 * years_ago)
    start = end - timedelta(weeks=weeks)
    project = _json(
        client.post(
            "/v1/projects",
            json={
                "name": "Demand forecast 2024",
                "problem_class": "forecasting",
                "complexity_score": 5,
                "team_size": 3,
                "description": "Weekly demand per store and product family, finished and shipped",
                "start_date": start.date().isoformat(),
            },
        ),
        201,
    )
    events = process_events(project["id"], end, weeks=weeks)
    for at in range(0, len(events), 500):
        _json(client.post("/v1/metrics", json={"events": events[at : at + 500]}), 200)
    return project
