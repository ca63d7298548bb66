"""/v1/audit: the tenant's tamper-evident audit log and its chain verification (admins)."""

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from maestro.http.api import json_response
from maestro.http.requests import UtcDatetime
from maestro.http.routes import RouteKit
from maestro.http.schemas import QueryModel, ResponseModel
from maestro.services import audit

audit_api = Blueprint(__name__)
routes = RouteKit(audit_api, maestro_authorizer)


class AuditQuery(QueryModel):
    actor: str | None = Field(default=None, description="exact actor, e.g. user:usr_... or key:...")
    action: str | None = Field(default=None, description="exact action, e.g. user.update")
    resource: str | None = Field(default=None, description="resource_type or resource_type:resource_id")
    from_: UtcDatetime | None = Field(default=None, alias="from", description="occurred at or after")
    to: UtcDatetime | None = Field(default=None, description="occurred before")


class AuditEventView(ResponseModel):
    id: str
    tenant_id: str
    seq: int
    event_id: str
    occurred_at: datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    source_ip: str | None
    user_agent: str | None
    request_id: str | None
    changes: dict[str, Any] | None
    prev_hash: str
    hash: str


class ChainVerificationView(ResponseModel):
    intact: bool
    checked: int
    first_broken: dict[str, Any] | None = Field(description="{seq, event_id, problem} of the first broken link")


@routes.get("/v1/audit", permission="audit.read", query=AuditQuery, response=AuditEventView, paginated=True)
def list_audit_events(scope):
    """The tenant's audit events, newest first (a filtered page may be short while next_cursor is set)."""
    page = audit.list_events(
        scope.caller,
        actor=scope.params.actor,
        action=scope.params.action,
        resource=scope.params.resource,
        occurred_from=scope.params.from_,
        occurred_to=scope.params.to,
        limit=scope.params.limit,
        cursor=scope.params.cursor,
    )
    return json_response(page.to_body())


@routes.get("/v1/audit/verify", permission="audit.read", response=ChainVerificationView)
def verify_audit_chain(scope):
    """Recompute the hash chain and name the first edited, deleted or reordered event."""
    return json_response(audit.verify_chain(scope.caller))
