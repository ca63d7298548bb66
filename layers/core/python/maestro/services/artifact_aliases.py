"""Alias use cases: point an alias at a ready version (audited with from/to), remove it, list an artifact's aliases,
the tenant's protected aliases (admins only may move those), and resolving `@alias` wherever a version is taken."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from maestro.domain import aliases as rules
from maestro.domain.artifacts import VersionStatus
from maestro.domain.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from maestro.domain.identity.permissions import is_allowed
from maestro.domain.identity.principals import Caller
from maestro.domain.model_serving import graph_size_problem, is_servable
from maestro.pagination import Page
from maestro.repositories import artifact_aliases as store
from maestro.repositories import artifact_versions as version_store
from maestro.repositories.schema import ArtifactAlias, parent_id_of, stored_fields
from maestro.services.artifacts import get_artifact_record
from maestro.services.context import RequestMeta, audit_as

PROTECTED_PERMISSION = "artifacts.protected_aliases"
_MOVE_ATTEMPTS = 5  # a move without If-Match retries its compare-and-swap when another move got in between


def alias_view(record: ArtifactAlias, protected: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        "id": record.alias,
        "artifact_id": parent_id_of(record.tenant_artifact),
        **stored_fields(record, "alias", "version", "previous_version", "updated_by"),
        "protected": record.alias in protected,
        "revision": int(record.revision),
        "updated_at": record.updated_at.isoformat(),
    }


def _check_name(alias: str) -> None:
    problem = rules.alias_problem(alias)
    if problem:
        raise ValidationFailed(
            f"invalid alias: {problem}", errors=[{"field": "alias", "message": problem, "type": "value"}]
        )


def _check_may_change(caller: Caller, alias: str, protected: list[str], meta: RequestMeta) -> None:
    if alias in protected and not is_allowed(caller.role, PROTECTED_PERMISSION):
        audit_as(caller, "access.denied", "alias", alias, meta, outcome="denied")
        raise PermissionDenied(
            f"alias {alias} is protected in this tenant; only an admin may move or remove it",
            permission=PROTECTED_PERMISSION,
        )


def _check_revision(current: ArtifactAlias | None, expected_revision: int | None, alias: str) -> None:
    if expected_revision is not None and (current is None or int(current.revision) != expected_revision):
        found = "absent" if current is None else f"at revision {int(current.revision)}"
        raise PreconditionFailed(f"alias {alias} is {found}, not revision {expected_revision}; read it again")


# ---------------------------------------------------------------- resolving `@alias`
def resolve_version(tenant_id: str, artifact_id: str, reference: str) -> str:
    """The version a reference names: itself, or the version `@alias` points at now (NotFound when unset)."""
    alias = rules.alias_of(reference)
    if alias is None:
        return reference
    record = store.get_alias(tenant_id, artifact_id, alias)
    if record is None:
        raise NotFound(f"alias {alias} of artifact {artifact_id} is not set")
    return record.version


# ---------------------------------------------------------------- use cases
def set_alias(
    caller: Caller,
    artifact_id: str,
    alias: str,
    version_reference: str,
    expected_revision: int | None,
    meta: RequestMeta,
) -> tuple[dict, bool]:
    """Point `alias` at a ready version (a plain version or another `@alias`). Returns the alias and whether it
    was created. 404 for an unknown artifact or version, 409 for a version that is not ready, 403 for a
    protected alias moved by a non-admin, 412 when If-Match names another revision, 422 for a graph too big
    to serve."""
    _check_name(alias)
    artifact = get_artifact_record(caller, artifact_id)
    protected = store.protected_aliases(caller.tenant_id)
    _check_may_change(caller, alias, protected, meta)
    version = resolve_version(caller.tenant_id, artifact_id, version_reference)
    target = version_store.get_version(caller.tenant_id, artifact_id, version)
    if target is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found", field="version")
    if target.status != VersionStatus.READY.value:
        raise Conflict(
            f"version {version} is {target.status}; only a ready version can take an alias",
            version_status=target.status,
        )
    if is_servable(artifact.type, target.content_type) and (problem := graph_size_problem(int(target.size_bytes))):
        raise ValidationFailed(
            f"version {version} cannot be served: {problem}",
            errors=[{"field": "version", "message": problem, "type": "value"}],
        )
    for _ in range(_MOVE_ATTEMPTS):
        current = store.get_alias(caller.tenant_id, artifact_id, alias)
        _check_revision(current, expected_revision, alias)
        if current is not None and current.version == version:
            return alias_view(current, set(protected)), False  # already there: nothing to move or audit
        try:
            record = store.move_alias(
                caller.tenant_id, artifact_id, alias, current, version, caller.actor, datetime.now(UTC)
            )
            break
        except store.AliasRaced:
            if expected_revision is not None:
                raise PreconditionFailed(f"alias {alias} changed while moving it; read it again") from None
        except store.ArtifactGone:
            raise NotFound(f"artifact {artifact_id} not found") from None
        except store.VersionNotReady:
            raise Conflict(f"version {version} is no longer ready", version_status="unknown") from None
    else:
        raise Conflict(f"alias {alias} is being moved by others; try again")
    audit_as(
        caller,
        "artifact.alias_set",
        "artifact",
        artifact_id,
        meta,
        changes={
            "before": {"alias": alias, "version": current.version if current else None},
            "after": {"alias": alias, "version": version, "revision": int(record.revision)},
        },
    )
    return alias_view(record, set(protected)), current is None


def remove_alias(
    caller: Caller, artifact_id: str, alias: str, expected_revision: int | None, meta: RequestMeta
) -> dict:
    get_artifact_record(caller, artifact_id)
    current = store.get_alias(caller.tenant_id, artifact_id, alias)
    if current is None:
        raise NotFound(f"alias {alias} of artifact {artifact_id} is not set")
    _check_may_change(caller, alias, store.protected_aliases(caller.tenant_id), meta)
    _check_revision(current, expected_revision, alias)
    try:
        store.delete_alias(current)
    except store.AliasRaced:
        raise PreconditionFailed(f"alias {alias} changed while removing it; read it again") from None
    audit_as(
        caller,
        "artifact.alias_delete",
        "artifact",
        artifact_id,
        meta,
        changes={"before": {"alias": alias, "version": current.version}, "after": None},
    )
    return {"id": alias, "deleted": True}


def get_alias(caller: Caller, artifact_id: str, alias: str) -> dict:
    get_artifact_record(caller, artifact_id)
    record = store.get_alias(caller.tenant_id, artifact_id, alias)
    if record is None:
        raise NotFound(f"alias {alias} of artifact {artifact_id} is not set")
    return alias_view(record, set(store.protected_aliases(caller.tenant_id)))


def list_aliases(caller: Caller, artifact_id: str, limit: int, cursor: str | None) -> Page:
    get_artifact_record(caller, artifact_id)
    page = store.list_aliases(caller.tenant_id, artifact_id, limit, cursor)
    protected = set(store.protected_aliases(caller.tenant_id)) if page.items else set()
    return Page([alias_view(a, protected) for a in page.items], page.next_cursor)


def protected_aliases_view(caller: Caller) -> dict:
    return {"id": caller.tenant_id, "aliases": store.protected_aliases(caller.tenant_id)}


def set_protected_aliases(caller: Caller, aliases: list[str], meta: RequestMeta) -> dict:
    """Replace the tenant's protected aliases (admins; the route's permission says so)."""
    errors = [
        {"field": f"aliases.{n}", "message": problem, "type": "value"}
        for n, alias in enumerate(aliases)
        if (problem := rules.alias_problem(alias))
    ]
    if errors:
        raise ValidationFailed("invalid alias names", errors=errors)
    before = store.protected_aliases(caller.tenant_id)
    store.set_protected_aliases(caller.tenant_id, aliases)
    after = sorted(set(aliases))
    audit_as(
        caller,
        "tenant.protected_aliases_update",
        "tenant",
        caller.tenant_id,
        meta,
        changes={"before": {"aliases": before}, "after": {"aliases": after}},
    )
    return {"id": caller.tenant_id, "aliases": after}
