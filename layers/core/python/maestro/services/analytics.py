"""Analytics use cases: read a project's events for a period and hand them to maestro.domain.analytics.

The reports read the project's weekly rollups (maestro.domain.analytics.rollups): one paged Query over the weeks
of the period (with the reports' look-back), not one Query per event type over every event, and velocity compares
with the other projects through one paged Query of the tenant's week index. The rollups rebuild the very events the
event table holds, so the answers are the same figure for figure (tests/integration/test_analytics_rollups.py);
A project stored before the rollups existed (Project.rollups_complete unset) is read from the event table until
`backfill_rollups` has rebuilt its rollups and marked it, and is left out of other projects' velocity comparisons
meanwhile. `reading_events()` switches back to the event table (the benchmark's baseline, the equality tests). The bucketed
series of one type (`time_series`, GET .../metrics) still reads that type's events: one Query either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain import analytics
from maestro.domain.analytics import rollups
from maestro.domain.errors import InvalidInput
from maestro.domain.identity.principals import Caller
from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent
from maestro.domain.periods import ProjectLife, resolve_period, series_bucket
from maestro.repositories import metrics as store
from maestro.repositories import projects as project_store
from maestro.repositories.schema import ProcessMetric, Project
from maestro.services.projects import require_project

VELOCITY_HISTORY_PROJECTS = 50  # other projects compared at request time (see velocity below)
# Each project's features are 9 small queries (one per event type, VELOCITY_EVENT_TYPES); projects are read side by
# side so a request waits for ~7 rounds of DynamoDB latency instead of ~51 (benchmarks/analytics.py).
VELOCITY_READERS = 8

GIT_TYPES = (
    "commits",
    "lines_added",
    "lines_deleted",
    "files_changed",
    "pr_opened",
    "pr_merged",
    "pr_closed",
    "pr_merge_hours",
    "reviews",
)
DORA_TYPES = ("commits", "deployment", "deployment_succeeded", "deployment_failed")
CI_TYPES = (
    "pipeline_run",
    "pipeline_attempt",
    "pipeline_duration_seconds",
    "pipeline_success",
    "job_run",
    "job_duration_seconds",
    "job_success",
    "tests",
    "test_failures",
    "test_errors",
    "test_skipped",
    "test_duration_seconds",
)


LIFE_READERS = 8
GIT_LOOK_BACK = timedelta(days=30)  # reviews and PR events before the period inform the PRs merged within it
DORA_LOOK_BACK = timedelta(days=90)  # commits before the period can ship within it; failures can be restored in it

_source = {"rollups": True}


def reads_rollups(project: Project) -> bool:
    """The project's reports read its rollups: they hold all its events (Project.rollups_complete), and the
    event path is not asked for (reading_events)."""
    return _source["rollups"] and bool(project.rollups_complete)


@contextmanager
def reading_events() -> Iterator[None]:
    """Within it, the reports read the event table (one Query per type) instead of the rollups: the previous path,
    kept as the baseline the rollups are measured and tested against."""
    previous = _source["rollups"]
    _source["rollups"] = False
    try:
        yield
    finally:
        _source["rollups"] = previous


def project_life(tenant_id: str, project) -> ProjectLife:
    """The project's dates and its first and last stored event of any type: from the rollups of its first and last
    week (four queries), or from the event table (two one-item queries per type)."""
    from datetime import date

    if reads_rollups(project):
        bounds = [b for b in [rollups.first_and_last(store.edge_week_rollups(tenant_id, project.project_id))] if b]
    else:
        types = list(BUILT_IN_TYPES) + list(store.custom_types(tenant_id))
        with ThreadPoolExecutor(max_workers=LIFE_READERS) as pool:
            bounds = [
                b for b in pool.map(lambda t: store.first_and_last_event(tenant_id, project.project_id, t), types) if b
            ]
    completed = (project.outcome or {}).get("completed_at")
    return ProjectLife(
        start_date=date.fromisoformat(project.start_date) if project.start_date else None,
        completed_at=datetime.fromisoformat(completed.replace("Z", "+00:00")).astimezone(UTC) if completed else None,
        created_at=project.created_at,
        first_event=min((b[0] for b in bounds), default=None),
        last_event=max((b[1] for b in bounds), default=None),
    )


def period(
    caller: Caller, project_id: str, start: datetime | None, end: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of an analytics answer: what the caller gave, by default the project's whole life
    (maestro.domain.periods); 404 for a project the caller's tenant does not have."""
    project = require_project(caller.tenant_id, project_id)
    life = project_life(caller.tenant_id, project) if start is None or end is None else None
    return resolve_period(start, end, life, now or datetime.now(UTC))


def _events(
    tenant_id: str, project: Project, types: Iterable[str], start: datetime, end: datetime
) -> list[MetricEvent]:
    """The project's events of `types` in [start, end], from its rollups (or the event table: not reads_rollups)."""
    project_id = project.project_id
    if not reads_rollups(project):
        return _stored_events(tenant_id, project_id, types, start, end)
    return rollups.events_from(
        store.project_rollups(tenant_id, project_id, *rollups.weeks_between(start, end)), project_id, types, start, end
    )


def _stored_events(
    tenant_id: str, project_id: str, types: Iterable[str], start: datetime | None, end: datetime | None
) -> list[MetricEvent]:
    return [
        _metric_event(row, project_id)
        for metric_type in types
        for row in store.events_in_period(tenant_id, project_id, metric_type, start, end)
    ]


def _metric_event(row: ProcessMetric, project_id: str) -> MetricEvent:
    """A stored event row as the domain's MetricEvent."""
    return MetricEvent(
        row.event_id,
        project_id,
        row.metric_type,
        float(row.value),
        row.unit or "",
        row.timestamp,
        row.source or "",
        dict(row.metadata or {}),
    )


def time_series(
    caller: Caller, project_id: str, metric_type: str | None, start: datetime, end: datetime, bucket: str | None
) -> dict[str, Any]:
    """`bucket` is the finest the caller wants (day when not given); a longer period coarsens it so the series keeps
    at most a few hundred points, and the answer says which bucket it used."""
    require_project(caller.tenant_id, project_id)
    bucket = series_bucket(start, end, bucket)
    if not metric_type:
        raise InvalidInput("type is required", parameter="type")
    if metric_type not in BUILT_IN_TYPES and metric_type not in store.custom_types(caller.tenant_id):
        raise InvalidInput(f"unknown metric type {metric_type}", parameter="type")
    series = analytics.time_series(
        _stored_events(caller.tenant_id, project_id, [metric_type], start, end), metric_type, start, end, bucket
    )
    return {"id": f"{project_id}:{metric_type}:{bucket}", "project_id": project_id, **series}


def metric_summary(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    types = list(BUILT_IN_TYPES) + list(store.custom_types(caller.tenant_id))
    stored = (
        store.project_rollups(caller.tenant_id, project_id, *rollups.weeks_between(start, end))
        if reads_rollups(project)
        else None
    )
    by_type = {}
    for metric_type in types:
        if stored is None:
            events = _stored_events(caller.tenant_id, project_id, [metric_type], start, end)
        else:
            events = rollups.events_from(stored, project_id, [metric_type], start, end)
        if events:
            by_type[metric_type] = events
    return {
        "id": f"{project_id}:summary",
        "project_id": project_id,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "types": analytics.summary(by_type),
    }


def git(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    events = _events(caller.tenant_id, project, GIT_TYPES, start - GIT_LOOK_BACK, end)
    return {"id": f"{project_id}:git", "project_id": project_id, **analytics.git_stats(events, start, end)}


def dora(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    events = _events(caller.tenant_id, project, DORA_TYPES, start - DORA_LOOK_BACK, end)
    return {"id": f"{project_id}:dora", "project_id": project_id, **analytics.dora(events, start, end)}


def ci(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    events = _events(caller.tenant_id, project, CI_TYPES, start, end)
    return {"id": f"{project_id}:ci", "project_id": project_id, **analytics.ci_stats(events, start, end)}


def _features(tenant_id: str, project_id: str, start: datetime, end: datetime) -> dict[str, float]:
    events = _stored_events(tenant_id, project_id, analytics.VELOCITY_EVENT_TYPES, start, end)
    return analytics.velocity_features_of(events, start, end)


def velocity(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The project's velocity against up to VELOCITY_HISTORY_PROJECTS other (not deleted) projects of the tenant that
    were active in the same weeks, each measured over the same period: every project's velocity facts of those weeks
    come from one paged Query of the tenant's rollup week index (or, reading_events, 9 per-type queries per
    project, 8 projects side by side)."""
    subject = require_project(caller.tenant_id, project_id)
    # The peers are the projects that were active in the same weeks (a finished project is compared with the
    # projects of its own time, not with the newest ones), found in one paged Query of the tenant week index; a
    # project whose rollups are not complete yet (stored before them, not backfilled) is left out.
    by_project: dict[str, list[rollups.Rollup]] = {}
    for rollup in store.tenant_rollups(caller.tenant_id, *rollups.weeks_between(start, end)):
        by_project.setdefault(rollup.project_id, []).append(rollup)
    active = sorted(pid for pid in by_project if pid != project_id)
    live = project_store.live_projects(caller.tenant_id, active)
    others = [pid for pid in active if pid in live and live[pid].rollups_complete][:VELOCITY_HISTORY_PROJECTS]
    if _source["rollups"]:
        measured = [
            analytics.velocity_features_of(
                rollups.events_from(by_project.get(pid, []), pid, analytics.VELOCITY_EVENT_TYPES, start, end),
                start,
                end,
            )
            for pid in others
        ]
    else:
        with ThreadPoolExecutor(max_workers=VELOCITY_READERS) as pool:
            measured = list(pool.map(lambda pid: _features(caller.tenant_id, pid, start, end), others))
    mine = (
        analytics.velocity_features_of(
            rollups.events_from(by_project.get(project_id, []), project_id, analytics.VELOCITY_EVENT_TYPES, start, end),
            start,
            end,
        )
        if reads_rollups(subject)
        else _features(caller.tenant_id, project_id, start, end)
    )
    history = measured
    return {
        "id": f"{project_id}:velocity",
        "project_id": project_id,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "features": mine,
        **analytics.velocity(mine, history),
    }


def backfill_rollups(tenant_id: str, project_id: str) -> dict[str, int]:
    """Rebuild a project's rollups from its stored events (for projects whose events predate the rollups): reads
    the whole event partition once and ADDs each week's facts, so running it again, or beside live ingestion,
    changes nothing. Returns the events read and rollup items written."""
    events = [_metric_event(row, project_id) for row in store.project_events(tenant_id, project_id)]
    written = store.add_rollups(tenant_id, rollups.rollups_of(events))
    project_store.mark_rollups_complete(tenant_id, project_id)  # its reports switch to the rollups now
    return {"events": len(events), "rollups": written}


def backfill_tenant_rollups(tenant_id: str) -> dict[str, int]:
    """backfill_rollups for every listed (not deleted) project of the tenant."""
    totals = {"projects": 0, "events": 0, "rollups": 0}
    cursor = None
    while True:
        page = project_store.list_projects(tenant_id, status=None, problem_class=None, limit=100, cursor=cursor)
        for project in page.items:
            done = backfill_rollups(tenant_id, project.project_id)
            totals["projects"] += 1
            totals["events"] += done["events"]
            totals["rollups"] += done["rollups"]
        cursor = page.next_cursor
        if not cursor:
            return totals


def team(caller: Caller, project_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    events = _events(caller.tenant_id, project, set(GIT_TYPES) | set(CI_TYPES), start - GIT_LOOK_BACK, end)
    return {"id": f"{project_id}:team", "project_id": project_id, **analytics.team_analytics(events, start, end)}
