"""Artifact embeddings: computed asynchronously when an artifact or its content changes (an `ArtifactChanged`
event to the embedding function, never inside the user's request), stored per tenant, and searched through a
per-tenant index each warm function keeps in memory and brings up to date with the vectors changed since.

The encoder (maestro_embedding: onnxruntime + tokenizers) lives in the embedding layer and is imported only
when a vector is needed, so CRUD requests never load it."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from maestro.domain import retrieval
from maestro.domain.errors import DependencyUnavailable
from maestro.domain.identity.principals import Caller
from maestro.observability import logger
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import vectors as vector_store
from maestro.repositories.schema import ArtifactVector
from maestro.services.artifact_views import artifact_view
from maestro.services.context import RequestMeta, audit_as

EVENT_ARTIFACT_CHANGED = "ArtifactChanged"
EVENT_BACKFILL = "EmbeddingBackfillRequested"
TEXT_LIKE_TYPES = (
    "application/x-ipynb+json",
    "application/json",
    "application/schema+json",
    "application/vnd.apache.avro+json",
    "text/",
)
CHANGE_OVERLAP_MS = 5_000  # re-read a little before the last change seen: writers' clocks and lags differ
CACHED_TENANTS = 32

_encoder = None
_encoder_lock = threading.Lock()


def encoder() -> Any:
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                try:
                    from maestro_embedding import default_encoder

                    _encoder = default_encoder()
                except (ImportError, FileNotFoundError, OSError) as error:
                    raise DependencyUnavailable(
                        f"the embedding model is not available here ({type(error).__name__})"
                    ) from None
    return _encoder


def artifact_changed(tenant_id: str, artifact_id: str) -> None:
    """Ask for (re-)embedding; the embedding function does the work."""
    from maestro.repositories import events

    events.publish(events.SOURCE_REGISTRY, EVENT_ARTIFACT_CHANGED, {"tenant_id": tenant_id, "artifact_id": artifact_id})


def request_backfill(caller: Caller, meta: RequestMeta) -> dict[str, str]:
    """Queue re-embedding every artifact of the caller's tenant (the embedding function skips unchanged
    texts); audited. Returns the queued job's view."""
    from maestro.repositories import events

    events.publish(events.SOURCE_REGISTRY, EVENT_BACKFILL, {"tenant_id": caller.tenant_id})
    audit_as(caller, "artifact.embedding_backfill", "tenant", caller.tenant_id, meta)
    return {"id": f"{caller.tenant_id}:embedding-backfill", "status": "queued"}


def _content_text(tenant_id: str, artifact: Any) -> str:
    """Text from the latest ready version's content when it is text-like (notebooks, schemas, source)."""
    if not artifact.latest_version:
        return ""
    from maestro.aws_clients import client
    from maestro.repositories import artifact_versions
    from maestro.settings import get_settings

    version = artifact_versions.get_version(tenant_id, artifact.artifact_id, artifact.latest_version)
    if version is None or version.status != "ready" or not version.content_type.startswith(TEXT_LIKE_TYPES):
        return ""
    kwargs = {"VersionId": version.s3_version_id} if version.s3_version_id else {}
    body = (
        client("s3")
        .get_object(
            Bucket=get_settings().artifact_bucket,
            Key=version.s3_key,
            Range=f"bytes=0-{retrieval.MAX_CONTENT_BYTES - 1}",
            **kwargs,
        )["Body"]
        .read()
    )
    return retrieval.extract_content_text(version.content_type, version.s3_key, body)


def embed_artifact(tenant_id: str, artifact_id: str) -> str:
    """Embed the artifact's text if it changed since the last time; returns embedded | unchanged | removed."""
    now_ms = int(time.time() * 1000)
    artifact = artifact_store.get_artifact(tenant_id, artifact_id)
    existing = vector_store.get_vector(tenant_id, artifact_id)
    if artifact is None:
        if existing is not None and not existing.deleted:
            existing.deleted, existing.updated_ms = True, now_ms
            vector_store.put_vector(existing)
            return "removed"
        return "unchanged"
    text = retrieval.artifact_text(artifact_view(artifact), _content_text(tenant_id, artifact))
    digest = hashlib.sha256(text.encode()).hexdigest()
    if existing is not None and existing.text_sha256 == digest and not existing.deleted:
        return "unchanged"
    vector = encoder().encode([text])[0].astype("<f4").tobytes()
    vector_store.put_vector(
        ArtifactVector(tenant_id, artifact_id, vector=vector, text_sha256=digest, updated_ms=now_ms, deleted=False)
    )
    return "embedded"


def backfill_tenant(tenant_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for artifact in artifact_store.tenant_artifacts(tenant_id):
        outcome = embed_artifact(tenant_id, artifact.artifact_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    logger.info("embedding backfill", extra={"tenant_id": tenant_id, **counts})
    return counts


# ---------------------------------------------------------------- the search side
class TenantVectors:
    """One tenant's vectors in memory: ids, an (n, 384) matrix, and the newest change seen."""

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self.rows: dict[str, Any] = {}
        self.newest_ms = 0
        self._matrix = None
        self._ids: list[str] = []

    def apply(self, row: ArtifactVector) -> None:
        if row.deleted:
            self.rows.pop(row.artifact_id, None)
        else:
            self.rows[row.artifact_id] = self._np.frombuffer(row.vector, dtype="<f4")
        self.newest_ms = max(self.newest_ms, int(row.updated_ms))
        self._matrix = None

    def matrix(self) -> tuple[list[str], Any]:
        if self._matrix is None:
            self._ids = list(self.rows)
            self._matrix = (
                self._np.vstack([self.rows[i] for i in self._ids])
                if self._ids
                else self._np.zeros((0, 384), dtype="<f4")
            )
        return self._ids, self._matrix


_indexes: OrderedDict[str, TenantVectors] = OrderedDict()
_indexes_lock = threading.Lock()


def tenant_vectors(tenant_id: str) -> TenantVectors:
    """The tenant's vectors, loaded once per warm function and refreshed with what changed since."""
    with _indexes_lock:
        index = _indexes.get(tenant_id)
        if index is None:
            index = TenantVectors()
            for row in vector_store.all_vectors(tenant_id):
                index.apply(row)
            _indexes[tenant_id] = index
            while len(_indexes) > CACHED_TENANTS:
                _indexes.popitem(last=False)
        else:
            _indexes.move_to_end(tenant_id)
            for row in vector_store.changed_since(tenant_id, index.newest_ms - CHANGE_OVERLAP_MS):
                index.apply(row)
        return index


def not_embedded(tenant_id: str, artifact_ids: list[str]) -> int:
    """How many of these artifacts have no vector yet (created or changed moments ago, or never embedded):
    semantic ranking cannot see them, and the answer must say so rather than look complete."""
    vectors = tenant_vectors(tenant_id).rows
    return sum(1 for artifact_id in artifact_ids if artifact_id not in vectors)


def semantic_ranking(tenant_id: str, query: str, candidates: set[str], limit: int) -> list[tuple[str, float]]:
    """Candidates ordered by cosine similarity to the query (vectors are unit length)."""
    ids, matrix = tenant_vectors(tenant_id).matrix()
    if not ids:
        return []
    query_vector = encoder().encode([query])[0]
    scored = retrieval.cosine_top_k(query_vector, matrix, ids, len(ids))
    return [(artifact_id, score) for artifact_id, score in scored if artifact_id in candidates][:limit]
