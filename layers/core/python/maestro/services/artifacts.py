"""Artifact use cases: the library's entries (create, read, change, deprecate, delete), keyword search and
the top list. Versions and their content live in maestro.services.artifact_versions; usage and impact in
maestro.services.usage."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from maestro.domain.artifacts import SearchFilters, deprecation_record, name_claim
from maestro.domain.errors import DependencyUnavailable, InvalidInput, NotFound
from maestro.domain.identity.principals import Caller
from maestro.domain.identity.quotas import effective_quotas
from maestro.pagination import Page, decode_offset_cursor, encode_offset_cursor
from maestro.repositories import artifacts as store
from maestro.repositories import identity as identity_store
from maestro.repositories import search_index as search_store
from maestro.repositories.schema import Artifact
from maestro.services import embeddings, search_index
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
    view = artifact_view(artifact)
    store.create_artifact(
        artifact,
        name_claim(artifact.type, artifact.name),
        effective_quotas(tenant.quota_overrides if tenant else None)["artifacts"],
        index_entry=search_store.entry_actions(view, search_store.now_ms()),
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
    return view


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
    # Search sees the edit (a deprecation above all) at once; the embed function re-reads content and vector.
    search_store.update_entry(
        caller.tenant_id,
        artifact_id,
        search_store.entry_actions(updated, search_store.now_ms()),
        condition=search_store.newer_revision_condition(updated["revision"]),
    )
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
    store.soft_delete_artifact(
        artifact, name_claim(artifact.type, artifact.name), _now(), search_store.removal_actions(search_store.now_ms())
    )
    audit_as(caller, "artifact.delete", "artifact", artifact_id, meta, changes={"before": {"name": artifact.name}})
    embeddings.artifact_changed(caller.tenant_id, artifact_id)


def search(
    caller: Caller, filters: SearchFilters, sort: str, limit: int, cursor: str | None, mode: str = "keyword"
) -> Page:
    """Search the tenant's library through its search index (maestro.services.search_index: in memory, brought
    up to date when the tenant's change counter moved; never a read of the artifact partition), then read the
    page's artifacts that changed since this process last read them with one consistent batch read, so a hit
    deleted or deprecated a moment ago is not returned.
    keyword: BM25 over name, type, description, tags, metadata and content, an exact name first. semantic:
    cosine similarity of MiniLM embeddings. hybrid: reciprocal rank fusion of the two. Without a query: the
    filtered library by the sort. Filters apply in every mode; each hit carries its score and the modes that
    found it. `degraded` says why the answer may be incomplete (the model unavailable, or artifacts not embedded
    yet)."""
    fingerprint = hashlib.sha256(
        json.dumps([filters.__dict__, sort, mode], sort_keys=True, default=list).encode()
    ).hexdigest()[:16]
    offset = decode_offset_cursor(cursor, fingerprint)
    depth = offset + limit
    extra: dict = {}
    query_vector = None
    if filters.query and mode != "keyword":
        try:
            query_vector = embeddings.encoder().encode([filters.query])[0]
        except DependencyUnavailable as unavailable:
            if mode == "semantic":
                raise
            # Hybrid by default must not fail a search: without the model it is keyword search, and says so.
            mode, extra["degraded"] = "keyword", unavailable.detail
    with search_index.reading(caller.tenant_id) as index:
        ranked, mode = _rank(index, filters, sort, mode, query_vector, depth)
        named = ranked.name_match or [False] * len(ranked.ids)
        window = list(zip(ranked.ids, ranked.scores, ranked.found_by, named, strict=True))[offset:depth]
        versions = {artifact_id: index.version_of(artifact_id) for artifact_id, *_ in window}
    if ranked.not_embedded and mode in ("semantic", "hybrid"):
        extra["not_embedded"] = ranked.not_embedded
        extra["degraded"] = (
            f"{ranked.not_embedded} of {ranked.admitted} artifacts are not embedded yet; semantic ranking cannot "
            "see them until they are (seconds after a change; an admin can run the embedding backfill)"
        )
    views = _page_views(caller.tenant_id, versions)
    hits = []
    for artifact_id, score, found_by, name_match in window:
        view = views.get(artifact_id)
        # The index may be a moment behind the record: what the record says now decides.
        if view is not None and filters.admits(view):
            hits.append({**view, "score": score, "mode": mode, "found_by": found_by, "name_match": name_match})
    next_cursor = encode_offset_cursor(depth, fingerprint) if depth < ranked.total else None
    return Page(hits, next_cursor, extra={"total": ranked.total, "mode": mode, **extra})


def _page_views(tenant_id: str, versions: dict[str, int]) -> dict[str, dict]:
    """The live artifacts of a page of hits: those unchanged since this process last read them from memory, the
    others with one consistent batch read."""
    views = search_index.known_views(tenant_id, versions)
    missing = [artifact_id for artifact_id in versions if artifact_id not in views]
    if missing:
        read = {i: artifact_view(record) for i, record in search_store.hydrate(tenant_id, missing).items()}
        search_index.keep_views(tenant_id, versions, read)
        views.update(read)
    return views


def _rank(index: Any, filters: SearchFilters, sort: str, mode: str, query_vector: Any, depth: int) -> tuple[Any, str]:
    """The index's ranked answer for the request, and the mode that answered."""
    from maestro.domain.search_index import IndexFilters

    index_filters = IndexFilters(
        type=filters.type,
        tags=tuple(filters.tags),
        min_impact_score=filters.min_impact_score,
        include_deprecated=filters.include_deprecated,
    )
    if not filters.query:
        return index.filtered(index_filters, sort, depth), "filter"
    if mode == "keyword":
        return index.keyword(filters.query, index_filters, depth, sort), mode
    if mode == "semantic":
        return index.resorted(index.semantic(query_vector, index_filters), sort), mode
    return index.resorted(index.hybrid(filters.query, query_vector, index_filters), sort), mode


def top(caller: Caller, artifact_type: str | None, limit: int) -> list[dict]:
    if not 1 <= limit <= MAX_TOP:
        raise InvalidInput(f"limit must be between 1 and {MAX_TOP}", parameter="limit")
    return [artifact_view(a) for a in store.top_by_impact(caller.tenant_id, artifact_type, limit)]
