"""Storage of artifact embeddings, one row per artifact in the tenant's partition."""

from __future__ import annotations

from collections.abc import Iterator

from maestro.repositories.schema import ArtifactVector
from maestro.repositories.tables import ensure_bound, get_item


def get_vector(tenant_id: str, artifact_id: str) -> ArtifactVector | None:
    return get_item(ArtifactVector, tenant_id, artifact_id)


def put_vector(row: ArtifactVector) -> None:
    ensure_bound()
    row.save()


def changed_since(tenant_id: str, since_ms: int) -> Iterator[ArtifactVector]:
    ensure_bound()
    return ArtifactVector.by_updated.query(tenant_id, ArtifactVector.updated_ms > since_ms)
