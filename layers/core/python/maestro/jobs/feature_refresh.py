"""The hourly feature refresh: projects whose cut-off window is open (or closed within the last two days, so
late-arriving early metrics land) get their rows rewritten as of now and appended to the offline store, and one
materialisation loads them all online, so predictions for running projects read fresh features. Batch-only
(Feast)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.meta.history import CUTOFF_DAYS
from maestro.observability import logger, metrics
from maestro.repositories import projects as project_store
from maestro.services.meta.tenant_history import artifact_effects, project_record, start_of

LATE_DAYS = 2


def tenant_rows(tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """The rows of the tenant's projects inside the refresh window, as of now."""
    from maestro.ml import feature_store

    window_start = now - timedelta(days=CUTOFF_DAYS + LATE_DAYS)
    stored = [p for p in project_store.all_projects(tenant_id) if window_start <= start_of(p) <= now]
    if not stored:
        return []
    records = [project_record(tenant_id, p, as_of=now) for p in stored]
    return feature_store.feature_rows(
        tenant_id, records, artifact_effects(tenant_id), now, own_features={p.project_id: p.features for p in stored}
    )


def refresh(tenant_ids: Iterable[str], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Write each tenant's fresh rows, then materialise once (Feast materialises per view, not per tenant). Feast
    is touched only when some tenant has a project in its window, so an idle hour costs a few table reads. One
    tenant's failure is logged and counted; the others still land."""
    from maestro.ml import feature_store

    now = now or datetime.now(UTC)
    pending: list[tuple[str, list[dict[str, Any]], float]] = []
    results: list[dict[str, Any]] = []
    for tenant_id in tenant_ids:
        started = time.perf_counter()
        try:
            rows = tenant_rows(tenant_id, now)
        except Exception:
            logger.exception("feature refresh failed", extra={"tenant_id": tenant_id})
            metrics.add_metric(name="FeatureRefreshFailed", unit="Count", value=1)
            continue
        if rows:
            pending.append((tenant_id, rows, time.perf_counter() - started))
    if not pending:
        return results
    feature_store.apply()
    earliest: datetime | None = None
    for tenant_id, rows, seconds in pending:
        write = feature_store.write_offline(tenant_id, rows, written_at=now)  # rows are never empty here
        if write is not None and write.earliest_event is not None:
            earliest = write.earliest_event if earliest is None else min(earliest, write.earliest_event)
        results.append({"tenant_id": tenant_id, "rows": len(rows), "read_seconds": round(seconds, 2)})
    feature_store.materialize(now + timedelta(seconds=1), since=earliest)
    return results
