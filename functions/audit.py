"""/v1/audit: the tenant's tamper-evident audit log and its chain verification (admins)."""
from chalice import Blueprint

from functions.authorizer import maestro_authorizer
from maestro.http.api import json_response
from maestro.http.requests import parse_timestamp_param
from maestro.http.routes import RouteKit
from maestro.repositories import audit_log

audit_api = Blueprint(__name__)
routes = RouteKit(audit_api, maestro_authorizer)


def _moment(scope, name):
    return parse_timestamp_param(scope.query(name), name)


@routes.route("/v1/audit", methods=["GET"], permission="audit.read")
def list_audit_events(scope):
    page = audit_log.list_events(
        scope.caller.tenant_id, actor=scope.query("actor"), action=scope.query("action"),
        resource=scope.query("resource"), occurred_from=_moment(scope, "from"), occurred_to=_moment(scope, "to"),
        limit=scope.limit, cursor=scope.cursor)
    return json_response(page.to_body())


@routes.route("/v1/audit/verify", methods=["GET"], permission="audit.read")
def verify_audit_chain(scope):
    result = audit_log.verify(scope.caller.tenant_id)
    return json_response({"intact": result.intact, "checked": result.checked, "first_broken": result.first_broken})
