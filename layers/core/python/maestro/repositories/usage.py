"""Storage of artifact usages: which project used which artifact version. The usage row and the artifact's
usage counter change in one transaction, so the counter stays exact under concurrent and repeated logging."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import NotFound
from maestro.pagination import Page
from maestro.repositories import search_index
from maestro.repositories.paging import query_page
from maestro.repositories.schema import Artifact, ArtifactUsage, ArtifactVector, child_key
from maestro.repositories.tables import ensure_bound, failed_conditions, transaction_connection


def usage_key(project_id: str, version: str) -> str:
    return f"{project_id}#{version}"


def record_usage(usage: ArtifactUsage, tenant_id: str, artifact_id: str) -> bool:
    """True if this (project, artifact, version) is new; False if it was already recorded (nothing changes)."""
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
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
        failed = failed_conditions(error)  # [usage row, artifact counter]
        if 0 in failed:
            return False
        if 1 in failed:
            raise NotFound(f"artifact {artifact_id} not found") from None
        raise


def get_usage(tenant_id: str, artifact_id: str, project_id: str, version: str) -> ArtifactUsage | None:
    ensure_bound()
    try:
        return ArtifactUsage.get(
            child_key(tenant_id, artifact_id), usage_key(project_id, version), consistent_read=True
        )
    except DoesNotExist:
        return None


def usages_of_artifact(tenant_id: str, artifact_id: str) -> Iterator[ArtifactUsage]:
    ensure_bound()
    return ArtifactUsage.query(child_key(tenant_id, artifact_id))


def usages_of_project_page(tenant_id: str, project_id: str, limit: int, cursor: str | None) -> Page:
    ensure_bound()
    return query_page(
        ArtifactUsage, child_key(tenant_id, project_id), index=ArtifactUsage.by_project, limit=limit, cursor=cursor
    )


def usages_of_project(tenant_id: str, project_id: str) -> Iterator[ArtifactUsage]:
    ensure_bound()
    return ArtifactUsage.by_project.query(child_key(tenant_id, project_id))
