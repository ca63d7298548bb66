"""Project use cases: create, read, change, delete (soft), record the outcome, manage the team."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from maestro.domain.errors import InvalidInput, NotFound, ValidationFailed
from maestro.domain.identity.principals import Caller
from maestro.domain.identity.quotas import effective_quotas
from maestro.domain.projects import Outcome, ProjectStatus, find_projects, success_score
from maestro.pagination import Page, decode_offset_cursor, encode_offset_cursor
from maestro.repositories import events
from maestro.repositories import identity as identity_store
from maestro.repositories import projects as store
from maestro.repositories.schema import Project, TeamMember, Tenant, stored_fields
from maestro.services.context import RequestMeta, audit_as, retry_lost_races

EDITABLE = (
    "name",
    "description",
    "complexity_score",
    "team_size",
    "start_date",
    "repositories",
    "mlflow_experiment",
    "features",
)


def _now() -> datetime:
    return datetime.now(UTC)


def project_view(project: Project) -> dict[str, Any]:
    return {
        "id": project.project_id,
        **stored_fields(
            project,
            "name",
            "description",
            "problem_class",
            "complexity_score",
            "team_size",
            "status",
            "start_date",
            "mlflow_experiment",
            "outcome",
            "success_score",
            "version",
        ),
        "repositories": list(project.repositories or []),
        "features": dict(project.features or {}),
        "mlflow": project.mlflow_summary,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
    }


def member_view(member: TeamMember) -> dict[str, Any]:
    return {
        "id": member.member_id,
        "user_id": member.user_id,
        "display_name": member.display_name,
        "role": member.role,
        "experience_level": member.experience_level,
        "contribution_hours": member.contribution_hours,
        "created_at": member.created_at.isoformat(),
    }


def require_project(tenant_id: str, project_id: str) -> Project:
    """The tenant's live project, or NotFound (404): another tenant's id and a deleted project look the same."""
    project = store.get_project(tenant_id, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


def create_project(caller: Caller, fields: dict[str, Any], meta: RequestMeta) -> dict:
    now = _now()
    project_id = f"prj_{uuid.uuid4().hex}"
    project = Project(
        caller.tenant_id,
        project_id,
        created_at=now,
        updated_at=now,
        status=ProjectStatus.ACTIVE.value,
        status_key=store.status_key(ProjectStatus.ACTIVE.value, now, project_id),
        problem_class_key=store.class_key(fields["problem_class"], now, project_id),
        **{k: v for k, v in fields.items() if v is not None},
    )
    tenant = identity_store.get_tenant(caller.tenant_id)
    store.create_project(project, effective_quotas(tenant.quota_overrides if tenant else None)["projects"])
    view = project_view(project)
    audit_as(caller, "project.create", "project", project_id, meta, changes={"after": fields})
    return view


def get_project(caller: Caller, project_id: str) -> dict:
    return project_view(require_project(caller.tenant_id, project_id))


def list_projects(
    caller: Caller,
    status: str | None,
    problem_class: str | None,
    limit: int,
    cursor: str | None,
    query: str | None = None,
    sort: str | None = None,
) -> Page:
    """Newest first, paged by the table; with a search `query` or a `sort`, the tenant's projects are matched
    and ordered per request (a tenant holds at most its project quota) and paged by offset cursor."""
    if not query and not sort:
        page = store.list_projects(
            caller.tenant_id, status=status, problem_class=problem_class, limit=limit, cursor=cursor
        )
        return Page([project_view(p) for p in page.items], page.next_cursor)
    fingerprint = hashlib.sha256(json.dumps([status, problem_class, query, sort]).encode()).hexdigest()[:16]
    offset = decode_offset_cursor(cursor, fingerprint)
    views = [
        project_view(p)
        for p in store.all_projects(caller.tenant_id)
        if (status is None or p.status == status) and (problem_class is None or p.problem_class == problem_class)
    ]
    found = find_projects(views, query, sort)
    more = offset + limit < len(found)
    return Page(
        found[offset : offset + limit],
        encode_offset_cursor(offset + limit, fingerprint) if more else None,
        extra={"total": len(found)},
    )


def update_project(
    caller: Caller, project_id: str, changes: dict[str, Any], expected_version: int | None, meta: RequestMeta
) -> dict:
    if not any(name in EDITABLE for name in changes):
        raise InvalidInput("nothing to change: give at least one of " + ", ".join(EDITABLE))

    def change() -> tuple[dict, dict]:
        project = require_project(caller.tenant_id, project_id)
        if "start_date" in changes and project.outcome:
            _consistent_start(changes["start_date"], project.outcome)
        before = project_view(project)
        actions = [getattr(Project, name).set(value) for name, value in changes.items() if name in EDITABLE]
        actions.append(Project.updated_at.set(_now()))
        return before, project_view(store.update_project(project, actions, expected_version))

    before, updated = retry_lost_races(change)
    audit_as(
        caller,
        "project.update",
        "project",
        project_id,
        meta,
        changes={"before": {k: before[k] for k in changes}, "after": {k: updated[k] for k in changes}},
    )
    return updated


def _consistent_start(
    start_date: str | date | None, outcome: dict[str, Any], now: datetime | None = None
) -> date | None:
    """The start date the outcome implies (see maestro.domain.project_input.consistent_start), or a 422 naming the
    fields in conflict (completed_at, and start_date when the outcome ends before the start)."""
    from maestro.domain.project_input import DateConflict, consistent_start

    day = date.fromisoformat(start_date) if isinstance(start_date, str) else start_date
    try:
        return consistent_start(day, outcome, now)
    except DateConflict as conflict:
        raise ValidationFailed(
            str(conflict),
            errors=[
                {"field": field.removeprefix("outcome."), "message": str(conflict), "type": conflict.kind}
                for field in conflict.fields
            ],
        ) from None


def delete_project(caller: Caller, project_id: str, meta: RequestMeta) -> None:
    project = require_project(caller.tenant_id, project_id)
    store.soft_delete_project(project, _now())
    audit_as(caller, "project.delete", "project", project_id, meta, changes={"before": {"name": project.name}})


def record_outcome(caller: Caller, project_id: str, outcome: dict[str, Any], meta: RequestMeta) -> dict:
    """Close the project, score it against the tenant's own history, and ask for an impact recalculation. The
    dates stay consistent: an outcome completed before the project's start is refused (422 naming both), and a
    project without a start date starts at completed_at − duration_days."""
    project = require_project(caller.tenant_id, project_id)
    start = _consistent_start(project.start_date, outcome, _now())
    history = [
        Outcome(**{k: p.outcome[k] for k in Outcome.__dataclass_fields__})
        for p in store.completed_projects(caller.tenant_id)
        if p.project_id != project_id and p.outcome
    ]
    tenant = identity_store.get_tenant(caller.tenant_id)
    scored = success_score(
        Outcome(**{k: outcome[k] for k in Outcome.__dataclass_fields__}),
        history,
        tenant.success_weights if tenant else None,
    )
    now = _now()
    stored_outcome = {**outcome, "completed_at": outcome["completed_at"], "success": scored.to_body()}
    store.update_project(
        project,
        [
            Project.outcome.set(stored_outcome),
            Project.success_score.set(round(scored.score, 2)),
            Project.status.set(ProjectStatus.COMPLETED.value),
            Project.status_key.set(store.status_key(ProjectStatus.COMPLETED.value, project.created_at, project_id)),
            store.start_date_action(start),
            Project.updated_at.set(now),
        ],
        expected_version=None,
    )
    events.publish(
        events.SOURCE_REGISTRY,
        "ProjectOutcomeRecorded",
        {"tenant_id": caller.tenant_id, "project_id": project_id, "success_score": scored.score},
    )
    audit_as(
        caller,
        "project.outcome",
        "project",
        project_id,
        meta,
        changes={"after": {"success_score": round(scored.score, 2), **outcome}},
    )
    return project_view(project)


def set_success_weights(caller: Caller, weights: dict[str, float], meta: RequestMeta) -> dict:
    from maestro.domain.projects import normalise_weights

    try:
        resolved = normalise_weights(weights)
    except ValueError as error:
        raise InvalidInput(str(error), field="weights") from None
    Tenant(caller.tenant_id).update(actions=[Tenant.success_weights.set(weights)])
    audit_as(caller, "tenant.success_weights", "tenant", caller.tenant_id, meta, changes={"after": weights})
    return {"weights": resolved}


# ---------------------------------------------------------------- members
def add_member(caller: Caller, project_id: str, fields: dict[str, Any], meta: RequestMeta) -> dict:
    require_project(caller.tenant_id, project_id)
    if fields.get("user_id"):
        user = identity_store.get_user(caller.tenant_id, fields["user_id"])
        if user is None or user.deleted_at is not None:
            raise NotFound(f"user {fields['user_id']} not found")
    member = TeamMember(
        f"{caller.tenant_id}#{project_id}",
        f"mem_{uuid.uuid4().hex}",
        created_at=_now(),
        **{k: v for k, v in fields.items() if v is not None},
    )
    store.add_member(member)
    audit_as(caller, "project.member_add", "project", project_id, meta, changes={"after": fields})
    return member_view(member)


def list_members(caller: Caller, project_id: str, limit: int, cursor: str | None) -> Page:
    require_project(caller.tenant_id, project_id)
    page = store.list_members(caller.tenant_id, project_id, limit, cursor)
    return Page([member_view(m) for m in page.items], page.next_cursor)


def remove_member(caller: Caller, project_id: str, member_id: str, meta: RequestMeta) -> None:
    require_project(caller.tenant_id, project_id)
    if not store.delete_member(caller.tenant_id, project_id, member_id):
        raise NotFound(f"member {member_id} not found")
    audit_as(caller, "project.member_remove", "project", project_id, meta, changes={"before": {"member": member_id}})
