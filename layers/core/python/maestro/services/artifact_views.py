"""The public shape of a stored artifact, shared by the artifact, usage, matching and embedding services (it sits
below all of them, so none has to import another for it)."""

from __future__ import annotations

from typing import Any

from maestro.repositories.schema import Artifact


def artifact_view(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.artifact_id,
        "name": artifact.name,
        "type": artifact.type,
        "description": artifact.description,
        "tags": list(artifact.tags or []),
        "metadata": artifact.metadata or {},
        "owner": artifact.owner,
        "usage_count": int(artifact.usage_count or 0),
        "version_count": int(artifact.version_count or 0),
        "latest_version": artifact.latest_version,
        "impact_score": artifact.impact_score,
        "impact": artifact.impact,
        "deprecated": artifact.deprecated,
        "created_at": artifact.created_at.isoformat(),
        "updated_at": artifact.updated_at.isoformat(),
        "revision": int(artifact.revision),
    }
