"""Analytics from weekly rollups on the local stack: each report route makes at most 20 DynamoDB requests (counted at
the botocore layer, the authorizer's and the throttle's included) and answers exactly what the event-based path
answers on the same data, sent out of order and with duplicates; a backfill rebuilds lost rollups idempotently."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.request_counter import aws_requests

pytestmark = pytest.mark.integration
T0 = datetime(2026, 2, 4, 13, 17, tzinfo=UTC)  # a Wednesday: the project's life starts mid-week
ROUTES = ("metrics/summary", "git", "dora", "ci", "velocity", "team-analytics")
MAX_REQUESTS = 20


def _events(seed: int) -> list[dict]:
    rng = random.Random(seed)
    at = lambda hours: (T0 + timedelta(hours=hours)).isoformat()  # noqa: E731
    events = []
    for c in range(40):
        meta = {"sha": f"{seed}{c:039x}", "author_email": f"dev{c % 3}@x.example", "files": [f"src/m{c % 5}.py"]}
        hours = c * 17 + rng.random()
        events += [
            {"metric_type": "commits", "value": 1, "timestamp": at(hours), "metadata": meta},
            {"metric_type": "lines_added", "value": 5 + c, "timestamp": at(hours), "metadata": meta},
            {"metric_type": "lines_deleted", "value": c % 4, "timestamp": at(hours), "metadata": meta},
        ]
        if c % 4 == 0:  # the same commit from a push webhook: another event, the same sha
            events.append({"metric_type": "commits", "value": 1, "timestamp": at(hours + 0.5), "metadata": meta})
    for p in range(10):
        meta = {"number": p, "author": f"dev{p % 3}", "merged_by": "dev0"}
        opened = p * 60 + rng.random() * 10
        events += [
            {"metric_type": "pr_opened", "value": 1, "timestamp": at(opened), "metadata": meta},
            {"metric_type": "pr_merged", "value": 1, "timestamp": at(opened + 4 + p), "metadata": meta},
            {"metric_type": "pr_merge_hours", "value": 4 + p, "timestamp": at(opened + 4 + p), "metadata": meta},
            {"metric_type": "reviews", "value": 1, "timestamp": at(opened + 2), "metadata": {"reviewer": "dev1"}},
        ]
    for d in range(9):
        kind = "deployment_failed" if d % 4 == 1 else "deployment_succeeded"
        meta = {"environment": "production", "deployment_id": d}
        events.append({"metric_type": kind, "value": 1, "timestamp": at(d * 75 + 20), "metadata": meta})
    for r in range(14):
        meta = {"workflow_name": "ci", "run_id": 700 + r // 2, "run_attempt": 1 + r % 2}
        success = int(r % 2 == 1 or rng.random() < 0.7)
        events += [
            {"metric_type": "pipeline_run", "value": 1, "timestamp": at(r * 45), "metadata": meta},
            {"metric_type": "pipeline_success", "value": success, "timestamp": at(r * 45), "metadata": meta},
            {"metric_type": "pipeline_duration_seconds", "value": 200 + r, "timestamp": at(r * 45), "metadata": meta},
        ]
    events += [{"metric_type": "experiment_run", "value": 1, "timestamp": at(e * 90)} for e in range(6)]
    rng.shuffle(events)  # out of order
    return events


@pytest.fixture(scope="module")
def tenant(api_url):
    from tests.integration.conftest import TenantFixture

    return TenantFixture(api_url, "Rollups")


@pytest.fixture(scope="module")
def projects(tenant):
    ids = []
    for n in range(4):  # the subject and three others: enough history for a velocity score
        project = tenant.admin.post(
            "/v1/projects",
            json={"name": f"rollups {n}", "problem_class": "regression", "complexity_score": 4, "team_size": 3},
        ).json()
        events = [{**e, "project_id": project["id"]} for e in _events(n)]
        for batch in (events[:90], events[60:], events[::5]):  # overlapping batches: replays are duplicates
            response = tenant.admin.post("/v1/metrics", json={"events": batch})
            assert response.status_code == 200, response.text
        ids.append(project["id"])
    return ids


def _answers(client, project_id: str, query: str, routes=ROUTES) -> dict[str, dict]:
    found = {}
    for route in routes:
        response = client.get(f"/v1/projects/{project_id}/{route}{query}")
        assert response.status_code == 200, (route, response.text)
        found[route] = response.json()
    return found


def test_report_routes_read_rollups_in_at_most_20_requests_and_answer_as_the_events_do(tenant, projects):
    from maestro.services import analytics

    subject = projects[0]
    for query in (
        "",  # the whole life, to now: counted only (now moves between the two answers)
        "?to=2026-04-01T00:00:00Z",  # from the project's first event (its life, found from the rollups)
        "?from=2026-02-09T06:30:00Z&to=2026-03-11T18:00:00Z",  # partial weeks at both edges
    ):
        requests = {}
        answers = {}
        for route in ROUTES:
            with aws_requests() as calls:
                response = tenant.admin.get(f"/v1/projects/{subject}/{route}{query}")
            assert response.status_code == 200, (route, response.text)
            answers[route] = response.json()
            requests[route] = calls.count("dynamodb")
            assert calls.count("dynamodb", "Query", table="process-metrics") == 0, (route, calls.summary())
        assert max(requests.values()) <= MAX_REQUESTS, requests
        if query:
            with analytics.reading_events():
                assert answers == _answers(tenant.admin, subject, query)
    assert answers["velocity"]["history_size"] == 3 and answers["velocity"]["score"] is not None
    assert answers["git"]["commits"] > 0 and answers["dora"]["deployment_frequency"]["value"] is not None


def test_a_backfill_rebuilds_lost_rollups_and_running_it_twice_changes_nothing(tenant, projects):
    from maestro.repositories.schema import MetricRollup, child_key
    from maestro.services import analytics

    subject = projects[1]
    query = "?to=2026-04-01T00:00:00Z"
    before = _answers(tenant.admin, subject, query)
    key = child_key(tenant.tenant_id, subject)
    stored = {r.rollup_key: r.facts for r in MetricRollup.query(key)}
    with MetricRollup.batch_write() as batch:  # the events predate the rollups
        for row in list(MetricRollup.query(key))[::2]:
            batch.delete(row)
    assert {r.rollup_key: r.facts for r in MetricRollup.query(key)} != stored
    for _ in range(2):
        done = analytics.backfill_rollups(tenant.tenant_id, subject)
        assert {r.rollup_key: r.facts for r in MetricRollup.query(key)} == stored
    assert done["rollups"] == len(stored)
    assert _answers(tenant.admin, subject, query) == before


def test_the_demo_history_writes_the_rollups_the_reports_read(trained_tenant):
    """make run's demo seeder (infra.local.demo_history.seed_history, which the session's trained tenant is seeded
    with) stores its events with the rollups the ingestion's builder makes of them."""
    from maestro.services import analytics

    demo, history = trained_tenant.tenant, trained_tenant.history
    project = max(history.projects, key=lambda record: len(record.metrics)).project_id
    routes = ("git", "ci", "velocity")  # the demo's types: commits, lines, CI runs, experiments
    answers = _answers(demo.admin, project, "?to=2030-01-01T00:00:00Z", routes)
    assert answers["git"]["commits"] > 0 and answers["velocity"]["history_size"] > 0
    # a demo project's name carries its id's number (proj-0007 is "… project 0007", not 0008)
    assert demo.admin.get(f"/v1/projects/{project}").json()["name"].endswith(f"project {project.removeprefix('proj-')}")
    # the figures agree with the generated history: every commit count and every merged PR (a merge time is a
    # merged PR, so merged PRs per week and the merge-time median describe the same pull requests)
    record = next(r for r in history.projects if r.project_id == project)
    merge_times = [m for m in record.metrics if m.metric_type == "pr_merge_hours"]
    assert answers["git"]["commits"] == sum(m.value for m in record.metrics if m.metric_type == "commits")
    assert answers["git"]["prs_merged"]["count"] == len(merge_times) > 0
    assert (answers["velocity"]["features"]["merged_prs_per_week"] > 0) == bool(merge_times)
    with analytics.reading_events():
        assert _answers(demo.admin, project, "?to=2030-01-01T00:00:00Z", routes) == answers


def test_velocity_compares_with_the_projects_active_in_the_same_weeks_and_leaves_out_deleted_ones(api_url):
    """A finished project is compared with the projects of its own time: a newer project whose events fall in
    other weeks is no peer, and neither is a deleted one (its rollups stay behind)."""
    from tests.integration.conftest import TenantFixture

    tenant = TenantFixture(api_url, "Peers")

    def project_with_events(name: str, seed: int, shift: timedelta) -> str:
        project = tenant.admin.post(
            "/v1/projects", json={"name": name, "problem_class": "regression", "complexity_score": 4, "team_size": 3}
        ).json()
        events = [
            {
                **e,
                "project_id": project["id"],
                "timestamp": (datetime.fromisoformat(e["timestamp"]) + shift).isoformat(),
            }
            for e in _events(seed)
            if e["metric_type"] in ("commits", "pipeline_run", "pipeline_success")
        ]
        response = tenant.admin.post("/v1/metrics", json={"events": events})
        assert response.status_code == 200, response.text
        return project["id"]

    subject = project_with_events("then", 1, timedelta(0))
    peers = [project_with_events(f"then {n}", n, timedelta(days=1)) for n in (2, 3)]
    project_with_events("later", 4, timedelta(days=200))  # newer, never active in the subject's weeks
    period = "?from=2026-02-02T00:00:00Z&to=2026-03-30T00:00:00Z"

    velocity = tenant.admin.get(f"/v1/projects/{subject}/velocity{period}").json()
    assert velocity["history_size"] == 2, velocity
    assert tenant.admin.delete(f"/v1/projects/{peers[0]}").status_code == 200
    velocity = tenant.admin.get(f"/v1/projects/{subject}/velocity{period}").json()
    assert velocity["history_size"] == 1, velocity


def test_a_week_past_the_item_budget_overflows_into_more_items_and_answers_as_the_events_do(tenant, monkeypatch):
    """DynamoDB refuses an item over 400 KB (moto does not): each rollup item counts its fact bytes and takes no
    more past ROLLUP_ITEM_BUDGET; the facts go to the shard's overflow items. With a 2 KB budget, 150 commits of
    one week fill ~20 items, none over budget; the reports, a replay and a backfill answer as the events do."""
    from maestro.domain.analytics import rollups
    from maestro.repositories import metrics as metric_store
    from maestro.repositories.schema import MetricRollup, child_key
    from maestro.services import analytics

    monkeypatch.setattr(rollups, "ROLLUP_ITEM_BUDGET", 2_000)
    monkeypatch.setattr(metric_store, "_overflow_levels", {})
    project = tenant.admin.post(
        "/v1/projects", json={"name": "busy week", "problem_class": "regression", "complexity_score": 3, "team_size": 2}
    ).json()
    week = datetime(2026, 3, 2, 8, tzinfo=UTC)  # a Monday
    events = [
        {
            "project_id": project["id"],
            "metric_type": "commits",
            "value": 1,
            "timestamp": (week + timedelta(minutes=37 * c)).isoformat(),
            "metadata": {"sha": f"{c:040x}", "author_email": f"dev{c % 4}@x.example", "files": [f"src/f{c % 9}.py"]},
        }
        for c in range(150)
    ]
    for batch in (events[:100], events[100:], events[40:70]):  # the last one: a replay
        response = tenant.admin.post("/v1/metrics", json={"events": batch})
        assert response.status_code == 200, response.text

    key = child_key(tenant.tenant_id, project["id"])
    items = [row for row in MetricRollup.query(key) if row.rollup_key.startswith("2026-03-02#commits#")]
    assert len(items) > rollups.ROLLUP_SHARDS  # overflow items were used
    assert all(row.fact_bytes <= 2_000 and rollups.fact_bytes(row.facts) <= 2_000 for row in items), [
        (r.rollup_key, r.fact_bytes, rollups.fact_bytes(r.facts), len(r.facts)) for r in items
    ]
    stored_facts = [fact for row in items for fact in row.facts]
    assert len(stored_facts) == len(set(stored_facts)) == 150  # each commit once

    query = "?from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z"
    answers = _answers(tenant.admin, project["id"], query, routes=("git", "team-analytics", "metrics/summary"))
    assert answers["git"]["commits"] == 150
    with analytics.reading_events():
        assert (
            _answers(tenant.admin, project["id"], query, routes=("git", "team-analytics", "metrics/summary")) == answers
        )

    with MetricRollup.batch_write() as batch:  # lose half the items, then backfill twice
        for row in items[::2]:
            batch.delete(row)
    for _ in range(2):
        analytics.backfill_rollups(tenant.tenant_id, project["id"])
    items = [row for row in MetricRollup.query(key) if row.rollup_key.startswith("2026-03-02#commits#")]
    assert all(rollups.fact_bytes(row.facts) <= 2_000 for row in items)
    assert {fact for row in items for fact in row.facts} == set(stored_facts)
    assert _answers(tenant.admin, project["id"], query, routes=("git", "team-analytics", "metrics/summary")) == answers


def test_a_project_stored_before_the_rollups_reads_its_events_until_its_backfill(tenant, projects):
    """A deployed tenant's project from before the rollups has events and no rollups: its reports read the events
    (same answers), other projects' velocity leaves it out, and `backfill_rollups` switches it to the rollups."""
    from maestro.repositories.schema import MetricRollup, Project, child_key
    from maestro.services import analytics

    legacy, other = projects[2], projects[0]
    query = "?to=2026-04-01T00:00:00Z"
    before = _answers(tenant.admin, legacy, query)
    peers_before = _answers(tenant.admin, other, query, routes=("velocity",))["velocity"]["history_size"]
    with MetricRollup.batch_write() as batch:
        for row in MetricRollup.query(child_key(tenant.tenant_id, legacy)):
            batch.delete(row)
    Project._get_connection().update_item(tenant.tenant_id, legacy, actions=[Project.rollups_complete.remove()])

    with aws_requests() as calls:
        assert _answers(tenant.admin, legacy, query) == before
    assert calls.count("dynamodb", "Query", table="process-metrics") > 0  # the events were read
    assert _answers(tenant.admin, other, query, routes=("velocity",))["velocity"]["history_size"] == peers_before - 1

    analytics.backfill_rollups(tenant.tenant_id, legacy)
    assert Project.get(tenant.tenant_id, legacy).rollups_complete is True
    with aws_requests() as calls:
        assert _answers(tenant.admin, legacy, query) == before
    assert calls.count("dynamodb", "Query", table="process-metrics") == 0
    assert _answers(tenant.admin, other, query, routes=("velocity",))["velocity"]["history_size"] == peers_before
