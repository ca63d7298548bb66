"""Metric types: the built-in ones and those a tenant registers with its unit before sending them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from maestro.domain.errors import Conflict
from maestro.domain.identity.principals import Caller
from maestro.domain.metrics import BUILT_IN_TYPES
from maestro.repositories import metrics as store
from maestro.repositories.schema import CustomMetricType
from maestro.services.context import RequestMeta, audit_as


def list_metric_types(caller: Caller) -> list[dict[str, Any]]:
    """Every type the tenant may send: the built-in ones by name, then its own."""
    built_in = [
        {"id": name, "metric_type": name, "unit": unit, "built_in": True}
        for name, unit in sorted(BUILT_IN_TYPES.items())
    ]
    custom = [
        {
            "id": t.metric_type,
            "metric_type": t.metric_type,
            "unit": t.unit,
            "description": t.description,
            "built_in": False,
        }
        for t in store.list_custom_types(caller.tenant_id)
    ]
    return built_in + custom


def register_metric_type(
    caller: Caller, metric_type: str, unit: str, description: str, meta: RequestMeta
) -> dict[str, Any]:
    """Register a tenant type once (Conflict for a built-in name or one already registered), audited."""
    if metric_type in BUILT_IN_TYPES:
        raise Conflict(f"{metric_type} is a built-in type", field="metric_type")
    store.register_custom_type(
        CustomMetricType(
            caller.tenant_id,
            metric_type,
            unit=unit,
            description=description,
            created_by=caller.actor,
            created_at=datetime.now(UTC),
        )
    )
    fields = {"metric_type": metric_type, "unit": unit, "description": description}
    audit_as(caller, "metrics.register_type", "metric_type", metric_type, meta, changes={"after": fields})
    return {"id": metric_type, **fields, "built_in": False}
