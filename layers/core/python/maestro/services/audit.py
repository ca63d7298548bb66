"""Reading the tenant's audit log and checking its hash chain (admins); writing it is services.context."""

from __future__ import annotations

from typing import Any

from maestro.domain.identity.principals import Caller
from maestro.pagination import Page
from maestro.repositories import audit_log


def list_events(caller: Caller, **query: Any) -> Page[dict[str, Any]]:
    """The caller's tenant's events, newest first (a filtered page may be short while next_cursor is set);
    `query` holds audit_log.list_events' filters (actor, action, resource, occurred_from, occurred_to), limit
    and cursor."""
    return audit_log.list_events(caller.tenant_id, **query)


def verify_chain(caller: Caller) -> dict[str, Any]:
    """Whether the tenant's chain is intact, how many events were checked, and the first broken link."""
    result = audit_log.verify(caller.tenant_id)
    return {"intact": result.intact, "checked": result.checked, "first_broken": result.first_broken}
