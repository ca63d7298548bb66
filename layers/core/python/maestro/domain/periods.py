"""A project's analytics period and the bucket its series use.

By default every analytics answer covers the project's whole life: from its start (its start_date, or its first
event when that is earlier or there is no start date) to its end (its outcome's completed_at, or now while it runs;
later events stretch it to the last one). Any period up to MAX_PERIOD is accepted, so a 15-year repository can be
seen whole; series coarsen day -> week -> month so that they keep at most MAX_SERIES_POINTS points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from maestro.domain.errors import InvalidInput

BUCKETS = ("day", "week", "month")
MAX_SERIES_POINTS = 400
MAX_PERIOD = timedelta(days=50 * 366)
_BUCKET_DAYS = {"day": 1, "week": 7, "month": 366 / 12}


@dataclass(frozen=True)
class ProjectLife:
    """What bounds a project's life: its own dates and the times of its first and last stored events."""

    start_date: date | None
    completed_at: datetime | None
    created_at: datetime
    first_event: datetime | None = None
    last_event: datetime | None = None

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) of the whole life (end exclusive: the last event is inside)."""
        starts = [datetime.combine(self.start_date, time(), tzinfo=UTC)] if self.start_date else []
        if self.first_event is not None:
            starts.append(self.first_event)
        start = min(starts) if starts else self.created_at
        end = self.completed_at or now
        if self.last_event is not None and self.last_event >= end:
            end = self.last_event + timedelta(seconds=1)
        if end <= start:
            end = start + timedelta(days=1)
        return start, end


def resolve_period(
    start: datetime | None, end: datetime | None, life: ProjectLife | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end): what the caller gave, the rest from the project's life; refused when empty or over MAX_PERIOD."""
    if start is None or end is None:
        life_start, life_end = life.span(now) if life else (now - timedelta(days=90), now)
        if start is None and end is not None and life_start >= end:
            life_start = end - timedelta(days=90)  # a `to` before the life: the 90 days before it
        if end is None and start is not None and life_end <= start:
            life_end = max(start + timedelta(days=1), now)
        start, end = start or life_start, end or life_end
    if start >= end:
        raise InvalidInput("from must be before to", parameter="from")
    if end - start > MAX_PERIOD:
        raise InvalidInput(f"the period can be at most {MAX_PERIOD.days // 366} years", parameter="from")
    return start, end


def series_bucket(start: datetime, end: datetime, requested: str | None = None) -> str:
    """The finest bucket, no finer than `requested`, that keeps [start, end) within MAX_SERIES_POINTS points."""
    if requested is not None and requested not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}", parameter="bucket")
    days = (end - start).total_seconds() / 86400
    for bucket in BUCKETS[BUCKETS.index(requested or "day") :]:
        if days / _BUCKET_DAYS[bucket] + 1 <= MAX_SERIES_POINTS:
            return bucket
    return "month"
