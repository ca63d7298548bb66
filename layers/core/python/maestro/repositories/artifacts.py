"""Storage of artifacts: the artifact, its unique-name claim and the tenant's artifact counter change together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict, LostRace, PreconditionFailed
from maestro.domain.identity.quotas import quota_exceeded
from maestro.repositories import search_index
from maestro.repositories.schema import Artifact, ArtifactVector, NameClaim, Tenant
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    is_condition_failure,
    transaction_connection,
)


def create_artifact(artifact: Artifact, claim: str, artifacts_quota: int, index_entry: list | None = None) -> None:
    """The artifact, its name claim, the tenant's counter and (given its update actions) its search-index entry,
    all or nothing: an artifact never exists without its entry."""
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.save(
                NameClaim(artifact.tenant_id, claim, owner_id=artifact.artifact_id),
                condition=NameClaim.claim.does_not_exist(),
            )
            tx.save(artifact, condition=Artifact.artifact_id.does_not_exist())
            tx.update(
                Tenant(artifact.tenant_id),
                actions=[Tenant.artifacts_count.add(1)],
                condition=Tenant.tenant_id.exists() & (Tenant.artifacts_count < artifacts_quota),
            )
            if index_entry:
                tx.update(ArtifactVector(artifact.tenant_id, artifact.artifact_id), actions=index_entry)
    except TransactWriteError as error:
        failed = failed_conditions(error)  # [name claim, artifact, tenant counter, index entry]
        if 0 in failed:
            raise Conflict(f"a {artifact.type} named {artifact.name!r} already exists", field="name") from None
        if 2 in failed:
            raise quota_exceeded("artifacts", artifacts_quota) from None
        raise
    finally:
        search_index.note_written(artifact.tenant_id)


def get_artifact(tenant_id: str, artifact_id: str) -> Artifact | None:
    ensure_bound()
    try:
        artifact = Artifact.get(tenant_id, artifact_id, consistent_read=True)
    except DoesNotExist:
        return None
    return None if artifact.deleted else artifact


def tenant_artifacts(tenant_id: str) -> Iterator[Artifact]:
    """Every live artifact of the tenant (a partition query, page by page; never a table scan)."""
    ensure_bound()
    return Artifact.query(tenant_id, filter_condition=Artifact.deleted == False)  # noqa: E712


def top_by_impact(tenant_id: str, artifact_type: str | None, limit: int) -> list[Artifact]:
    ensure_bound()
    condition = (Artifact.deleted == False) & Artifact.deprecated.does_not_exist()  # noqa: E712
    if artifact_type:
        condition &= Artifact.type == artifact_type
    return list(Artifact.by_impact.query(tenant_id, scan_index_forward=False, filter_condition=condition, limit=limit))


def update_artifact(artifact: Artifact, actions: list, expected_revision: int | None) -> Artifact:
    """Apply a user's edit if the artifact is still at `expected_revision` (or at the revision just read)."""
    ensure_bound()
    if expected_revision is not None and artifact.revision != expected_revision:
        raise PreconditionFailed("the artifact changed since you read it", current_revision=artifact.revision)
    try:
        artifact.update(
            actions=[*actions, Artifact.revision.add(1)],
            condition=(Artifact.deleted == False) & (Artifact.revision == artifact.revision),
        )  # noqa: E712
    except UpdateError as error:
        if is_condition_failure(error):
            if expected_revision is None:  # no precondition was sent: the use case re-reads and applies it again
                raise LostRace("the artifact changed while it was being changed") from None
            raise PreconditionFailed("the artifact changed since you read it; read it again") from None
        raise
    return artifact


def soft_delete_artifact(artifact: Artifact, claim: str, now: datetime, index_removal: list | None = None) -> None:
    """Mark deleted, free its name, give its slot back to the tenant's quota and (given its update actions) take
    it out of the tenant's search index, all in one transaction."""
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.delete(NameClaim(artifact.tenant_id, claim))
            tx.update(artifact, actions=[Artifact.deleted.set(True), Artifact.updated_at.set(now)])
            tx.update(Tenant(artifact.tenant_id), actions=[Tenant.artifacts_count.add(-1)])
            if index_removal:
                tx.update(ArtifactVector(artifact.tenant_id, artifact.artifact_id), actions=index_removal)
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict("the artifact changed while it was being deleted; retry") from None
        raise
    finally:
        search_index.note_written(artifact.tenant_id)


def _update_derived(tenant_id: str, artifact_id: str, actions: list) -> bool:
    """Change platform-derived fields (counters, impact) without touching the artifact's revision: they are
    not the user's edits and must not invalidate the ETag a user is holding for a PATCH."""
    ensure_bound()
    try:
        Artifact._get_connection().update_item(
            tenant_id, artifact_id, actions=actions, condition=Artifact.artifact_id.exists()
        )
        return True
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise


def set_impact(tenant_id: str, artifact_id: str, score: float, impact: dict) -> None:
    if _update_derived(tenant_id, artifact_id, [Artifact.impact_score.set(score), Artifact.impact.set(impact)]):
        search_index.set_impact(tenant_id, artifact_id, score)  # the index filters and sorts by impact


def record_version_counts(tenant_id: str, artifact_id: str, latest_version: str | None) -> None:
    actions: list[Action] = [Artifact.version_count.add(1)]
    if latest_version is not None:
        actions.append(Artifact.latest_version.set(latest_version))
    if _update_derived(tenant_id, artifact_id, actions):
        search_index.touch(tenant_id, artifact_id)  # search results show the counts
