"""Analytics over HTTP, computed from events stored through the real sources."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration
PROJECT_DIR = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
PERIOD = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-30T00:00:00Z"}


def _at(hours):
    return (T0 + timedelta(hours=hours)).isoformat()


@pytest.fixture
def history(tenant):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "analytics", "problem_class": "regression", "complexity_score": 5, "team_size": 3}
    ).json()["id"]
    events = []
    for n in range(8):  # 8 commits over 4 weeks by two authors, 10 lines each
        author = "ada@x.example" if n % 4 else "bob@x.example"
        meta = {"sha": f"{n:040x}", "author_email": author, "author_name": author.split("@")[0]}
        events += [
            {
                "metric_type": "commits",
                "value": 1,
                "timestamp": _at(n * 80),
                "metadata": meta,
                "event_id": f"git:{n:040x}:commits",
            },
            {
                "metric_type": "lines_added",
                "value": 10,
                "timestamp": _at(n * 80),
                "metadata": meta,
                "event_id": f"git:{n:040x}:lines_added",
            },
        ]
    for n in range(4):  # weekly production deploys, one failure restored 2 h later
        ok = n != 2
        deploy = {"environment": "production", "deployment_id": n, "sha": f"{2 * n:040x}"}
        events.append(
            {
                "metric_type": "deployment_succeeded" if ok else "deployment_failed",
                "value": 1,
                "timestamp": _at(n * 168 + 24),
                "metadata": deploy,
            }
        )
        if not ok:
            events.append(
                {
                    "metric_type": "deployment_succeeded",
                    "value": 1,
                    "timestamp": _at(n * 168 + 26),
                    "metadata": {**deploy, "deployment_id": 99},
                }
            )
    for n, (conclusion, attempt) in enumerate([("failure", 1), ("success", 2), ("success", 1)]):
        run = {"name": "ci", "workflow_id": 7, "run_id": 500 if n < 2 else 501, "run_attempt": attempt}
        events += [
            {
                "metric_type": "pipeline_run",
                "value": 1,
                "timestamp": _at(n * 5),
                "metadata": run,
                "event_id": f"gha:{run['run_id']}:{attempt}:pipeline_run",
            },
            {
                "metric_type": "pipeline_success",
                "value": int(conclusion == "success"),
                "timestamp": _at(n * 5),
                "metadata": run,
                "event_id": f"gha:{run['run_id']}:{attempt}:pipeline_success",
            },
            {
                "metric_type": "pipeline_duration_seconds",
                "value": 60 * (n + 1),
                "timestamp": _at(n * 5),
                "metadata": run,
                "event_id": f"gha:{run['run_id']}:{attempt}:pipeline_duration_seconds",
            },
        ]
    response = tenant.admin.post("/v1/metrics", json={"events": [{**e, "project_id": project_id} for e in events]})
    assert response.status_code == 200, response.text
    return tenant, project_id


def test_time_series_buckets_by_week(history):
    tenant, project_id = history
    body = tenant.admin.get(
        f"/v1/projects/{project_id}/metrics", params={"type": "commits", "bucket": "week", **PERIOD}
    ).json()
    # commits every 80 h from Monday 09:00: the third lands on the next Monday 01:00
    assert [p["count"] for p in body["points"]] == [2, 3, 2, 1]
    problem(tenant.admin.get(f"/v1/projects/{project_id}/metrics", params={"type": "commits", "bucket": "hour"}), 422)
    problem(
        tenant.admin.get(f"/v1/projects/{project_id}/metrics", params={"type": "commits", "from": "2026-03-02"}), 422
    )


def test_summary_git_dora_ci(history):
    tenant, project_id = history
    summary = tenant.admin.get(f"/v1/projects/{project_id}/metrics/summary", params=PERIOD).json()
    assert summary["types"]["commits"]["count"] == 8
    git = tenant.admin.get(f"/v1/projects/{project_id}/git", params=PERIOD).json()
    assert (git["commits"], git["active_contributors"], git["lines_added"]) == (8, 2, 80)
    assert git["bus_factor"] == 1  # ada made 6 of the 8 commits
    dora = tenant.admin.get(f"/v1/projects/{project_id}/dora", params=PERIOD).json()
    assert dora["change_failure_rate"]["value"] == pytest.approx(1 / 5)
    assert dora["time_to_restore"]["value"] == pytest.approx(2.0)
    assert dora["deployment_frequency"]["band"] in ("high", "elite", "medium")
    ci = tenant.admin.get(f"/v1/projects/{project_id}/ci", params=PERIOD).json()
    assert ci["pipeline_runs"] == 3
    assert [f["workflow"] for f in ci["flaky_workflows"]] == ["ci"]


def test_velocity_and_team_analytics(history):
    tenant, project_id = history
    velocity = tenant.admin.get(f"/v1/projects/{project_id}/velocity", params=PERIOD).json()
    assert velocity["basis"] == "insufficient_history" and velocity["score"] is None
    assert velocity["components"] or velocity["features"]
    team = tenant.admin.get(f"/v1/projects/{project_id}/team-analytics", params=PERIOD).json()
    assert {c["contributor"] for c in team["contributors"]} >= {"ada@x.example", "bob@x.example"}
    ids = {r["id"] for r in team["recommendations"]}
    assert "spread_knowledge" in ids
    spread = next(r for r in team["recommendations"] if r["id"] == "spread_knowledge")
    assert spread["evidence"]["bus_factor"] == 1


def test_analytics_of_another_tenants_project_are_404(history, new_tenant):
    _, project_id = history
    intruder = new_tenant()
    for path in ("git", "dora", "ci", "velocity", "team-analytics", "metrics/summary"):
        problem(intruder.admin.get(f"/v1/projects/{project_id}/{path}"), 404)


ANALYTICS_ROUTES = ("metrics/summary", "git", "dora", "ci", "velocity", "team-analytics")


def _period_of(body):
    period = body["period"]
    return period.get("start") or period.get("from"), period.get("end") or period.get("to")


def test_every_route_defaults_to_the_projects_whole_life_even_over_15_years(tenant):
    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "old repo", "problem_class": "other", "complexity_score": 5, "team_size": 2}
    ).json()["id"]
    moments = [datetime(2010, 6, 1, tzinfo=UTC) + timedelta(days=200 * n) for n in range(28)]  # to 2025
    events = [
        {
            "project_id": project_id,
            "metric_type": "commits",
            "value": 1,
            "timestamp": at.isoformat(),
            "metadata": {"sha": f"{n:040x}", "author_email": "ada@x.example"},
            "event_id": f"git:{n:040x}:commits",
        }
        for n, at in enumerate(moments)
    ]
    assert tenant.admin.post("/v1/metrics", json={"events": events}).status_code == 200
    for route in ANALYTICS_ROUTES:
        answer = tenant.admin.get(f"/v1/projects/{project_id}/{route}")
        assert answer.status_code == 200, f"{route}: {answer.text}"
        start, end = _period_of(answer.json())
        assert start.startswith("2010-06-01"), route  # the first event: the project has no start_date
        assert datetime.fromisoformat(end) > datetime.now(UTC) - timedelta(minutes=5), route  # running: until now
    git = tenant.admin.get(f"/v1/projects/{project_id}/git").json()
    assert git["commits"] == 28
    assert git["bucket"] == "month" and git["commit_series"]["bucket"] == "month"
    assert sum(p["commits"] for p in git["commit_series"]["points"]) == 28
    assert len(git["commit_series"]["points"]) <= 400 and git["commits_per_week"]["weeks"] == []
    series = tenant.admin.get(f"/v1/projects/{project_id}/metrics", params={"type": "commits", "bucket": "day"})
    assert series.status_code == 200, series.text
    assert series.json()["bucket"] == "month" and len(series.json()["points"]) <= 400
    assert sum(p["count"] for p in series.json()["points"]) == 28
    fifteen_years = {"from": "2010-01-01T00:00:00Z", "to": "2025-12-31T00:00:00Z"}
    assert tenant.admin.get(f"/v1/projects/{project_id}/git", params=fifteen_years).json()["commits"] == 28
    one_month = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}
    short = tenant.admin.get(f"/v1/projects/{project_id}/metrics", params={"type": "commits", **one_month}).json()
    assert short["bucket"] == "day" and len(short["points"]) == 31


def test_a_finished_projects_life_ends_at_its_outcome(tenant):
    imported = tenant.admin.post(
        "/v1/projects/import",
        json={
            "projects": [
                {
                    "external_id": "done-2021",
                    "name": "done",
                    "problem_class": "nlp",
                    "complexity_score": 4,
                    "team_size": 2,
                    "start_date": "2021-01-04",
                    "outcome": {
                        "model_performance": 0.7,
                        "business_impact_usd": 1000,
                        "duration_days": 80,
                        "compute_cost_usd": 10,
                        "completed_at": "2021-03-25T00:00:00Z",
                    },
                }
            ]
        },
    ).json()
    project_id = imported["projects"][0]["id"]
    for route in ANALYTICS_ROUTES:
        start, end = _period_of(tenant.admin.get(f"/v1/projects/{project_id}/{route}").json())
        assert (start[:10], end[:10]) == ("2021-01-04", "2021-03-25"), route
