"""Artifact use cases: the library's entries (create, read, change, deprecate, delete), keyword search and
the top list. Versions and their content live in maestro.services.artifact_versions; usage and impact in
maestro.services.usage."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from maestro.domain.artifacts import SearchFilters, deprecation_record, name_claim, rank
from maestro.domain.errors import DependencyUnavailable, InvalidInput, NotFound
from maestro.domain.identity.principals import Caller
from maestro.domain.identity.quotas import effective_quotas
from maestro.pagination import Page, decode_offset_cursor, encode_offset_cursor
from maestro.repositories import artifacts as store
from maestro.repositories import identity as identity_store
from maestro.repositories.schema import Artifact
from maestro.services import embeddings
from maestro.services.artifact_views import artifact_view
from maestro.services.context import RequestMeta, audit_as, retry_lost_races

DEFAULT_TOP, MAX_TOP = 10, 50  # the /v1/artifacts/top limit (its query model declares them)


def _now() -> datetime:
    return datetime.now(UTC)


def get_artifact_record(caller: Caller, artifact_id: str) -> Artifact:
    """The caller's tenant's live artifact, or NotFound (also for another tenant's id)."""
    artifact = store.get_artifact(caller.tenant_id, artifact_id)
    if artifact is None:
        raise NotFound(f"artifact {artifact_id} not found")
    return artifact


def create_artifact(caller: Caller, fields: dict[str, Any], meta: RequestMeta) -> dict:
    now = _now()
    artifact_id = f"art_{uuid.uuid4().hex}"
    artifact = Artifact(
        caller.tenant_id,
        artifact_id,
        created_at=now,
        updated_at=now,
        type_name=f"{fields['type']}#{fields['name'].casefold()}",
        owner=fields.get("owner") or caller.actor,
        **{k: v for k, v in fields.items() if k != "owner" and v is not None},
    )
    tenant = identity_store.get_tenant(caller.tenant_id)
    store.create_artifact(
        artifact,
        name_claim(artifact.type, artifact.name),
        effective_quotas(tenant.quota_overrides if tenant else None)["artifacts"],
    )
    audit_as(
        caller,
        "artifact.create",
        "artifact",
        artifact_id,
        meta,
        changes={"after": {k: fields[k] for k in ("name", "type", "tags") if k in fields}},
    )
    embeddings.artifact_changed(caller.tenant_id, artifact_id)
    return artifact_view(artifact)


def get_artifact(caller: Caller, artifact_id: str) -> dict:
    return artifact_view(get_artifact_record(caller, artifact_id))


def update_artifact(
    caller: Caller, artifact_id: str, changes: dict[str, Any], expected_revision: int | None, meta: RequestMeta
) -> dict:
    """Description, tags, metadata and deprecation ({reason, replacement_id?}, or null to undeprecate)."""
    return retry_lost_races(lambda: _update_artifact_once(caller, artifact_id, changes, expected_revision, meta))


def _update_artifact_once(
    caller: Caller, artifact_id: str, changes: dict[str, Any], expected_revision: int | None, meta: RequestMeta
) -> dict:
    artifact = get_artifact_record(caller, artifact_id)
    before = artifact_view(artifact)
    actions = []
    for name in ("description", "tags", "metadata"):
        if name in changes:
            actions.append(getattr(Artifact, name).set(changes[name]))
    if "deprecated" in changes:
        deprecation = changes["deprecated"]
        if deprecation is None:
            actions.append(Artifact.deprecated.remove())
        else:
            replacement = deprecation.get("replacement_id")
            if replacement == artifact_id:
                raise InvalidInput("an artifact cannot replace itself", field="deprecated.replacement_id")
            if replacement is not None:
                get_artifact_record(caller, replacement)
            actions.append(
                Artifact.deprecated.set(deprecation_record(deprecation["reason"], replacement, _now(), caller.actor))
            )
    if not actions:
        raise InvalidInput("nothing to change: give description, tags, metadata or deprecated")
    actions.append(Artifact.updated_at.set(_now()))
    updated = artifact_view(store.update_artifact(artifact, actions, expected_revision))
    action = "artifact.deprecate" if changes.get("deprecated") else "artifact.update"
    audit_as(
        caller,
        action,
        "artifact",
        artifact_id,
        meta,
        changes={"before": {k: before[k] for k in changes}, "after": {k: updated[k] for k in changes}},
    )
    embeddings.artifact_changed(caller.tenant_id, artifact_id)
    return updated


def delete_artifact(caller: Caller, artifact_id: str, meta: RequestMeta) -> None:
    artifact = get_artifact_record(caller, artifact_id)
    store.soft_delete_artifact(artifact, name_claim(artifact.type, artifact.name), _now())
    audit_as(caller, "artifact.delete", "artifact", artifact_id, meta, changes={"before": {"name": artifact.name}})
    embeddings.artifact_changed(caller.tenant_id, artifact_id)


SEMANTIC_CANDIDATES = 100  # the semantic ranking's top entries that enter the fused list


def search(
    caller: Caller, filters: SearchFilters, sort: str, limit: int, cursor: str | None, mode: str = "keyword"
) -> Page:
    """Search the tenant's library; ranked per request, paged by offset cursor. Filters apply in every mode.
    keyword: the words in name, tags and description. semantic: cosine similarity of MiniLM embeddings.
    hybrid: reciprocal rank fusion of the two. Each hit carries its score and the modes that found it."""
    fingerprint = hashlib.sha256(
        json.dumps([filters.__dict__, sort, mode], sort_keys=True, default=list).encode()
    ).hexdigest()[:16]
    offset = decode_offset_cursor(cursor, fingerprint)
    library = _library(caller.tenant_id)
    extra: dict = {}
    if mode != "keyword" and filters.query:
        try:
            hits = _semantic_hits(caller.tenant_id, library, filters, sort, mode)
            extra.update(_embedding_coverage(caller.tenant_id, [a["id"] for a in library if filters.admits(a)]))
        except DependencyUnavailable as unavailable:
            if mode == "semantic":
                raise
            # Hybrid by default must not fail a search: without the model it is keyword search, and says so.
            mode, extra["degraded"] = "keyword", unavailable.detail
    if mode == "keyword" or not filters.query:
        hits = [
            {
                **artifact,
                "score": score,
                "mode": "keyword" if filters.query else "filter",
                "found_by": ["keyword"] if filters.query else [],
            }
            for artifact, score in rank(library, filters, sort)
        ]
    window = hits[offset : offset + limit]
    next_cursor = encode_offset_cursor(offset + limit, fingerprint) if offset + limit < len(hits) else None
    return Page(window, next_cursor, extra={"total": len(hits), "mode": mode if filters.query else "filter", **extra})


def _library(tenant_id: str) -> list[dict]:
    return [artifact_view(a) for a in store.tenant_artifacts(tenant_id)]


def _embedding_coverage(tenant_id: str, admitted_ids: list[str]) -> dict:
    """`not_embedded` and a `degraded` note when some artifacts the filters admit have no vector yet."""
    missing = embeddings.not_embedded(tenant_id, admitted_ids)
    if not missing:
        return {}
    return {
        "not_embedded": missing,
        "degraded": f"{missing} of {len(admitted_ids)} artifacts are not embedded yet; semantic ranking "
        "cannot see them until they are (seconds after a change; an admin can run the embedding backfill)",
    }


def _semantic_hits(tenant_id: str, library: list[dict], filters: SearchFilters, sort: str, mode: str) -> list[dict]:
    from maestro.domain.retrieval import reciprocal_rank_fusion

    admitted = {a["id"]: a for a in library if filters.admits(a)}
    semantic = embeddings.semantic_ranking(tenant_id, filters.query, set(admitted), SEMANTIC_CANDIDATES)
    if mode == "semantic":
        scored = semantic
        found = {artifact_id: ["semantic"] for artifact_id, _ in semantic}
    else:
        keyword = [a["id"] for a, _ in rank(admitted.values(), filters, "relevance")]
        scored = reciprocal_rank_fusion([keyword, [artifact_id for artifact_id, _ in semantic]])
        keyword_ids, semantic_ids = set(keyword), {artifact_id for artifact_id, _ in semantic}
        found = {
            artifact_id: [m for m, ids in (("keyword", keyword_ids), ("semantic", semantic_ids)) if artifact_id in ids]
            for artifact_id, _ in scored
        }
    hits = [
        {**admitted[artifact_id], "score": round(score, 6), "mode": mode, "found_by": found[artifact_id]}
        for artifact_id, score in scored
    ]
    if sort != "relevance":
        keys = {"impact": "impact_score", "usage": "usage_count", "recent": "updated_at"}
        hits.sort(key=lambda h: (h[keys[sort]] or 0, h["score"]), reverse=True)
    return hits


def top(caller: Caller, artifact_type: str | None, limit: int) -> list[dict]:
    if not 1 <= limit <= MAX_TOP:
        raise InvalidInput(f"limit must be between 1 and {MAX_TOP}", parameter="limit")
    return [artifact_view(a) for a in store.top_by_impact(caller.tenant_id, artifact_type, limit)]
