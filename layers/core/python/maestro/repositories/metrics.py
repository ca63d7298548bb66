"""Storage of process-metric events, exactly once. Events are written in transactions of up to 25 together
with the day aggregates they change (increments summed per aggregate inside the transaction) and the weekly
rollups they join (their facts ADDed to a string set, maestro.domain.analytics.rollups); each event row is
conditional on not existing, so a replay changes nothing. A transaction cancelled by duplicates is retried
without them."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from maestro.domain.analytics import rollups as rollup_rules
from maestro.domain.analytics.rollups import (
    ROLLUP_SHARDS,
    Rollup,
    fact_bytes,
    overflow,
    parse_rollup_key,
    rollup_key,
    rollups_of,
    tenant_week_key,
    within_budget,
)
from maestro.domain.errors import Conflict
from maestro.domain.metrics import MetricEvent
from maestro.repositories.schema import (
    CustomMetricType,
    MetricAggregate,
    MetricRollup,
    ProcessMetric,
    child_key,
    parent_id_of,
)
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    is_condition_failure,
    transaction_connection,
)

# 25 event rows + at most 25 day-aggregate and 25 rollup updates: under DynamoDB's 100 items per transaction
EVENTS_PER_TRANSACTION = 25
BACKFILL_WRITERS = 8  # rollup updates a backfill sends side by side


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


# (tenant, project, rollup key) -> the overflow item this process last found room in: later chunks of a full week
# go there at once instead of being refused by the full item first
_overflow_levels: dict[tuple[str, str, str], int] = {}


def _store_chunk(tenant_id: str, chunk: list[MetricEvent], now: datetime) -> tuple[int, int]:
    duplicates = 0
    while chunk:
        rollups = [
            overflow(part, _overflow_levels.get((tenant_id, r.project_id, r.key), 0) + n)
            for r in rollups_of(chunk)
            for n, part in enumerate(within_budget(r))  # more than one item's budget at once: the next items too
        ]
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
                for rollup in rollups:
                    tx.update(
                        rollup_row(tenant_id, rollup),
                        actions=_rollup_actions(tenant_id, rollup),
                        condition=_room_for(rollup),
                    )
            return len(chunk), duplicates
        except TransactWriteError as error:
            # puts come first (the events: a failed one is a duplicate), then the aggregates, then the rollups
            failed = set(failed_conditions(error))
            first_rollup = len(chunk) + len(increments)
            full = [rollups[i - first_rollup] for i in failed if i >= first_rollup]
            dropped = {i for i in failed if i < len(chunk)}
            if not full and not dropped:
                raise
            for rollup in full:  # the item is at its budget: the next overflow item takes these facts
                week, metric_type, shard = parse_rollup_key(rollup.key)
                level_key = (tenant_id, rollup.project_id, rollup_key(week, metric_type, shard % ROLLUP_SHARDS))
                _overflow_levels[level_key] = max(_overflow_levels.get(level_key, 0), shard // ROLLUP_SHARDS + 1)
            duplicates += len(dropped)
            chunk = [event for i, event in enumerate(chunk) if i not in dropped]
    return 0, duplicates


def _room_for(rollup: Rollup) -> Condition:
    """The item takes the rollup's facts only while it stays within ROLLUP_ITEM_BUDGET."""
    return MetricRollup.fact_bytes.does_not_exist() | (
        MetricRollup.fact_bytes <= rollup_rules.ROLLUP_ITEM_BUDGET - fact_bytes(rollup.facts)
    )


def rollup_row(tenant_id: str, rollup: Rollup) -> MetricRollup:
    """The item whole (a put: the demo seeder's), its fact bytes counted; updates use it for its key."""
    row = MetricRollup(
        child_key(tenant_id, rollup.project_id),
        rollup.key,
        facts=set(rollup.facts) or None,
        fact_bytes=fact_bytes(rollup.facts),
    )
    if rollup.tenant_indexed:
        row.tenant_id, row.week_project = tenant_id, tenant_week_key(rollup)
    return row


def _rollup_actions(tenant_id: str, rollup: Rollup) -> list[Action]:
    actions: list[Action] = [
        MetricRollup.facts.add(set(rollup.facts)),  # a set: adding a fact twice is a no-op
        MetricRollup.fact_bytes.add(fact_bytes(rollup.facts)),  # counted again then: the budget errs on the safe side
    ]
    if rollup.tenant_indexed:
        actions += [MetricRollup.tenant_id.set(tenant_id), MetricRollup.week_project.set(tenant_week_key(rollup))]
    return actions


def _as_rollup(row: MetricRollup) -> Rollup:
    return Rollup(parent_id_of(row.tenant_project), row.rollup_key, set(row.facts or ()))


def project_rollups(tenant_id: str, project_id: str, first_week: str, last_week: str) -> list[Rollup]:
    """A project's rollup items of the weeks first_week..last_week (Monday dates, both included): one Query, paged."""
    ensure_bound()
    rows = MetricRollup.query(
        child_key(tenant_id, project_id), MetricRollup.rollup_key.between(f"{first_week}#", f"{last_week}#\uffff")
    )
    return [_as_rollup(row) for row in rows]


def tenant_rollups(tenant_id: str, first_week: str, last_week: str) -> list[Rollup]:
    """Every project's rollups of the tenant-indexed (velocity) types in those weeks: one index Query, paged."""
    ensure_bound()
    rows = MetricRollup.by_tenant_week.query(
        tenant_id, MetricRollup.week_project.between(f"{first_week}#", f"{last_week}#\uffff")
    )
    return [_as_rollup(row) for row in rows]


def edge_week_rollups(tenant_id: str, project_id: str) -> list[Rollup]:
    """The rollups of a project's first and last week with events (four Queries: each end's week, then its items)."""
    ensure_bound()
    key = child_key(tenant_id, project_id)
    weeks = []
    for forward in (True, False):
        row = next(iter(MetricRollup.query(key, scan_index_forward=forward, limit=1)), None)
        if row is None:
            return []
        weeks.append(row.rollup_key.split("#", 1)[0])
    rollups = []
    for week in dict.fromkeys(weeks):
        rollups += [_as_rollup(r) for r in MetricRollup.query(key, MetricRollup.rollup_key.startswith(f"{week}#"))]
    return rollups


def add_rollups(tenant_id: str, rollups: Sequence[Rollup]) -> int:
    """ADD each rollup's facts to its stored item (a backfill): a fact already there is a no-op, so running it again,
    or beside live ingestion adding the same events, changes nothing. Returns the number of items updated."""
    ensure_bound()
    parts = [part for rollup in rollups for part in within_budget(rollup)]
    with ThreadPoolExecutor(max_workers=BACKFILL_WRITERS) as pool:
        list(pool.map(lambda part: _add_within_budget(tenant_id, part), parts))
    return len(rollups)


def _add_within_budget(tenant_id: str, rollup: Rollup) -> None:
    """ADD the facts to the rollup's item, or to its first overflow item with room for them."""
    for level in itertools.count():
        target = overflow(rollup, level)
        try:
            rollup_row(tenant_id, target).update(
                actions=_rollup_actions(tenant_id, target), condition=_room_for(target)
            )
            return
        except UpdateError as error:
            if not is_condition_failure(error):
                raise


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
