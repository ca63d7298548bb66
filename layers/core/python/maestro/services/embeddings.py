"""Artifact embeddings: computed asynchronously when an artifact or its content changes (an `ArtifactChanged`
event to the embedding function, never inside the user's request), stored per tenant, and searched through a
per-tenant index each warm function keeps in memory and brings up to date with the vectors changed since.

The encoder (maestro_embedding: onnxruntime + tokenizers) lives in the embedding layer and is imported only
when a vector is needed, so CRUD requests never load it."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from maestro.domain import retrieval
from maestro.domain.errors import DependencyUnavailable
from maestro.domain.identity.principals import Caller
from maestro.observability import logger
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import vectors as vector_store
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
# A Parquet file's schema is in its footer, at the end: this much of the tail holds it for any sane file.
PARQUET_TAIL_BYTES = 1_000_000

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
    """Text extracted from the latest ready version's content, when its kind is one the extraction reads
    (notebooks, schemas, Python, CSV, Parquet, Markdown/text): the first MAX_CONTENT_BYTES, or for Parquet the
    file's tail, where its footer (the schema) lives."""
    if not artifact.latest_version:
        return ""
    from maestro.aws_clients import client
    from maestro.repositories import artifact_versions
    from maestro.settings import get_settings

    version = artifact_versions.get_version(tenant_id, artifact.artifact_id, artifact.latest_version)
    if version is None or version.status != "ready":
        return ""
    kind = retrieval.content_kind(version.content_type, version.s3_key)
    if kind is None and not version.content_type.startswith(TEXT_LIKE_TYPES):
        return ""
    kwargs = {"VersionId": version.s3_version_id} if version.s3_version_id else {}
    byte_range = f"bytes=-{PARQUET_TAIL_BYTES}" if kind == "parquet" else f"bytes=0-{retrieval.MAX_CONTENT_BYTES - 1}"
    body = (
        client("s3")
        .get_object(Bucket=get_settings().artifact_bucket, Key=version.s3_key, Range=byte_range, **kwargs)["Body"]
        .read()
    )
    return retrieval.extract_content_text(version.content_type, version.s3_key, body)


def embed_artifact(tenant_id: str, artifact_id: str) -> str:
    """Bring the artifact's search-index entry up to date: its record fields, the text extracted from its content
    and the embedding of that text (computed only when the text changed). Returns embedded | reindexed |
    unchanged | removed | superseded (a newer revision was indexed meanwhile) | not_embedded (the model is not
    available here; the entry is indexed for keyword search and the vector waits for the next change or backfill)."""
    from maestro.repositories import search_index as index_store

    now_ms = int(time.time() * 1000)
    artifact = artifact_store.get_artifact(tenant_id, artifact_id)
    existing = vector_store.get_vector(tenant_id, artifact_id)
    if artifact is None:
        if existing is not None and not existing.deleted:
            index_store.update_entry(tenant_id, artifact_id, index_store.removal_actions(now_ms))
            return "removed"
        return "unchanged"
    view = artifact_view(artifact)
    content = _content_text(tenant_id, artifact)
    text = retrieval.artifact_text(view, content)
    digest = hashlib.sha256(text.encode()).hexdigest()
    entry = index_store.entry_of(view)
    has_vector = existing is not None and existing.vector is not None and existing.text_sha256 == digest
    if (
        has_vector
        and existing is not None
        and not existing.deleted
        and existing.entry == entry
        and (existing.content_text or "") == content
        and existing.usage_count is not None
    ):
        return "unchanged"
    actions = [*index_store.entry_actions(view, now_ms), vector_store.ArtifactVector.content_text.set(content)]
    outcome = "reindexed"
    if not has_vector:
        try:
            vector = encoder().encode([text])[0].astype("<f4").tobytes()
        except DependencyUnavailable:
            vector, outcome = None, "not_embedded"
        if vector is not None:
            outcome = "embedded"
            actions += [
                vector_store.ArtifactVector.vector.set(vector),
                vector_store.ArtifactVector.text_sha256.set(digest),
            ]
    condition = index_store.newer_revision_condition(int(view["revision"])) & (
        vector_store.ArtifactVector.deleted.does_not_exist() | (vector_store.ArtifactVector.deleted == False)  # noqa: E712
    )
    if not index_store.update_entry(tenant_id, artifact_id, actions, condition=condition):
        return "superseded"
    return outcome


def backfill_tenant(tenant_id: str) -> dict[str, int]:
    """Index and embed every artifact of the tenant, then write its search-index snapshot."""
    counts: dict[str, int] = {}
    for artifact in artifact_store.tenant_artifacts(tenant_id):
        outcome = embed_artifact(tenant_id, artifact.artifact_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    from maestro.services import search_index

    search_index.compact(tenant_id, force=True)
    logger.info("embedding backfill", extra={"tenant_id": tenant_id, **counts})
    return counts


# ---------------------------------------------------------------- the search side
class TenantVectors:
    """A tenant's embedded artifacts as (ids, unit-length matrix), read from its search index."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def matrix(self) -> tuple[list[str], Any]:
        from maestro.services.search_index import reading

        with reading(self.tenant_id) as index:
            return index.vector_matrix()


def tenant_vectors(tenant_id: str) -> TenantVectors:
    """The tenant's vectors, from the search index (loaded once per warm function, refreshed by changes)."""
    return TenantVectors(tenant_id)


def semantic_ranking(tenant_id: str, query: str, candidates: set[str], limit: int) -> list[tuple[str, float]]:
    """Candidates ordered by cosine similarity to the query (vectors are unit length)."""
    ids, matrix = tenant_vectors(tenant_id).matrix()
    if not ids:
        return []
    query_vector = encoder().encode([query])[0]
    scored = retrieval.cosine_top_k(query_vector, matrix, ids, len(ids))
    return [(artifact_id, score) for artifact_id, score in scored if artifact_id in candidates][:limit]
