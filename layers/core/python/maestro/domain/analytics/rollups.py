"""Weekly rollups of a project's metric events: what the analytics reports read instead of every event.

A rollup item holds one project's events of one type in one week (Monday 00:00 UTC, the reports' week), spread over
ROLLUP_SHARDS items by event id so that no item nears DynamoDB's 400 KB and an update rewrites a small item. Each
event is one *fact*: a compact, deterministic string (time, id, value, unit and the metadata the reports read,
ANALYTICS_METADATA_KEYS). Facts go into a string set with an atomic ADD, so

- adding the same event twice is a no-op (a set), and the ingestion adds an event's fact in the transaction that
  stores the event exactly once, so a duplicate, a replay or an out-of-order arrival changes nothing;
- a period reads O(weeks) items (one Query, paged by 1 MB), not O(events) requests, and the reports run on the
  events rebuilt from the facts: the answers are the event-based ones, figure for figure, for any period (partial
  weeks at the edges and day buckets included, since each fact keeps its time).

Why facts and not counters only: the reports' figures are not all sums. Commits, PRs, deployments and CI runs are
de-duplicated across sources (by sha, PR number, deployment id, run), and several figures are percentiles (median
PR merge hours, DORA lead time and time to restore, CI durations) that no sum/count pair reproduces. The sums,
counts and distinct sets a dashboard wants per week are computed from the facts (`weekly_totals`, `compose`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from maestro.domain.analytics.shared import _META_KEYS
from maestro.domain.analytics.velocity import VELOCITY_EVENT_TYPES
from maestro.domain.metrics import MetricEvent

ROLLUP_SHARDS = 4
# The facts one item may hold (DynamoDB's limit is 400 KB an item, names and keys included). An item at the budget
# takes no more: the ingestion's condition refuses the ADD and the facts go to the shard's next overflow item
# (`overflow`), so a week of any size is stored; reads take every item of the week and count a fact once.
ROLLUP_ITEM_BUDGET = 300_000
# Every metadata spelling a report reads (maestro.domain.analytics.shared._META_KEYS); other metadata stays on the
# event row only.
ANALYTICS_METADATA_KEYS = frozenset(key for spellings in _META_KEYS.values() for key in spellings)
# Rollups of these types are also listed per tenant and week (a sparse index), so a project's velocity is compared
# with the other projects' through one query.
TENANT_INDEXED_TYPES = frozenset(VELOCITY_EVENT_TYPES)


def week_of(moment: datetime) -> str:
    """The Monday (UTC) of the week holding `moment`, as YYYY-MM-DD."""
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def shard_of(event_id: str) -> int:
    return int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % ROLLUP_SHARDS


def rollup_key(week: str, metric_type: str, shard: int) -> str:
    """The item's range key: week first, so one range query reads every type of a run of weeks."""
    return f"{week}#{metric_type}#{shard}"


def parse_rollup_key(key: str) -> tuple[str, str, int]:
    week, rest = key.split("#", 1)
    metric_type, shard = rest.rsplit("#", 1)
    return week, metric_type, int(shard)


def fact_of(event: MetricEvent) -> str:
    """The event as a rollup fact: deterministic (the same event always gives the same string)."""
    metadata = {k: v for k, v in sorted(event.metadata.items()) if k in ANALYTICS_METADATA_KEYS}
    return json.dumps(
        [event.timestamp.isoformat(), event.event_id, float(event.value), event.unit, metadata],
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def event_of(fact: str, project_id: str, metric_type: str) -> MetricEvent:
    moment, event_id, value, unit, metadata = json.loads(fact)
    return MetricEvent(
        event_id, project_id, metric_type, float(value), unit, datetime.fromisoformat(moment), "", metadata
    )


@dataclass
class Rollup:
    """One rollup item: a project's facts of one type, week and shard."""

    project_id: str
    key: str
    facts: set[str] = field(default_factory=set)

    @property
    def week(self) -> str:
        return parse_rollup_key(self.key)[0]

    @property
    def metric_type(self) -> str:
        return parse_rollup_key(self.key)[1]

    @property
    def tenant_indexed(self) -> bool:
        return self.metric_type in TENANT_INDEXED_TYPES


def tenant_week_key(rollup: Rollup) -> str:
    """The range key of a tenant-indexed rollup in the tenant's week index."""
    week, metric_type, shard = parse_rollup_key(rollup.key)
    return f"{week}#{rollup.project_id}#{metric_type}#{shard}"


def rollups_of(events: Iterable[MetricEvent]) -> list[Rollup]:
    """The rollup items (or the additions to them) that `events` make: what the ingestion ADDs in the events'
    transaction, and what a backfill writes whole. Duplicates within `events` collapse."""
    items: dict[tuple[str, str], Rollup] = {}
    for event in events:
        key = rollup_key(week_of(event.timestamp), event.metric_type, shard_of(event.event_id))
        items.setdefault((event.project_id, key), Rollup(event.project_id, key)).facts.add(fact_of(event))
    return sorted(items.values(), key=lambda r: (r.project_id, r.key))


def fact_bytes(facts: Iterable[str]) -> int:
    """What facts weigh against ROLLUP_ITEM_BUDGET (their UTF-8 bytes)."""
    return sum(len(fact.encode()) for fact in facts)


def overflow(rollup: Rollup, level: int) -> Rollup:
    """The rollup's facts addressed to overflow item `level` of its shard (0: the shard's own item). Overflow
    shards count on past ROLLUP_SHARDS, so the key keeps its form and a week's range query reads them all."""
    week, metric_type, shard = parse_rollup_key(rollup.key)
    return Rollup(
        rollup.project_id,
        rollup_key(week, metric_type, shard % ROLLUP_SHARDS + level * ROLLUP_SHARDS),
        set(rollup.facts),
    )


def within_budget(rollup: Rollup, budget: int | None = None) -> list[Rollup]:
    """The rollup split into parts of at most `budget` fact bytes each (same key: each part is one ADD)."""
    budget = budget or ROLLUP_ITEM_BUDGET
    parts: list[Rollup] = []
    current, size = Rollup(rollup.project_id, rollup.key), 0
    for fact in sorted(rollup.facts):
        weight = len(fact.encode())
        if current.facts and size + weight > budget:
            parts.append(current)
            current, size = Rollup(rollup.project_id, rollup.key), 0
        current.facts.add(fact)
        size += weight
    return [*parts, current] if current.facts else parts


def weeks_between(start: datetime, end: datetime) -> tuple[str, str]:
    """The first and last week keys whose rollups can hold events of [start, end] (both ends inclusive)."""
    return week_of(start), week_of(end)


def events_from(
    rollups: Iterable[Rollup],
    project_id: str,
    types: Iterable[str],
    start: datetime | None,
    end: datetime | None,
) -> list[MetricEvent]:
    """The project's events of `types` within [start, end], in the order the event table returns them: type by
    type as `types` iterates, each type ordered by its row key (type#time#id) and bounded by the same key range
    as maestro.repositories.metrics.events_in_period (so the reports get the very same list)."""
    by_type: dict[str, list[tuple[str, MetricEvent]]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)  # a fact in two items of a week (an overflow) is one event
    for rollup in rollups:
        if rollup.project_id != project_id:
            continue
        metric_type = rollup.metric_type
        for fact in rollup.facts - seen[metric_type]:
            seen[metric_type].add(fact)
            event = event_of(fact, project_id, metric_type)
            by_type[metric_type].append((event.metric_key, event))
    rows: list[MetricEvent] = []
    for metric_type in types:
        low = f"{metric_type}#{start.isoformat()}" if start else f"{metric_type}#"
        high = f"{metric_type}#{end.isoformat()}" if end else f"{metric_type}#\uffff"
        rows.extend(
            e for key, e in sorted(by_type.get(metric_type, []), key=lambda pair: pair[0]) if low <= key <= high
        )
    return rows


def first_and_last(rollups: Iterable[Rollup]) -> tuple[datetime, datetime] | None:
    """The times of the earliest and latest fact in `rollups` (None without any)."""
    moments = [datetime.fromisoformat(json.loads(fact)[0]) for rollup in rollups for fact in rollup.facts]
    return (min(moments), max(moments)) if moments else None


# ---------------------------------------------------------------- rollup arithmetic (per-week and per-month figures)
@dataclass
class WeekTotals:
    """One week of one type: event count, value sum and the distinct values of a metadata field (e.g. authors)."""

    count: int = 0
    total: float = 0.0
    distinct: set[str] = field(default_factory=set)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


def weekly_totals(rollups: Iterable[Rollup], distinct_by: str | None = None) -> dict[tuple[str, str], WeekTotals]:
    """(week, type) -> count, sum and distinct `distinct_by` metadata values (case-folded) of the facts."""
    totals: dict[tuple[str, str], WeekTotals] = defaultdict(WeekTotals)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rollup in rollups:
        week_total = totals[(rollup.week, rollup.metric_type)]
        facts = rollup.facts - seen[(rollup.week, rollup.metric_type)]
        seen[(rollup.week, rollup.metric_type)] |= facts
        for fact in facts:
            _moment, _event_id, value, _unit, metadata = json.loads(fact)
            week_total.count += 1
            week_total.total += float(value)
            if distinct_by and metadata.get(distinct_by) not in (None, ""):
                week_total.distinct.add(str(metadata[distinct_by]).casefold())
    return dict(totals)


def compose(weeks: Mapping[str, WeekTotals], bucket: str = "month") -> dict[str, WeekTotals]:
    """Weekly totals of one type folded into coarser buckets (month: the calendar month of the week's Monday;
    all: one bucket): counts and sums add, distinct sets unite, so means and distinct counts compose exactly."""
    folded: dict[str, WeekTotals] = defaultdict(WeekTotals)
    for week, totals in weeks.items():
        name = week[:7] if bucket == "month" else "all"
        target = folded[name]
        target.count += totals.count
        target.total += totals.total
        target.distinct |= totals.distinct
    return dict(folded)


def merge(rollups: Sequence[Rollup]) -> list[Rollup]:
    """Items with the same project and key merged (set union): what DynamoDB holds after their ADDs."""
    merged: dict[tuple[str, str], Rollup] = {}
    for rollup in rollups:
        target = merged.setdefault((rollup.project_id, rollup.key), Rollup(rollup.project_id, rollup.key))
        target.facts |= rollup.facts
    return sorted(merged.values(), key=lambda r: (r.project_id, r.key))


__all__ = [
    "ANALYTICS_METADATA_KEYS",
    "ROLLUP_ITEM_BUDGET",
    "ROLLUP_SHARDS",
    "TENANT_INDEXED_TYPES",
    "Rollup",
    "WeekTotals",
    "compose",
    "event_of",
    "events_from",
    "fact_bytes",
    "fact_of",
    "first_and_last",
    "merge",
    "overflow",
    "rollups_of",
    "tenant_week_key",
    "week_of",
    "weekly_totals",
    "weeks_between",
    "within_budget",
]
