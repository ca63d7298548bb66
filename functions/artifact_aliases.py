"""/v1/artifacts/{id}/aliases: mutable names (`champion`) for ready versions, and the tenant's protected aliases."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from maestro.domain.aliases import MAX_PROTECTED_ALIASES
from maestro.http.api import etag_response, json_response
from maestro.http.requests import RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import DeletedView, ResponseModel
from maestro.services import artifact_aliases

artifact_aliases_api = Blueprint(__name__)
routes = RouteKit(artifact_aliases_api, maestro_authorizer)


class AliasIn(RequestModel):
    version: str = Field(
        min_length=1, max_length=128, description="a ready version, or `@other` to point where another alias points"
    )


class AliasView(ResponseModel):
    id: str
    alias: str
    artifact_id: str
    version: str
    previous_version: str | None = Field(description="where the alias pointed before its last move")
    protected: bool = Field(description="only admins may move or remove it (the tenant's protected aliases)")
    revision: int = Field(description="the ETag; send it as If-Match to move or remove only this state")
    updated_by: str
    updated_at: datetime


class ProtectedAliasesIn(RequestModel):
    aliases: list[str] = Field(max_length=MAX_PROTECTED_ALIASES)


class ProtectedAliasesView(ResponseModel):
    id: str = Field(description="the tenant")
    aliases: list[str]


_with_etag = partial(etag_response, etag_field="revision")


@routes.put(
    "/v1/artifacts/{artifact_id}/aliases/{alias}",
    permission="artifacts.write",
    audit="artifact.alias_set",
    body=AliasIn,
    response=AliasView,
    status=(200, 201),
    errors=(409, 412),
)
def set_alias(scope, artifact_id, alias):
    """Point an alias at a ready version (201 when new); If-Match makes the move conditional."""
    body = scope.body()
    view, created = artifact_aliases.set_alias(
        scope.caller,
        artifact_id,
        alias,
        body.version,
        scope.expected_version,
        scope.meta,
    )
    return _with_etag(view, 201 if created else 200)


@routes.delete(
    "/v1/artifacts/{artifact_id}/aliases/{alias}",
    permission="artifacts.write",
    audit="artifact.alias_delete",
    response=DeletedView,
    errors=(412,),
)
def remove_alias(scope, artifact_id, alias):
    """Remove an alias (the version stays); If-Match makes it conditional."""
    return json_response(
        artifact_aliases.remove_alias(scope.caller, artifact_id, alias, scope.expected_version, scope.meta)
    )


@routes.get("/v1/artifacts/{artifact_id}/aliases/{alias}", permission="artifacts.read", response=AliasView)
def get_alias(scope, artifact_id, alias):
    """One alias and the version it points at."""
    return _with_etag(artifact_aliases.get_alias(scope.caller, artifact_id, alias))


@routes.get("/v1/artifacts/{artifact_id}/aliases", permission="artifacts.read", response=AliasView, paginated=True)
def list_aliases(scope, artifact_id):
    """The artifact's aliases, by name."""
    return json_response(
        artifact_aliases.list_aliases(scope.caller, artifact_id, scope.params.limit, scope.params.cursor).to_body()
    )


@routes.get("/v1/tenant/protected-aliases", permission="artifacts.read", response=ProtectedAliasesView)
def get_protected_aliases(scope):
    """The aliases only admins may move or remove in this tenant."""
    return json_response(artifact_aliases.protected_aliases_view(scope.caller))


@routes.put(
    "/v1/tenant/protected-aliases",
    permission="tenant.manage",
    audit="tenant.protected_aliases_update",
    body=ProtectedAliasesIn,
    response=ProtectedAliasesView,
)
def set_protected_aliases(scope):
    """Replace the tenant's protected aliases (admins)."""
    body = scope.body()
    return json_response(artifact_aliases.set_protected_aliases(scope.caller, body.aliases, scope.meta))
