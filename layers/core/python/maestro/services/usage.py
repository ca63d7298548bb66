"""Usage use cases: record that a project used an artifact version, list what a project used, and an
artifact's analytics (usage, projects, teams, impact, usage over time)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from maestro.domain.errors import Conflict, NotFound
from maestro.domain.identity.principals import Caller
from maestro.pagination import Page
from maestro.repositories import artifact_versions as version_store
from maestro.repositories import projects as project_store
from maestro.repositories import usage as store
from maestro.repositories.schema import ArtifactUsage, child_key, parent_id_of
from maestro.services.artifact_views import artifact_view
from maestro.services.artifacts import get_artifact_record
from maestro.services.context import RequestMeta, audit_as
from maestro.services.projects import require_project


def usage_view(usage: ArtifactUsage) -> dict[str, Any]:
    artifact_id = parent_id_of(usage.tenant_artifact)
    project_id, version = usage.project_version.split("#", 1)
    return {
        "id": f"{artifact_id}:{project_id}:{version}",
        "artifact_id": artifact_id,
        "project_id": project_id,
        "version": version,
        "context": usage.context,
        "recorded_by": usage.recorded_by,
        "recorded_at": usage.recorded_at.isoformat(),
    }


def record_usage(
    caller: Caller, artifact_id: str, project_id: str, version: str, context: str | None, meta: RequestMeta
) -> tuple[dict, bool]:
    """Record the (project, artifact, version) triple once; returns the usage and whether it was new. `@alias`
    records the version the alias names now (a usage is history, not a live pointer)."""
    from maestro.services.artifact_aliases import resolve_version

    get_artifact_record(caller, artifact_id)
    require_project(caller.tenant_id, project_id)
    version = resolve_version(caller.tenant_id, artifact_id, version)
    found = version_store.get_version(caller.tenant_id, artifact_id, version)
    if found is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found")
    if found.status != "ready":  # pending (never completed) or rejected: nothing usable behind it
        raise Conflict(f"version {version} is {found.status}; usages are recorded only on ready versions")
    usage = ArtifactUsage(
        child_key(caller.tenant_id, artifact_id),
        store.usage_key(project_id, version),
        tenant_project=child_key(caller.tenant_id, project_id),
        artifact_version=f"{artifact_id}#{version}",
        context=context,
        recorded_by=caller.actor,
        recorded_at=datetime.now(UTC),
    )
    created = store.record_usage(usage, caller.tenant_id, artifact_id, version)
    if not created:
        usage = store.get_usage(caller.tenant_id, artifact_id, project_id, version) or usage
    else:
        audit_as(
            caller,
            "artifact.usage",
            "artifact",
            artifact_id,
            meta,
            changes={"after": {"project_id": project_id, "version": version}},
        )
    return usage_view(usage), created


def project_artifacts(caller: Caller, project_id: str, limit: int, cursor: str | None) -> Page:
    require_project(caller.tenant_id, project_id)
    page = store.usages_of_project_page(caller.tenant_id, project_id, limit, cursor)
    return Page([usage_view(u) for u in page.items], page.next_cursor)


def analytics(caller: Caller, artifact_id: str) -> dict[str, Any]:
    artifact = get_artifact_record(caller, artifact_id)
    usages = list(store.usages_of_artifact(caller.tenant_id, artifact_id))
    project_ids = sorted({u.project_version.split("#", 1)[0] for u in usages})
    projects: list[dict[str, Any]] = []
    teams: set[frozenset[str]] = set()
    people: set[str] = set()
    for project_id in project_ids:
        project = project_store.get_project(caller.tenant_id, project_id)
        if project is None:
            continue
        members = project_store.all_members(caller.tenant_id, project_id)
        team = frozenset(m.user_id or m.display_name.casefold() for m in members)
        if team:
            teams.add(team)
            people |= team
        projects.append(
            {"id": project_id, "name": project.name, "status": project.status, "success_score": project.success_score}
        )
    by_month = Counter(u.recorded_at.strftime("%Y-%m") for u in usages)
    view = artifact_view(artifact)
    return {
        "id": artifact_id,
        "usage_count": view["usage_count"],
        "project_count": len(projects),
        "projects": projects,
        "distinct_teams": len(teams),
        "distinct_people": len(people),
        "impact": view["impact"]
        or {
            "score": view["impact_score"],
            "method": "insufficient_data",
            "explanation": "no completed project has used this artifact yet",
        },
        "usage_over_time": [{"period": month, "usages": by_month[month]} for month in sorted(by_month)],
    }
