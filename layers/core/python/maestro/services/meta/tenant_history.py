"""A tenant's history as the meta-learning code reads it: stored projects, members, usages and the early process
metrics turned into maestro.domain.meta.history.ProjectRecord, so the features of a stored project are computed
by the same `features()` the generator's projects are (one definition, tested for leakage).

Mapping: a member's `created_at` is when they joined; `contribution_hours` is read as planned hours per week;
a usage's `recorded_at` is when the artifact was planned; a metric event's `metadata.author` names the member.
Only the metric types the features read, and only up to the cut-off, are loaded: nothing later can reach a
feature vector, and a history of 10k projects stays a bounded read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from maestro.domain.meta.history import CUTOFF_DAYS, ArtifactUsage, Member, MetricRecord, ProjectRecord
from maestro.domain.projects import Outcome
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import metrics as metric_store
from maestro.repositories import projects as project_store
from maestro.repositories import usage as usage_store
from maestro.repositories.schema import Project, parent_id_of

FEATURE_METRIC_TYPES = ("commits", "pr_merge_hours", "pipeline_success", "experiment_run")


def start_of(project: Project) -> datetime:
    """The project's start: its start_date; without one, completed_at − duration_days when it has an outcome (a
    past project recorded today did not start today), else when it was created."""
    if project.start_date:
        return datetime.combine(date.fromisoformat(project.start_date), time(), tzinfo=UTC)
    if project.outcome and project.outcome.get("completed_at") and project.outcome.get("duration_days"):
        completed = _completed_at(project)
        if completed is not None:
            return completed - timedelta(days=float(project.outcome["duration_days"]))
    return project.created_at


def _completed_at(project: Project) -> datetime | None:
    try:
        return datetime.fromisoformat(str(project.outcome["completed_at"]).replace("Z", "+00:00")).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


# Why a stored project is or is not a training example (the retrain summary and GET /v1/models/meta count them).
USED, NO_OUTCOME, NOT_ENDED, INVALID = "used", "no_outcome", "not_ended", "invalid"


def training_status(project: Project, record: ProjectRecord, now: datetime) -> str:
    """used; no_outcome (running, or no score); not_ended (its end, start + duration, is after `now`); invalid (the
    outcome completes before the project starts, or a figure is not a finite number)."""
    if record.outcome is None or record.success_score is None:
        return NO_OUTCOME
    figures = (*(float(getattr(record.outcome, f)) for f in record.outcome.__dataclass_fields__), record.success_score)
    completed = _completed_at(project)
    if not all(math.isfinite(f) for f in figures) or completed is None or completed < record.start_date:
        return INVALID
    if record.end_date is None or record.end_date > now:
        return NOT_ENDED
    return USED


def cutoff_of(project: Project) -> datetime:
    return start_of(project) + timedelta(days=CUTOFF_DAYS)


def _outcome(project: Project) -> tuple[Outcome | None, datetime | None]:
    if not project.outcome:
        return None, None
    raw = project.outcome
    outcome = Outcome(
        float(raw["model_performance"]),
        float(raw["business_impact_usd"]),
        float(raw["duration_days"]),
        float(raw["compute_cost_usd"]),
    )
    return outcome, start_of(project) + timedelta(days=outcome.duration_days)


def project_record(
    tenant_id: str, project: Project, as_of: datetime | None = None, usages: Iterable[Any] | None = None
) -> ProjectRecord:
    """The record of a stored project with what was recorded up to min(as_of, its cut-off); `usages` are the
    project's stored usage rows when the caller has already read them."""
    start = start_of(project)
    until = min(as_of, cutoff_of(project)) if as_of else cutoff_of(project)
    members = tuple(
        Member(m.member_id, m.role, m.experience_level, float(m.contribution_hours or 0), m.created_at)
        for m in project_store.all_members(tenant_id, project.project_id)
        if m.created_at <= until
    )
    usages = tuple(
        ArtifactUsage(
            project.project_id,
            parent_id_of(u.tenant_artifact),
            u.artifact_version,
            u.recorded_at,
            u.recorded_at <= until,
        )
        for u in (usage_store.usages_of_project(tenant_id, project.project_id) if usages is None else usages)
        if u.recorded_at <= until
    )
    metrics = tuple(
        MetricRecord(e.metric_type, float(e.value), e.timestamp, (e.metadata or {}).get("author"))
        for metric_type in FEATURE_METRIC_TYPES
        for e in metric_store.events_in_period(
            tenant_id, project.project_id, metric_type, start, until + timedelta(microseconds=1)
        )
    )
    outcome, end = _outcome(project)
    return ProjectRecord(
        project.project_id,
        project.problem_class,
        float(project.complexity_score),
        int(project.team_size),
        project.description or "",
        start,
        end,
        members,
        usages,
        metrics,
        outcome,
        float(project.success_score) if project.success_score is not None else None,
    )


def artifact_effects(tenant_id: str, artifacts: Iterable[Any] | None = None) -> dict[str, float]:
    """The published impact effect (success points) of each artifact that has one, as features() takes it; from
    `artifacts` when the caller has already read the tenant's library."""
    effects = {}
    for artifact in artifact_store.tenant_artifacts(tenant_id) if artifacts is None else artifacts:
        effect = ((artifact.impact or {}).get("effect") or {}).get("success_points")
        if effect is not None and (artifact.impact or {}).get("completed_projects", 0) > 0:
            effects[artifact.artifact_id] = float(effect)
    return effects
