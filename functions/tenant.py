"""/v1/tenant: the caller's tenant with its usage against quota (admins)."""

from datetime import datetime

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from maestro.http.api import json_response
from maestro.http.routes import RouteKit
from maestro.http.schemas import ResponseModel
from maestro.services import identity

tenant_api = Blueprint(__name__)
routes = RouteKit(tenant_api, maestro_authorizer)


class QuotaUsageView(ResponseModel):
    used: int
    limit: int
    remaining: int


class TenantView(ResponseModel):
    id: str
    name: str
    created_at: datetime
    quotas: dict[str, QuotaUsageView] = Field(description="users, projects, artifacts, stored_bytes")


@routes.get("/v1/tenant", permission="tenant.read", response=TenantView, errors=(404,))
def get_tenant(scope):
    """The caller's tenant with its usage against quota."""
    return json_response(identity.tenant_usage(scope.caller))
