"""The hourly feature refresh: projects whose cut-off window is open (or closed within the last two days, so
late-arriving early metrics land) get their rows rewritten as of now, appended to the offline store and
materialised, so predictions for running projects read fresh online features. Batch-only (Feast)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from maestro.domain.meta.history import CUTOFF_DAYS
from maestro.repositories import projects as project_store
from maestro.services.meta.tenant_history import artifact_effects, project_record, start_of

LATE_DAYS = 2


def refresh_tenant(tenant_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    from maestro.ml import feature_store

    now = now or datetime.now(timezone.utc)
    started = time.perf_counter()
    window_start = now - timedelta(days=CUTOFF_DAYS + LATE_DAYS)
    stored = [p for p in project_store.all_projects(tenant_id) if window_start <= start_of(p) <= now]
    if not stored:
        return {"tenant_id": tenant_id, "projects": 0, "rows": 0}
    records = [project_record(tenant_id, p, as_of=now) for p in stored]
    rows = feature_store.feature_rows(tenant_id, records, artifact_effects(tenant_id), now,
                                      own_features={p.project_id: p.features for p in stored})
    feature_store.apply()
    write = feature_store.write_offline(tenant_id, rows, written_at=now)
    if write is not None:
        feature_store.materialize(now + timedelta(seconds=1), since=write.earliest_event)
    return {"tenant_id": tenant_id, "projects": len(stored), "rows": len(rows),
            "seconds": round(time.perf_counter() - started, 2)}
