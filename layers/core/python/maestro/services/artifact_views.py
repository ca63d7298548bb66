"""The public shape of a stored artifact, shared by the artifact, usage, matching and embedding services (it sits
below all of them, so none has to import another for it)."""

from __future__ import annotations

from typing import Any

from maestro.repositories.schema import Artifact, stored_fields


def artifact_view(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.artifact_id,
        **stored_fields(
            artifact, "name", "type", "description", "owner", "latest_version", "impact_score", "impact", "deprecated"
        ),
        "tags": list(artifact.tags or []),
        "metadata": artifact.metadata or {},
        "usage_count": int(artifact.usage_count or 0),
        "version_count": int(artifact.version_count or 0),
        "created_at": artifact.created_at.isoformat(),
        "updated_at": artifact.updated_at.isoformat(),
        "revision": int(artifact.revision),
    }
