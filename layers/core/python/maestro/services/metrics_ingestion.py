"""The one ingestion pipeline every source goes through: validate each raw event once (maestro.domain.metrics),
check its project belongs to the tenant, store it exactly once, and count accepted, duplicate and rejected
events in Powertools metrics. Rejected events are returned with their index and reason, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maestro.domain.metrics import MetricEvent, MetricRejected, normalise
from maestro.observability import metrics as powertools_metrics
from maestro.repositories import metrics as store
from maestro.repositories import projects as project_store
from maestro.repositories.quarantine import QuarantineWriter

FLUSH_EVERY = 500  # events validated before a write, so a large stream never sits in memory


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the first `keep_rejections` of them
    rejected_count: int = 0

    def to_body(self, max_rejections: int | None = None) -> dict[str, Any]:
        rejected = self.rejected if max_rejections is None else self.rejected[:max_rejections]
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": rejected,
            "rejected_count": self.rejected_count,
        }


class Pipeline:
    """Feed raw events (with their index or line number); call `finish()` for the result."""

    def __init__(
        self,
        tenant_id: str,
        *,
        source: str,
        project_id: str | None = None,
        now: datetime | None = None,
        on_reject=None,
        keep_rejections: int | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.source = source
        self.project_id = project_id
        self.now = now or datetime.now(UTC)
        self.result = IngestResult()
        self._custom_types = store.custom_types(tenant_id)
        self._known_projects: dict[str, bool] = {}
        self._pending: list[MetricEvent] = []
        self._on_reject = on_reject  # e.g. the S3 drop's quarantine writer
        self._keep_rejections = keep_rejections  # a large file keeps counts, not every reason, in memory

    def _project_exists(self, project_id: str) -> bool:
        if project_id not in self._known_projects:
            self._known_projects[project_id] = project_store.get_project(self.tenant_id, project_id) is not None
        return self._known_projects[project_id]

    def reject(self, index: int, reason: str, raw: Any = None) -> None:
        self.result.rejected_count += 1
        if self._keep_rejections is None or len(self.result.rejected) < self._keep_rejections:
            self.result.rejected.append({"index": index, "reason": reason})
        if self._on_reject is not None:
            self._on_reject(index, reason, raw)

    def add(self, index: int, raw: Any) -> None:
        try:
            event = normalise(
                raw, project_id=self.project_id, custom_types=self._custom_types, source=self.source, now=self.now
            )
        except MetricRejected as rejected:
            self.reject(index, rejected.reason, raw)
            return
        if not self._project_exists(event.project_id):
            self.reject(index, f"project {event.project_id} not found", raw)
            return
        self._pending.append(event)
        if len(self._pending) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            accepted, duplicates = store.store_events(self.tenant_id, self._pending, self.now)
            self.result.accepted += accepted
            self.result.duplicates += duplicates
            self._pending = []

    def finish(self) -> IngestResult:
        self._flush()
        for name, value in (
            ("MetricEventsAccepted", self.result.accepted),
            ("MetricEventsDuplicate", self.result.duplicates),
            ("MetricEventsRejected", self.result.rejected_count),
        ):
            if value:
                powertools_metrics.add_metric(name=name, unit="Count", value=value)
        return self.result


def ingest(
    tenant_id: str,
    raw_events: Iterable[tuple[int, Any]],
    *,
    source: str,
    project_id: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    pipeline = Pipeline(tenant_id, source=source, project_id=project_id, now=now)
    for index, raw in raw_events:
        pipeline.add(index, raw)
    return pipeline.finish()


def ingest_eventbridge_detail(detail: Any, event_id: str | None) -> IngestResult:
    """One `ProcessMetrics` event's detail. Raises (so the record is retried, then dead-lettered) when the
    envelope itself is unusable; invalid events inside it are rejected one by one like any other source."""
    from maestro.repositories import identity as identity_store

    if not isinstance(detail, dict) or not isinstance(detail.get("events"), list):
        raise ValueError("detail must be {tenant_id, project_id, events[]}")
    tenant_id, project_id = detail.get("tenant_id"), detail.get("project_id")
    if not isinstance(tenant_id, str) or identity_store.get_tenant(tenant_id) is None:
        raise ValueError(f"unknown tenant {tenant_id!r}")
    if len(detail["events"]) > 10_000:
        raise ValueError("at most 10,000 events per ProcessMetrics event")
    # Rejected events are kept, not just counted: quarantine/eventbridge/<tenant>/<event id>.jsonl
    quarantine = QuarantineWriter()
    pipeline = Pipeline(
        tenant_id,
        source="eventbridge",
        on_reject=quarantine.add,
        project_id=project_id if isinstance(project_id, str) else None,
    )
    for index, raw in enumerate(detail["events"]):
        pipeline.add(index, raw)
    result = pipeline.finish()
    if quarantine.count:
        quarantine.upload(f"quarantine/eventbridge/{tenant_id}/{event_id or 'unknown'}.jsonl")
    return result
