"""Storage of process-metric events, exactly once. Events are written in transactions of up to 25 together
with the day aggregates they change (increments summed per aggregate inside the transaction); each event row
is conditional on not existing, so a replay changes nothing. A transaction cancelled by duplicates is retried
without them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict
from maestro.domain.metrics import MetricEvent
from maestro.repositories.schema import CustomMetricType, MetricAggregate, ProcessMetric, child_key
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    is_condition_failure,
    transaction_connection,
)

EVENTS_PER_TRANSACTION = 25  # 25 event rows + at most 25 aggregate updates: under DynamoDB's 100 items


def aggregate_key(metric_type: str, day: str) -> str:
    return f"{metric_type}#day#{day}"


def event_row(tenant_id: str, event: MetricEvent, now: datetime) -> ProcessMetric:
    """The stored row of an event (its key: type, time, id)."""
    return ProcessMetric(
        child_key(tenant_id, event.project_id),
        event.metric_key,
        event_id=event.event_id,
        metric_type=event.metric_type,
        value=event.value,
        unit=event.unit,
        timestamp=event.timestamp,
        source=event.source,
        metadata=event.metadata or None,
        ingested_at=now,
    )


def store_events(tenant_id: str, events: Sequence[MetricEvent], now: datetime) -> tuple[int, int]:
    """Write events not stored before; returns (accepted, duplicates)."""
    ensure_bound()
    accepted = duplicates = 0
    unique: dict[tuple[str, str], MetricEvent] = {}
    for event in events:  # the same event twice in one batch is one event
        unique.setdefault((event.project_id, event.metric_key), event)
    duplicates += len(events) - len(unique)
    pending = list(unique.values())
    for start in range(0, len(pending), EVENTS_PER_TRANSACTION):
        stored, dupes = _store_chunk(tenant_id, pending[start : start + EVENTS_PER_TRANSACTION], now)
        accepted += stored
        duplicates += dupes
    return accepted, duplicates


def _store_chunk(tenant_id: str, chunk: list[MetricEvent], now: datetime) -> tuple[int, int]:
    duplicates = 0
    while chunk:
        increments: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        for event in chunk:
            bucket = increments[
                (event.project_id, aggregate_key(event.metric_type, event.timestamp.date().isoformat()))
            ]
            bucket[0] += 1
            bucket[1] += event.value
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for event in chunk:
                    tx.save(event_row(tenant_id, event, now), condition=ProcessMetric.metric_key.does_not_exist())
                for (project_id, key), (count, total) in increments.items():
                    tx.update(
                        MetricAggregate(child_key(tenant_id, project_id), key),
                        actions=[MetricAggregate.count.add(count), MetricAggregate.total.add(total)],
                    )
            return len(chunk), duplicates
        except TransactWriteError as error:
            failed = {i for i in failed_conditions(error) if i < len(chunk)}  # puts come first
            if not failed:
                raise
            duplicates += len(failed)
            chunk = [event for i, event in enumerate(chunk) if i not in failed]
    return 0, duplicates


def events_in_period(
    tenant_id: str, project_id: str, metric_type: str, start: datetime | None, end: datetime | None
) -> Iterator[ProcessMetric]:
    """A project's events of one type, oldest first, optionally within [start, end)."""
    ensure_bound()
    low = f"{metric_type}#{start.isoformat()}" if start else f"{metric_type}#"
    high = f"{metric_type}#{end.isoformat()}" if end else f"{metric_type}#\uffff"
    return ProcessMetric.query(child_key(tenant_id, project_id), ProcessMetric.metric_key.between(low, high))


def first_and_last_event(tenant_id: str, project_id: str, metric_type: str) -> tuple[datetime, datetime] | None:
    """The times of a project's first and last event of one type (two one-item queries), or None without any."""
    ensure_bound()
    ends = []
    for forward in (True, False):
        rows = ProcessMetric.query(
            child_key(tenant_id, project_id),
            ProcessMetric.metric_key.startswith(f"{metric_type}#"),
            scan_index_forward=forward,
            limit=1,
            attributes_to_get=["timestamp"],
        )
        row = next(iter(rows), None)
        if row is None:
            return None
        ends.append(row.timestamp)
    return ends[0], ends[1]


def project_events(
    tenant_id: str, project_id: str, metric_types: Iterable[str] | None = None
) -> Iterator[ProcessMetric]:
    ensure_bound()
    if metric_types is None:
        return ProcessMetric.query(child_key(tenant_id, project_id))
    return (
        row for metric_type in metric_types for row in events_in_period(tenant_id, project_id, metric_type, None, None)
    )


def day_aggregates(tenant_id: str, project_id: str, metric_type: str) -> Iterator[MetricAggregate]:
    ensure_bound()
    return MetricAggregate.query(
        child_key(tenant_id, project_id), MetricAggregate.aggregate_key.startswith(f"{metric_type}#day#")
    )


# ---------------------------------------------------------------- custom metric types
def custom_types(tenant_id: str) -> dict[str, str]:
    ensure_bound()
    return {t.metric_type: t.unit for t in CustomMetricType.query(tenant_id)}


def register_custom_type(metric_type: CustomMetricType) -> None:
    ensure_bound()
    try:
        metric_type.save(condition=CustomMetricType.metric_type.does_not_exist())
    except PutError as error:
        if is_condition_failure(error):
            raise Conflict(f"metric type {metric_type.metric_type} is already registered") from None
        raise


def list_custom_types(tenant_id: str) -> list[CustomMetricType]:
    ensure_bound()
    return list(CustomMetricType.query(tenant_id))
