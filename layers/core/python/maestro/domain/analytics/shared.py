"""What every analytics report shares: periods, buckets, percentiles and reading event metadata (rules in the
package docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.errors import InvalidInput
from maestro.domain.metrics import MetricEvent

BUCKETS = ("day", "week", "month")
# A day-bucketed series over 13 years is ~4,800 points; anything longer is a mistake in from/to.
MAX_BUCKETS = 5000
WEEK_SECONDS = 7 * 24 * 3600
INSUFFICIENT_DATA = "insufficient_data"

_META_KEYS: dict[str, tuple[str, ...]] = {
    "sha": ("sha",),
    "author_email": ("author_email",),
    "author_name": ("author_name",),
    "author_login": ("author_login", "author_username", "author"),
    "is_merge": ("is_merge",),
    "files": ("files",),
    "pr_number": ("pr_number", "number", "pull_request_number"),
    "merged_by": ("merged_by", "merged_by_login"),
    "reviewer": ("reviewer", "reviewer_login"),
    "pr_author": ("pr_author_login",),
    "review_state": ("state",),
    "workflow": ("workflow_name", "name", "workflow_id"),
    "run_id": ("run_id",),
    "run_attempt": ("run_attempt", "attempt"),
    "job_id": ("job_id",),
    "environment": ("environment",),
    "deployment_id": ("deployment_id",),
}


def _meta(event: MetricEvent, name: str) -> Any:
    """The first non-empty metadata value under any of the source spellings of `name`, else None."""
    for key in _META_KEYS[name]:
        value = event.metadata.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _identity(value: Any) -> str | None:
    """An author / login / email as a case-folded key (None when absent)."""
    if value is None:
        return None
    return str(value).strip().casefold() or None


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise InvalidInput(f"{name} must be a datetime with a time zone")
    return moment.astimezone(UTC)


def _period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(start, "start"), _utc(end, "end")
    if start >= end:
        raise InvalidInput("the period's start must be before its end")
    return start, end


def _within(
    events: Iterable[MetricEvent], start: datetime, end: datetime, types: Iterable[str] | None = None
) -> list[MetricEvent]:
    wanted = None if types is None else set(types)
    return [e for e in events if start <= e.timestamp < end and (wanted is None or e.metric_type in wanted)]


def _period_weeks(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / WEEK_SECONDS


def _per_week(count: float, start: datetime, end: datetime) -> float:
    # count * 604800 / seconds keeps exact rationals (e.g. 1 in 30 days == 7 / 30) bit-identical to band limits.
    return count * WEEK_SECONDS / (end - start).total_seconds()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default); None
    for no values."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _distribution(values: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "mean": _ratio(sum(values), len(values)),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
    }


def _bucket_start(moment: datetime, bucket: str) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_bucket(moment: datetime, bucket: str) -> datetime:
    if bucket == "day":
        return moment + timedelta(days=1)
    if bucket == "week":
        return moment + timedelta(days=7)
    return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)


def _bucket_starts(start: datetime, end: datetime, bucket: str) -> list[datetime]:
    """The starts of every bucket that overlaps [start, end), empty ones included."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}")
    starts, current = [], _bucket_start(start, bucket)
    while current < end:
        starts.append(current)
        if len(starts) > MAX_BUCKETS:
            raise InvalidInput(f"the period spans more than {MAX_BUCKETS} {bucket} buckets; use a coarser bucket")
        current = _next_bucket(current, bucket)
    return starts


def _by_meta(name: str) -> Callable[[MetricEvent], tuple | None]:
    """A dedupe key: the event's type and its metadata `name` (case-folded), None when it has none."""

    def key(event: MetricEvent) -> tuple | None:
        value = _meta(event, name)
        return None if value is None else (event.metric_type, str(value).casefold())

    return key


def _dedupe(events: Iterable[MetricEvent], key: Callable[[MetricEvent], Any]) -> list[MetricEvent]:
    """The first event (earliest, then by id) of each key; a key of None keeps the event on its own."""
    kept: dict[Any, MetricEvent] = {}
    for event in sorted(events, key=lambda e: (e.timestamp, e.event_id)):
        kept.setdefault(key(event) or ("event", event.event_id), event)
    return list(kept.values())
