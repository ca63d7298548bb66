"""Per-caller throttling: every authenticated request spends units from two fixed-window budgets kept in
DynamoDB with atomic conditional counters (one UpdateItem each, so concurrent Lambdas share them exactly):
the principal's (one user session family or one API key) and its tenant's. Over either budget the request is
refused with 429 and Retry-After (the seconds until the window ends) before any work is done. Limits come
from settings (MAESTRO_THROTTLE_*); the README documents the defaults. API Gateway's stage throttling in
front (infra template) caps the whole API's rate before a Lambda runs."""

from __future__ import annotations

import time

from maestro.domain.errors import RateLimited
from maestro.domain.identity.principals import Caller
from maestro.domain.request_costs import request_cost
from maestro.repositories import identity as store
from maestro.settings import get_settings


def charge(caller: Caller, method: str, path: str) -> None:
    """Spend this request's cost from the caller's budgets, or raise RateLimited."""
    settings = get_settings()
    cost = request_cost(method, path, settings.throttle_heavy_cost)
    window = settings.throttle_window_seconds
    now = time.time()
    budgets = (
        ("principal", f"{caller.tenant_id}#{caller.actor}", settings.throttle_principal_units),
        ("tenant", caller.tenant_id, settings.throttle_tenant_units),
    )
    for scope, subject, units in budgets:
        if units <= 0:
            continue
        retry_after = store.consume_rate_limit(f"api-{scope}", subject, units, window, now, cost=cost)
        if retry_after is not None:
            raise RateLimited(
                f"too many requests from this {'caller' if scope == 'principal' else 'tenant'}; retry after"
                f" {retry_after} s",
                retry_after_seconds=retry_after,
                limit=units,
                window_seconds=window,
                cost=cost,
            )
