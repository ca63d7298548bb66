"""Storage of artifact embeddings, one row per artifact in the tenant's partition."""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist

from maestro.repositories.schema import ArtifactVector
from maestro.repositories.tables import ensure_bound


def get_vector(tenant_id: str, artifact_id: str) -> ArtifactVector | None:
    ensure_bound()
    try:
        return ArtifactVector.get(tenant_id, artifact_id, consistent_read=True)
    except DoesNotExist:
        return None


def put_vector(row: ArtifactVector) -> None:
    ensure_bound()
    row.save()


def all_vectors(tenant_id: str) -> Iterator[ArtifactVector]:
    ensure_bound()
    return ArtifactVector.query(tenant_id)


def changed_since(tenant_id: str, since_ms: int) -> Iterator[ArtifactVector]:
    ensure_bound()
    return ArtifactVector.by_updated.query(tenant_id, ArtifactVector.updated_ms > since_ms)
