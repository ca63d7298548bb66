"""/v1/tenant: the caller's tenant with its usage against quota (admins)."""
from chalice import Blueprint

from functions.authorizer import maestro_authorizer
from maestro.http.api import json_response
from maestro.http.routes import RouteKit
from maestro.services import identity

tenant_api = Blueprint(__name__)
routes = RouteKit(tenant_api, maestro_authorizer)


@routes.route("/v1/tenant", methods=["GET"], permission="tenant.read")
def get_tenant(scope):
    return json_response(identity.tenant_usage(scope.caller))
