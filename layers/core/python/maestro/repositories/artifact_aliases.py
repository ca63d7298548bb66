"""Storage of version aliases. Every move is a compare-and-swap on the version the alias pointed at (and on its
revision when the client sent If-Match), in one transaction with checks that the artifact is live and the target
version is ready, so a move is audited with the exact `from` it replaced and never lands on a pending version."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from maestro.domain.artifacts import VersionStatus
from maestro.pagination import Page
from maestro.repositories.paging import query_page
from maestro.repositories.schema import Artifact, ArtifactAlias, ArtifactVersion, child_key
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    get_item,
    is_condition_failure,
    transaction_connection,
)


class AliasRaced(Exception):
    """The alias changed between the read and the conditional write (or its revision is not the expected one)."""


class ArtifactGone(Exception):
    """The artifact was deleted (or never existed) when the move was written."""


class VersionNotReady(Exception):
    """The version the alias would point at is not ready (pending or rejected) when the move was written."""


def get_alias(tenant_id: str, artifact_id: str, alias: str) -> ArtifactAlias | None:
    return get_item(ArtifactAlias, child_key(tenant_id, artifact_id), alias)


def list_aliases(tenant_id: str, artifact_id: str, limit: int, cursor: str | None) -> Page:
    return query_page(
        ArtifactAlias, child_key(tenant_id, artifact_id), limit=limit, cursor=cursor, consistent_read=True
    )


def all_aliases(tenant_id: str, artifact_id: str) -> list[ArtifactAlias]:
    ensure_bound()
    return list(ArtifactAlias.query(child_key(tenant_id, artifact_id), consistent_read=True))


def move_alias(
    tenant_id: str, artifact_id: str, alias: str, current: ArtifactAlias | None, version: str, actor: str, now: datetime
) -> ArtifactAlias:
    """Point `alias` at `version`, provided the alias is still exactly `current` (absent when None), the artifact
    is live and the version is ready. Raises AliasRaced, ArtifactGone or VersionNotReady."""
    ensure_bound()
    record = ArtifactAlias(
        child_key(tenant_id, artifact_id),
        alias,
        version=version,
        previous_version=current.version if current else None,
        revision=(int(current.revision) + 1) if current else 1,
        updated_by=actor,
        updated_at=now,
    )
    if current is None:
        unchanged = ArtifactAlias.alias.does_not_exist()
    else:
        unchanged = (ArtifactAlias.version == current.version) & (ArtifactAlias.revision == int(current.revision))
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.condition_check(Artifact, tenant_id, artifact_id, condition=Artifact.deleted == False)  # noqa: E712
            tx.condition_check(
                ArtifactVersion,
                child_key(tenant_id, artifact_id),
                version,
                condition=ArtifactVersion.status == VersionStatus.READY.value,
            )
            tx.save(record, condition=unchanged)
    except TransactWriteError as error:
        failed = failed_conditions(error)  # [artifact, version, alias]
        if 0 in failed:
            raise ArtifactGone() from None
        if 1 in failed:
            raise VersionNotReady() from None
        if 2 in failed:
            raise AliasRaced() from None
        raise
    return record


def delete_alias(current: ArtifactAlias) -> None:
    """Remove the alias provided it is still exactly `current`. Raises AliasRaced."""
    ensure_bound()
    try:
        current.delete(
            condition=(ArtifactAlias.version == current.version) & (ArtifactAlias.revision == int(current.revision))
        )
    except DeleteError as error:
        if is_condition_failure(error):
            raise AliasRaced() from None
        raise


# ---------------------------------------------------------------- protected aliases (per tenant)
def protected_aliases(tenant_id: str) -> list[str]:
    from maestro.repositories.identity import get_tenant

    tenant = get_tenant(tenant_id)
    return sorted(tenant.protected_aliases or []) if tenant else []


def set_protected_aliases(tenant_id: str, aliases: list[str]) -> None:
    from maestro.repositories.schema import Tenant

    ensure_bound()
    Tenant(tenant_id).update(
        actions=[Tenant.protected_aliases.set(sorted(set(aliases)))], condition=Tenant.tenant_id.exists()
    )
