"""Artifact version use cases: declare a version and get a presigned upload URL, verify the bytes once they
land (from the S3 object-created event, or synchronously through `complete`), read versions, issue pinned
download URLs, and walk lineage in both directions.

A version is immutable: it is `pending` until its object is verified against the declared size and SHA-256,
then `ready` (pinned to the verified S3 object version) or `rejected` with the reason, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain import artifact_versions as rules
from maestro.domain.artifact_versions import Integrity, VersionRef
from maestro.domain.artifacts import VersionStatus
from maestro.domain.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from maestro.domain.identity.principals import Caller
from maestro.domain.identity.quotas import effective_quotas, quota_exceeded
from maestro.domain.model_serving import is_servable
from maestro.pagination import Page
from maestro.repositories import artifact_content as content
from maestro.repositories import artifact_versions as store
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import identity as identity_store
from maestro.repositories.schema import ArtifactVersion, LineageEdge, child_key, parent_id_of, stored_fields
from maestro.services.artifact_aliases import resolve_version
from maestro.services.artifacts import get_artifact_record
from maestro.services.context import RequestMeta, audit_as, record_audit

SYSTEM_ACTOR = "system"


def _now() -> datetime:
    return datetime.now(UTC)


def version_view(record: ArtifactVersion) -> dict[str, Any]:
    return {
        "id": record.version,
        "artifact_id": parent_id_of(record.tenant_artifact),
        **stored_fields(
            record,
            "version",
            "status",
            "status_reason",
            "description",
            "sha256",
            "content_type",
            "integrity",
            "created_by",
            "signature",
            "serving_problem",
        ),
        "derived_from": list(record.derived_from or []),
        "size_bytes": int(record.size_bytes),
        "created_at": record.created_at.isoformat(),
        "verified_at": record.verified_at.isoformat() if record.verified_at else None,
    }


def _artifact_and_version(caller: Caller, artifact_id: str, version: str) -> tuple[Any, ArtifactVersion]:
    """The caller's tenant's artifact and its version (`version` may be `@alias`), or NotFound (also for another
    tenant's artifact)."""
    artifact = get_artifact_record(caller, artifact_id)
    return artifact, _stored_version(
        caller.tenant_id, artifact_id, resolve_version(caller.tenant_id, artifact_id, version)
    )


def _version_record(caller: Caller, artifact_id: str, version: str) -> ArtifactVersion:
    return _artifact_and_version(caller, artifact_id, version)[1]


def _stored_version(tenant_id: str, artifact_id: str, version: str) -> ArtifactVersion:
    record = store.get_version(tenant_id, artifact_id, version)
    if record is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found")
    return record


# ---------------------------------------------------------------- declare and upload
def create_version(caller: Caller, artifact_id: str, fields: dict[str, Any], meta: RequestMeta) -> dict:
    """Record a pending version and return it with a presigned PUT URL bound to the declared size, type and
    SHA-256. NotFound for a parent that is not the tenant's; Conflict when the version already exists."""
    get_artifact_record(caller, artifact_id)
    version = fields["version"]
    # `@alias` parents are pinned to the version the alias names now: lineage is history, not a live pointer.
    parents = [
        VersionRef(p["artifact_id"], _parent_version(caller, p["artifact_id"], p["version"], number))
        for number, p in enumerate(fields.get("derived_from") or [])
    ]
    problem = rules.parents_problem(VersionRef(artifact_id, version), parents)
    if problem:
        raise ValidationFailed(
            f"derived_from {problem}", errors=[{"field": "derived_from", "message": problem, "type": "value"}]
        )
    for number, parent in enumerate(parents):
        _check_parent(caller, parent, number)
    _check_storage_quota(caller, fields["size_bytes"])

    now = _now()
    key = rules.object_key(caller.tenant_id, artifact_id, version)
    record = ArtifactVersion(
        child_key(caller.tenant_id, artifact_id),
        version,
        status=VersionStatus.PENDING.value,
        description=fields.get("description") or "",
        derived_from=[{"artifact_id": p.artifact_id, "version": p.version} for p in parents],
        size_bytes=fields["size_bytes"],
        sha256=fields["sha256"],
        content_type=fields["content_type"],
        s3_key=key,
        integrity=Integrity.UNVERIFIED,
        created_by=caller.actor,
        created_at=now,
    )
    edges = [
        LineageEdge(
            child_key(caller.tenant_id, p.artifact_id),
            store.edge_key(VersionRef(artifact_id, version), p.version),
            parent_version=p.version,
            child_artifact_id=artifact_id,
            child_version=version,
            created_at=now,
        )
        for p in parents
    ]
    store.create_version(caller.tenant_id, record, parents, edges)

    checksum = rules.checksum_header(fields["sha256"])
    url = content.presign_upload(key, fields["size_bytes"], fields["content_type"], checksum, rules.UPLOAD_URL_SECONDS)
    expires_at = (now + timedelta(seconds=rules.UPLOAD_URL_SECONDS)).isoformat()
    audit_as(
        caller,
        "artifact.version_create",
        "artifact",
        artifact_id,
        meta,
        changes={
            "after": {k: fields.get(k) for k in ("version", "size_bytes", "sha256", "content_type", "derived_from")}
        },
    )
    return {
        **version_view(record),
        "upload": {
            "url": url,
            "method": "PUT",
            "expires_at": expires_at,
            "headers": {
                "Content-Type": fields["content_type"],
                "Content-Length": str(fields["size_bytes"]),
                "x-amz-checksum-sha256": checksum,
            },
        },
    }


def _parent_version(caller: Caller, artifact_id: str, reference: str, number: int) -> str:
    try:
        get_artifact_record(caller, artifact_id)
        return resolve_version(caller.tenant_id, artifact_id, reference)
    except NotFound as error:
        raise NotFound(error.detail, field=f"derived_from.{number}") from None


def _check_parent(caller: Caller, parent: VersionRef, number: int) -> None:
    get_artifact_record(caller, parent.artifact_id)  # NotFound names the artifact
    found = store.get_version(caller.tenant_id, parent.artifact_id, parent.version)
    if found is None:
        raise NotFound(
            f"version {parent.version} of artifact {parent.artifact_id} not found", field=f"derived_from.{number}"
        )
    if found.status == VersionStatus.REJECTED.value:
        raise ValidationFailed(
            "derived_from names a rejected version",
            errors=[
                {
                    "field": f"derived_from.{number}.version",
                    "type": "value",
                    "message": f"version {parent.version} of artifact {parent.artifact_id} was rejected "
                    f"({found.status_reason}); nothing can derive from it",
                }
            ],
        )


def _check_storage_quota(caller: Caller, size_bytes: int) -> None:
    # Counted when versions become ready, so concurrent pending uploads can overshoot by what is in flight;
    # this refuses what can never fit.
    tenant = identity_store.get_tenant(caller.tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    limit = effective_quotas(tenant.quota_overrides)["stored_bytes"]
    if int(tenant.stored_bytes or 0) + size_bytes > limit:
        raise quota_exceeded("stored_bytes", limit)


# ---------------------------------------------------------------- verification
def complete_upload(caller: Caller, artifact_id: str, version: str, meta: RequestMeta) -> tuple[dict, bool]:
    """Verify the uploaded object now, for clients that want to wait. Returns the version view and whether
    it is decided; an object too large to hash within an API request is left to the object-created event.
    Once decided, a version stays as it is: calling again changes nothing."""
    record = _version_record(caller, artifact_id, version)
    if record.status != VersionStatus.PENDING.value:
        return version_view(record), True
    landed = content.head(record.s3_key)
    if landed is None:
        raise NotFound(f"no object uploaded yet for version {version}; PUT it to the upload URL first")
    if landed.size <= rules.SYNC_VERIFY_MAX_BYTES or landed.size != int(record.size_bytes):
        _observe(caller.tenant_id, record, landed, caller.actor, meta)
    record = _stored_version(caller.tenant_id, artifact_id, version)
    return version_view(record), record.status != VersionStatus.PENDING.value


def object_landed(key: str, object_version_id: str | None, meta: RequestMeta) -> str:
    """An object was written under `artifacts/`: verify the pending version it belongs to, or flag a ready
    version whose object was replaced. Returns what happened (for logs and metrics); keys that name no
    version are ignored."""
    location = rules.parse_object_key(key)
    if location is None:
        return "ignored"
    record = store.get_version(location.tenant_id, location.artifact_id, location.version)
    if record is None:
        return "ignored"
    landed = content.head(record.s3_key, object_version_id)
    if landed is None:
        return "ignored"  # overwritten or deleted since the event was sent; a later event covers the new one
    outcome = _observe(location.tenant_id, record, landed, SYSTEM_ACTOR, meta)
    # Here, not in `complete`: only this event's function loads graphs (onnxruntime), never the API's CRUD.
    _read_serving_signature(location.tenant_id, location.artifact_id, location.version)
    return outcome


def _observe(tenant_id: str, record: ArtifactVersion, landed: content.ObjectHead, actor: str, meta: RequestMeta) -> str:
    if record.status == VersionStatus.PENDING.value:
        outcome = _settle(tenant_id, record, landed, actor, meta)
        if outcome != "raced":
            return outcome
        record = _stored_version(tenant_id, *_ids(record))
    if record.status == VersionStatus.READY.value and landed.version_id and landed.version_id != record.s3_version_id:
        return _flag_changed(tenant_id, record, landed, actor, meta)
    return "unchanged"


def _settle(tenant_id: str, record: ArtifactVersion, landed: content.ObjectHead, actor: str, meta: RequestMeta) -> str:
    """Judge the landed object version against the declaration and decide the pending version once."""
    declared = int(record.size_bytes)
    verdict = rules.judge_size(declared, landed.size)
    if verdict is None:
        found = content.digest(record.s3_key, landed.version_id, stop_after_bytes=declared)
        verdict = rules.judge_content(declared, record.sha256, found.size, found.sha256)
    now = _now()
    artifact_id, version = _ids(record)
    if verdict.accepted:
        if not store.mark_ready(tenant_id, record, landed.version_id, now):
            return "raced"
        ready = [v.version for v in store.all_versions(tenant_id, artifact_id, VersionStatus.READY.value)]
        artifact_store.record_version_counts(tenant_id, artifact_id, rules.latest_version(ready))
        from maestro.services.embeddings import artifact_changed

        artifact_changed(tenant_id, artifact_id)  # its content text may now be embedded
    elif not store.mark_rejected(record, verdict.reason or "rejected", landed.version_id, now):
        return "raced"
    action = "artifact.version_verified" if verdict.accepted else "artifact.version_rejected"
    record_audit(
        tenant_id,
        actor=actor,
        action=action,
        resource_type="artifact",
        resource_id=artifact_id,
        outcome="success",
        meta=meta,
        changes={
            "after": {
                "version": version,
                "status": "ready" if verdict.accepted else "rejected",
                "status_reason": verdict.reason,
                "size_bytes": landed.size,
            }
        },
    )
    return "ready" if verdict.accepted else "rejected"


def _read_serving_signature(tenant_id: str, artifact_id: str, version: str) -> None:
    """A servable graph's signature is read once its version is ready (maestro.services.model_serving), whichever
    of `complete` or this event decided it; a failure to read it is logged, never undoes the verification."""
    record = store.get_version(tenant_id, artifact_id, version)
    if record is None or record.status != VersionStatus.READY.value or record.signature or record.serving_problem:
        return
    if not is_servable("model", record.content_type):
        return
    artifact = artifact_store.get_artifact(tenant_id, artifact_id)
    if artifact is None:
        return
    from maestro.services.model_serving import read_signature

    try:
        read_signature(tenant_id, artifact.type, record)
    except Exception:
        from maestro.observability import logger

        logger.exception("reading the serving signature failed", extra={"artifact_id": artifact_id})


def _flag_changed(
    tenant_id: str, record: ArtifactVersion, landed: content.ObjectHead, actor: str, meta: RequestMeta
) -> str:
    if not store.flag_changed(record):
        return "unchanged"
    artifact_id, version = _ids(record)
    record_audit(
        tenant_id,
        actor=actor,
        action="artifact.version_integrity_changed",
        resource_type="artifact",
        resource_id=artifact_id,
        outcome="success",
        meta=meta,
        changes={
            "before": {"version": version, "integrity": Integrity.INTACT, "s3_version_id": record.s3_version_id},
            "after": {
                "version": version,
                "integrity": Integrity.CHANGED,
                "s3_version_id": landed.version_id,
                "size_bytes": landed.size,
            },
        },
    )
    return "changed"


def _ids(record: ArtifactVersion) -> tuple[str, str]:
    return parent_id_of(record.tenant_artifact), record.version


# ---------------------------------------------------------------- reading
def get_version(caller: Caller, artifact_id: str, version: str) -> dict:
    return version_view(_version_record(caller, artifact_id, version))


def list_versions(caller: Caller, artifact_id: str, limit: int, cursor: str | None) -> Page:
    get_artifact_record(caller, artifact_id)
    page = store.list_versions(caller.tenant_id, artifact_id, limit, cursor)
    return Page([version_view(v) for v in page.items], page.next_cursor)


def download_url(caller: Caller, artifact_id: str, version: str, meta: RequestMeta) -> dict:
    """A GET URL for a ready version's verified bytes, pinned to the S3 object version that was verified, saved as
    `<artifact name>-<version>`."""
    artifact, record = _artifact_and_version(caller, artifact_id, version)
    if record.status != VersionStatus.READY.value:
        reason = f" ({record.status_reason})" if record.status_reason else ""
        raise Conflict(
            f"version {version} is {record.status}{reason}; only ready versions can be downloaded",
            version_status=record.status,
        )
    filename = rules.download_filename(artifact.name, record.version)
    url = content.presign_download(
        record.s3_key, record.s3_version_id, record.content_type, rules.DOWNLOAD_URL_SECONDS, filename
    )
    expires_at = (_now() + timedelta(seconds=rules.DOWNLOAD_URL_SECONDS)).isoformat()
    audit_as(
        caller,
        "artifact.download_url",
        "artifact",
        artifact_id,
        meta,
        changes={"after": {"version": record.version, "expires_at": expires_at}},
    )
    return {
        "artifact_id": artifact_id,
        "version": record.version,
        "url": url,
        "method": "GET",
        "expires_at": expires_at,
        "size_bytes": int(record.size_bytes),
        "sha256": record.sha256,
        "content_type": record.content_type,
        "integrity": record.integrity,
    }


# ---------------------------------------------------------------- lineage
def lineage(caller: Caller, artifact_id: str, depth: int) -> dict:
    """What the artifact's versions derive from (upstream) and what derives from them (downstream), each
    node at the fewest hops that reach it, up to `depth` hops."""
    if not 1 <= depth <= rules.MAX_LINEAGE_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {rules.MAX_LINEAGE_DEPTH}", parameter="depth")
    get_artifact_record(caller, artifact_id)
    tenant_id = caller.tenant_id
    records: dict[VersionRef, ArtifactVersion | None] = {
        VersionRef(artifact_id, v.version): v for v in store.all_versions(tenant_id, artifact_id)
    }
    edges_by_parent: dict[str, dict[str, list[VersionRef]]] = {}  # one query per artifact, not per version

    def parents(ref: VersionRef) -> list[VersionRef]:
        if ref not in records:
            records[ref] = store.get_version(tenant_id, ref.artifact_id, ref.version)
        record = records[ref]
        return [VersionRef(p["artifact_id"], p["version"]) for p in (record.derived_from if record else [])]

    def children(ref: VersionRef) -> list[VersionRef]:
        if ref.artifact_id not in edges_by_parent:
            grouped: dict[str, list[VersionRef]] = {}
            for edge in store.derived_edges(tenant_id, ref.artifact_id):
                grouped.setdefault(edge.parent_version, []).append(
                    VersionRef(edge.child_artifact_id, edge.child_version)
                )
            edges_by_parent[ref.artifact_id] = grouped
        return edges_by_parent[ref.artifact_id].get(ref.version, [])

    own = list(records)
    upstream, upstream_cut = rules.walk_lineage(own, parents, depth)
    downstream, downstream_cut = rules.walk_lineage(own, children, depth)
    artifacts: dict[str, Any] = {}

    def node(ref: VersionRef, hops: int) -> dict:
        if ref.artifact_id not in artifacts:
            artifacts[ref.artifact_id] = artifact_store.get_artifact(tenant_id, ref.artifact_id)
        artifact = artifacts[ref.artifact_id]  # None once deleted: the edge is history and stays visible
        return {
            "artifact_id": ref.artifact_id,
            "version": ref.version,
            "name": artifact.name if artifact else None,
            "type": artifact.type if artifact else None,
            "depth": hops,
        }

    return {
        "id": artifact_id,
        "depth": depth,
        "upstream": [node(ref, hops) for ref, hops in upstream],
        "downstream": [node(ref, hops) for ref, hops in downstream],
        "truncated": upstream_cut or downstream_cut,
    }
