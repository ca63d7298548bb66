"""Storage of artifact usages: which project used which artifact version. The usage row and the artifact's
usage counter change in one transaction, so the counter stays exact under concurrent and repeated logging."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict, NotFound
from maestro.pagination import Page
from maestro.repositories import search_index
from maestro.repositories.paging import query_page
from maestro.repositories.schema import Artifact, ArtifactUsage, ArtifactVector, ArtifactVersion, child_key
from maestro.repositories.tables import ensure_bound, failed_conditions, get_item, transaction_connection


def usage_key(project_id: str, version: str) -> str:
    return f"{project_id}#{version}"


def record_usage(usage: ArtifactUsage, tenant_id: str, artifact_id: str, version: str) -> bool:
    """True if this (project, artifact, version) is new; False if it was already recorded (nothing changes).
    Only a ready version can be used: checked in the same transaction, so a version rejected meanwhile is not."""
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.condition_check(
                ArtifactVersion, child_key(tenant_id, artifact_id), version, condition=ArtifactVersion.status == "ready"
            )
            tx.save(usage, condition=ArtifactUsage.project_version.does_not_exist())
            tx.update(
                Artifact(tenant_id, artifact_id),
                actions=[Artifact.usage_count.add(1)],
                condition=Artifact.artifact_id.exists() & (Artifact.deleted == False),
            )  # noqa: E712
            # the search index sorts by usage: its entry counts in the same transaction
            tx.update(ArtifactVector(tenant_id, artifact_id), actions=search_index.usage_actions(search_index.now_ms()))
        return True
    except TransactWriteError as error:
        failed = failed_conditions(error)  # [version check, usage row, artifact counter]
        if 2 in failed:
            raise NotFound(f"artifact {artifact_id} not found") from None
        if 0 in failed:
            raise Conflict(f"version {version} is not ready; usages are recorded only on ready versions") from None
        if 1 in failed:
            return False
        raise
    finally:
        search_index.note_written(tenant_id)


def get_usage(tenant_id: str, artifact_id: str, project_id: str, version: str) -> ArtifactUsage | None:
    return get_item(ArtifactUsage, child_key(tenant_id, artifact_id), usage_key(project_id, version))


def usages_of_artifact(tenant_id: str, artifact_id: str) -> Iterator[ArtifactUsage]:
    ensure_bound()
    return ArtifactUsage.query(child_key(tenant_id, artifact_id))


def usages_of_project_page(tenant_id: str, project_id: str, limit: int, cursor: str | None) -> Page:
    return query_page(
        ArtifactUsage, child_key(tenant_id, project_id), index=ArtifactUsage.by_project, limit=limit, cursor=cursor
    )


def usages_of_project(tenant_id: str, project_id: str) -> Iterator[ArtifactUsage]:
    ensure_bound()
    return ArtifactUsage.by_project.query(child_key(tenant_id, project_id))
