"""Storage of projects and their team members. A project and its tenant's project counter change together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict, LostRace, PreconditionFailed
from maestro.domain.identity.quotas import quota_exceeded
from maestro.pagination import Page
from maestro.repositories.paging import query_page
from maestro.repositories.schema import Project, TeamMember, Tenant, child_key
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    is_condition_failure,
    transaction_connection,
)


def start_date_action(start: date | None) -> Action:
    """The update that stores a project's start date, or removes it when there is none."""
    return Project.start_date.set(start.isoformat()) if start else Project.start_date.remove()


def status_key(status: str, created_at: datetime, project_id: str) -> str:
    return f"{status}#{created_at.isoformat()}#{project_id}"


def class_key(problem_class: str, created_at: datetime, project_id: str) -> str:
    return f"{problem_class}#{created_at.isoformat()}#{project_id}"


def create_project(project: Project, projects_quota: int) -> None:
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.save(project, condition=Project.project_id.does_not_exist())
            tx.update(
                Tenant(project.tenant_id),
                actions=[Tenant.projects_count.add(1)],
                condition=Tenant.tenant_id.exists() & (Tenant.projects_count < projects_quota),
            )
    except TransactWriteError as error:
        failed = failed_conditions(error)  # [project, tenant counter]
        if 0 in failed:
            raise Conflict(f"project {project.project_id} already exists") from None
        if 1 in failed:
            raise quota_exceeded("projects", projects_quota) from None
        raise


def get_project(tenant_id: str, project_id: str) -> Project | None:
    ensure_bound()
    try:
        project = Project.get(tenant_id, project_id, consistent_read=True)
    except DoesNotExist:
        return None
    return None if project.deleted else project


def live_projects(tenant_id: str, project_ids: Iterable[str]) -> dict[str, Project]:
    """Those of these projects of the tenant that exist and are not deleted, by id (BatchGetItem, 100 keys a
    request)."""
    ensure_bound()
    keys = [(tenant_id, project_id) for project_id in dict.fromkeys(project_ids)]
    return {p.project_id: p for p in Project.batch_get(keys) if not p.deleted} if keys else {}


def mark_rollups_complete(tenant_id: str, project_id: str) -> bool:
    """Record that the project's rollups hold all its events (after a backfill). Not a change of the project's
    content: its version (and so a client's If-Match) stays. False when the project does not exist."""
    ensure_bound()
    try:
        Project._get_connection().update_item(
            tenant_id,
            project_id,
            actions=[Project.rollups_complete.set(True)],
            condition=Project.project_id.exists(),
        )
        return True
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise


def list_projects(
    tenant_id: str, *, status: str | None, problem_class: str | None, limit: int, cursor: str | None
) -> Page:
    """Served by the status or problem-class LSI when filtered (newest first), else the table."""
    ensure_bound()
    not_deleted = Project.deleted == False  # noqa: E712
    if status is not None:
        condition = not_deleted if problem_class is None else not_deleted & (Project.problem_class == problem_class)
        return query_page(
            Project,
            tenant_id,
            index=Project.by_status,
            limit=limit,
            cursor=cursor,
            range_key_condition=Project.status_key.startswith(f"{status}#"),
            filter_condition=condition,
            scan_index_forward=False,
        )
    if problem_class is not None:
        return query_page(
            Project,
            tenant_id,
            index=Project.by_problem_class,
            limit=limit,
            cursor=cursor,
            range_key_condition=Project.problem_class_key.startswith(f"{problem_class}#"),
            filter_condition=not_deleted,
            scan_index_forward=False,
        )
    return query_page(Project, tenant_id, limit=limit, cursor=cursor, filter_condition=not_deleted)


def completed_projects(tenant_id: str) -> Iterator[Project]:
    ensure_bound()
    return Project.by_status.query(
        tenant_id, Project.status_key.startswith("completed#"), filter_condition=Project.deleted == False
    )  # noqa: E712


def update_project(project: Project, actions: list, expected_version: int | None) -> Project:
    """Apply `actions` if the project is unchanged since `expected_version` (or since it was read)."""
    ensure_bound()
    if expected_version is not None and project.version != expected_version:
        raise PreconditionFailed("the project changed since you read it", current_version=project.version)
    try:
        project.update(actions=actions, condition=Project.deleted == False)  # noqa: E712
    except UpdateError as error:
        if is_condition_failure(error):
            if expected_version is None:  # no precondition was sent: the use case re-reads and applies it again
                raise LostRace("the project changed while it was being changed") from None
            raise PreconditionFailed("the project changed since you read it; read it again") from None
        raise
    return project


def soft_delete_project(project: Project, now: datetime) -> None:
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.update(
                project,
                actions=[
                    Project.deleted.set(True),
                    Project.status.set("deleted"),
                    Project.status_key.set(status_key("deleted", project.created_at, project.project_id)),
                    Project.updated_at.set(now),
                ],
            )
            tx.update(Tenant(project.tenant_id), actions=[Tenant.projects_count.add(-1)])
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict("the project changed while it was being deleted; retry") from None
        raise


# ---------------------------------------------------------------- members
def add_member(member: TeamMember) -> None:
    ensure_bound()
    member.save(condition=TeamMember.member_id.does_not_exist())


def add_member_once(member: TeamMember) -> bool:
    """Save a member whose id is derived from what identifies it; False when it was already there."""
    ensure_bound()
    try:
        member.save(condition=TeamMember.member_id.does_not_exist())
        return True
    except Exception as error:  # pynamodb PutError on a failed condition: the member is already there
        if is_condition_failure(error):
            return False
        raise


def list_members(tenant_id: str, project_id: str, limit: int, cursor: str | None) -> Page:
    return query_page(TeamMember, child_key(tenant_id, project_id), limit=limit, cursor=cursor)


def all_members(tenant_id: str, project_id: str) -> list[TeamMember]:
    ensure_bound()
    return list(TeamMember.query(child_key(tenant_id, project_id)))


def delete_member(tenant_id: str, project_id: str, member_id: str) -> bool:
    ensure_bound()
    try:
        TeamMember(child_key(tenant_id, project_id), member_id).delete(condition=TeamMember.member_id.exists())
        return True
    except Exception as error:  # pynamodb DeleteError on a failed condition: nothing to delete
        if is_condition_failure(error):
            return False
        raise


def set_mlflow_summary(project: Project, summary: dict) -> None:
    """Platform-derived, so it does not bump the project's version (a user's ETag stays valid)."""
    ensure_bound()
    Project._get_connection().update_item(
        project.tenant_id,
        project.project_id,
        actions=[Project.mlflow_summary.set(summary)],
        condition=Project.project_id.exists(),
    )


def set_import_fingerprint(tenant_id: str, project_id: str, fingerprint: str) -> None:
    """The imported row as last applied; platform-derived, so the project's version (a user's ETag) stays."""
    ensure_bound()
    Project._get_connection().update_item(
        tenant_id,
        project_id,
        actions=[Project.import_fingerprint.set(fingerprint)],
        condition=Project.project_id.exists(),
    )


def all_projects(tenant_id: str) -> Iterator[Project]:
    """Every live project of the tenant (the meta-learning jobs read the whole history)."""
    ensure_bound()
    return Project.query(tenant_id, filter_condition=Project.deleted == False)  # noqa: E712
