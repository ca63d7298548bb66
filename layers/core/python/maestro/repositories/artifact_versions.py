"""Storage of artifact versions and their lineage edges. A version is written once (attribute_not_exists)
together with an edge per parent; its status leaves `pending` exactly once (a condition on `pending`), and
becoming ready adds its bytes to the tenant's storage counter in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from maestro.domain.artifact_versions import Integrity, VersionRef
from maestro.domain.artifacts import VersionStatus
from maestro.domain.errors import Conflict, NotFound
from maestro.pagination import Page
from maestro.repositories.paging import query_page
from maestro.repositories.schema import Artifact, ArtifactVersion, LineageEdge, Tenant, child_key, parent_id_of
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    get_item,
    transaction_connection,
    update_if,
)


def edge_key(child: VersionRef, parent_version: str) -> str:
    return f"{child.artifact_id}#{child.version}#{parent_version}"


def create_version(
    tenant_id: str, version: ArtifactVersion, parents: list[VersionRef], edges: list[LineageEdge]
) -> None:
    """Write the version and its lineage edges, provided the artifact is live, every parent version exists
    and is not rejected, and the version is new."""
    ensure_bound()
    artifact_id = parent_id_of(version.tenant_artifact)
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.condition_check(Artifact, tenant_id, artifact_id, condition=Artifact.deleted == False)  # noqa: E712
            for parent in parents:
                tx.condition_check(
                    ArtifactVersion,
                    child_key(tenant_id, parent.artifact_id),
                    parent.version,
                    condition=ArtifactVersion.version.exists()
                    & (ArtifactVersion.status != VersionStatus.REJECTED.value),
                )
            tx.save(version, condition=ArtifactVersion.version.does_not_exist())
            for edge in edges:
                tx.save(edge)
    except TransactWriteError as error:
        # Condition checks go first, then puts: [artifact, parent 1..n, version, edges...].
        failed = failed_conditions(error)
        if 0 in failed:
            raise NotFound(f"artifact {artifact_id} not found") from None
        for number, parent in enumerate(parents, start=1):
            if number in failed:
                raise NotFound(
                    f"version {parent.version} of artifact {parent.artifact_id} not found (or rejected)",
                    field="derived_from",
                ) from None
        if len(parents) + 1 in failed:
            raise Conflict(
                f"version {version.version} already exists; versions are immutable", field="version"
            ) from None
        raise


def get_version(tenant_id: str, artifact_id: str, version: str) -> ArtifactVersion | None:
    return get_item(ArtifactVersion, child_key(tenant_id, artifact_id), version)


def list_versions(tenant_id: str, artifact_id: str, limit: int, cursor: str | None) -> Page:
    """One page of the artifact's versions in key order."""
    return query_page(
        ArtifactVersion, child_key(tenant_id, artifact_id), limit=limit, cursor=cursor, consistent_read=True
    )


def all_versions(tenant_id: str, artifact_id: str, status: str | None = None) -> Iterator[ArtifactVersion]:
    """Every version of the artifact (a partition query, page by page; never a scan)."""
    ensure_bound()
    condition = ArtifactVersion.status == status if status else None
    return ArtifactVersion.query(child_key(tenant_id, artifact_id), filter_condition=condition, consistent_read=True)


def mark_ready(tenant_id: str, version: ArtifactVersion, s3_version_id: str | None, now: datetime) -> bool:
    """pending -> ready, pinned to the verified object version, and the tenant's stored bytes grow by the
    version's size, in one transaction. False if the version was no longer pending (already decided)."""
    ensure_bound()
    actions: list[Action] = [
        ArtifactVersion.status.set(VersionStatus.READY.value),
        ArtifactVersion.status_reason.remove(),
        ArtifactVersion.integrity.set(Integrity.INTACT),
        ArtifactVersion.verified_at.set(now),
    ]
    if s3_version_id:
        actions.append(ArtifactVersion.s3_version_id.set(s3_version_id))
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.update(version, actions=actions, condition=ArtifactVersion.status == VersionStatus.PENDING.value)
            tx.update(
                Tenant(tenant_id),
                actions=[Tenant.stored_bytes.add(int(version.size_bytes))],
                condition=Tenant.tenant_id.exists(),
            )
    except TransactWriteError as error:
        if 0 in failed_conditions(error):  # [version, tenant]
            return False
        raise
    return True


def mark_rejected(version: ArtifactVersion, reason: str, s3_version_id: str | None, now: datetime) -> bool:
    """pending -> rejected with the reason. False if the version was no longer pending."""
    ensure_bound()
    actions = [
        ArtifactVersion.status.set(VersionStatus.REJECTED.value),
        ArtifactVersion.status_reason.set(reason),
        ArtifactVersion.verified_at.set(now),
    ]
    if s3_version_id:
        actions.append(ArtifactVersion.s3_version_id.set(s3_version_id))
    return update_if(version, actions, ArtifactVersion.status == VersionStatus.PENDING.value)


def flag_changed(version: ArtifactVersion) -> bool:
    """Mark that the object under a ready version's key is no longer the verified one. False if it was
    already flagged (a replayed event changes nothing)."""
    ensure_bound()
    return update_if(
        version,
        [ArtifactVersion.integrity.set(Integrity.CHANGED)],
        (ArtifactVersion.status == VersionStatus.READY.value) & (ArtifactVersion.integrity != Integrity.CHANGED),
    )


def derived_edges(tenant_id: str, parent_artifact_id: str) -> Iterator[LineageEdge]:
    """The edges from any version of a parent artifact to the versions that derive from it."""
    ensure_bound()
    return LineageEdge.query(child_key(tenant_id, parent_artifact_id))


def set_signature(
    tenant_id: str, artifact_id: str, version: str, signature: dict | None, serving_problem: str | None
) -> None:
    """Store what serving read from a ready version's graph (its signature, or why it cannot be served)."""
    ensure_bound()
    actions: list[Action] = [ArtifactVersion.signature.set(signature)] if signature is not None else []
    actions.append(
        ArtifactVersion.serving_problem.set(serving_problem)
        if serving_problem
        else ArtifactVersion.serving_problem.remove()
    )
    ArtifactVersion(child_key(tenant_id, artifact_id), version).update(
        actions=actions, condition=ArtifactVersion.status == VersionStatus.READY.value
    )
