"""What a use case knows about the request beyond its inputs: who asked, from where, and how to audit it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from maestro.domain.errors import LostRace
from maestro.domain.identity.principals import Caller

T = TypeVar("T")
LOST_RACE_ATTEMPTS = 10


def retry_lost_races(change: Callable[[], T], attempts: int = LOST_RACE_ATTEMPTS) -> T:
    """Run a read-modify-write again while it loses to concurrent writers (only writes sent without If-Match
    raise LostRace: a client that sent one gets 412 instead)."""
    for attempt in range(attempts):
        try:
            return change()
        except LostRace:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # jitter: the writers stop colliding in step
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class RequestMeta:
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def record_audit(
    tenant_id: str,
    *,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: str,
    meta: RequestMeta,
    changes: dict | None = None,
) -> None:
    """Append one event to the tenant's audit chain. A failure to audit is logged loudly, never swallowed
    silently, and does not undo the change that already happened."""
    from maestro.domain.audit import AuditEntry
    from maestro.observability import logger, metrics
    from maestro.repositories import audit_log

    try:
        audit_log.append(
            tenant_id,
            AuditEntry(
                actor=actor,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                outcome=outcome,
                source_ip=meta.source_ip,
                user_agent=meta.user_agent,
                request_id=meta.request_id,
                changes=changes,
            ),
        )
    except Exception:
        logger.exception("audit append failed", extra={"tenant_id": tenant_id, "action": action})
        metrics.add_metric(name="AuditAppendFailed", unit="Count", value=1)


def audit_as(
    caller: Caller,
    action: str,
    resource_type: str,
    resource_id: str | None,
    meta: RequestMeta,
    outcome: str = "success",
    changes: dict | None = None,
) -> None:
    record_audit(
        caller.tenant_id,
        actor=caller.actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
        meta=meta,
        changes=changes,
    )
