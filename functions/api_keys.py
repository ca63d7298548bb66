"""/v1/api-keys: machine credentials (CI, ingestion). The secret is shown once; only its hash is stored."""

from typing import Literal

from chalice import Blueprint
from pydantic import AwareDatetime, Field

from functions.authorizer import maestro_authorizer
from functions.identity_views import ApiKeyView
from maestro.http.api import json_response
from maestro.http.requests import Name, RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import ResponseModel
from maestro.services import identity

api_keys_api = Blueprint(__name__)
routes = RouteKit(api_keys_api, maestro_authorizer)


class ApiKeyIn(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    role: Literal["admin", "developer", "viewer"]
    expires_at: AwareDatetime | None = None


class CreatedApiKeyView(ApiKeyView):
    key: str = Field(description="the whole key, shown once")


class RevokedView(ResponseModel):
    id: str
    revoked: Literal[True]


@routes.post(
    "/v1/api-keys",
    permission="api_keys.manage",
    audit="api_key.create",
    body=ApiKeyIn,
    response=CreatedApiKeyView,
    status=201,
)
def create_api_key(scope):
    body = scope.body()
    created = identity.create_api_key(scope.caller, body.name, body.role, body.expires_at, scope.meta)
    return json_response(created, status=201)


@routes.get("/v1/api-keys", permission="api_keys.manage", response=ApiKeyView, paginated=True)
def list_api_keys(scope):
    return json_response(identity.list_api_keys(scope.caller, scope.params.limit, scope.params.cursor).to_body())


@routes.delete("/v1/api-keys/{key_id}", permission="api_keys.manage", audit="api_key.revoke", response=RevokedView)
def revoke_api_key(scope, key_id):
    identity.revoke_api_key(scope.caller, key_id, scope.meta)
    return json_response({"id": key_id, "revoked": True})
