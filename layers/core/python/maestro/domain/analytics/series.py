"""Bucketed time series of one metric type and per-type summaries (count, distribution, weekly trend)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maestro.domain.analytics.shared import (
    INSUFFICIENT_DATA,
    _bucket_start,
    _bucket_starts,
    _distribution,
    _iso,
    _period,
    _ratio,
    _within,
)
from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent


def time_series(
    events: Sequence[MetricEvent], metric_type: str, start: datetime, end: datetime, bucket: str = "day"
) -> dict[str, Any]:
    """`metric_type` per day, week (Monday UTC) or calendar month over [start, end), every bucket listed:
    count, sum, mean, min and max of the values (mean/min/max null in an empty bucket)."""
    start, end = _period(start, end)
    starts = _bucket_starts(start, end, bucket)
    chosen = _within(events, start, end, [metric_type])
    grouped: dict[datetime, list[float]] = defaultdict(list)
    for event in chosen:
        grouped[_bucket_start(event.timestamp, bucket)].append(event.value)
    points = []
    for bucket_start in starts:
        values = grouped.get(bucket_start, [])
        points.append(
            {
                "start": _iso(bucket_start),
                "count": len(values),
                "sum": float(sum(values)),
                "mean": _ratio(sum(values), len(values)),
                "min": min(values) if values else None,
                "max": max(values) if values else None,
            }
        )
    unit = BUILT_IN_TYPES.get(metric_type) or next((e.unit for e in chosen), None)
    return {"metric_type": metric_type, "unit": unit, "bucket": bucket, "points": points}


# Types whose weekly figure is a mean, not a sum: ratios, durations of one run or PR, attempt numbers.
# Everything else (counts, lines, consumed hours such as gpu_hours) adds up, so a week is its sum.
_LEVEL_TYPES = frozenset({"pr_merge_hours", "pipeline_attempt"})
_LEVEL_UNITS = frozenset({"ratio", "seconds"})
TREND_MIN_WEEKS = 3
TREND_FLAT_SHARE = 0.05


def aggregates_as_mean(metric_type: str, unit: str | None) -> bool:
    """True when a week of `metric_type` is summarised by its mean (ratios, per-run durations), False when
    by its sum."""
    return metric_type in _LEVEL_TYPES or unit in _LEVEL_UNITS


def _slope(points: Sequence[tuple[float, float]]) -> float:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def _trend(events: Sequence[MetricEvent], as_mean: bool) -> dict[str, Any]:
    first = _bucket_start(min(e.timestamp for e in events), "week")
    weekly: dict[int, list[float]] = defaultdict(list)
    for event in events:
        weekly[(_bucket_start(event.timestamp, "week") - first).days // 7].append(event.value)
    last_week = max(weekly)
    if as_mean:  # a week without events has no mean: it is skipped, not read as zero
        points = [(float(w), sum(v) / len(v)) for w, v in sorted(weekly.items())]
    else:  # a week without events summed to zero
        points = [(float(w), float(sum(weekly.get(w, [])))) for w in range(last_week + 1)]
    basis = "weekly_mean" if as_mean else "weekly_sum"
    if len(points) < TREND_MIN_WEEKS:
        return {"basis": basis, "weeks": len(points), "slope_per_week": None, "label": INSUFFICIENT_DATA}
    slope = _slope(points)
    level = abs(sum(y for _, y in points) / len(points))
    label = "flat" if abs(slope) <= TREND_FLAT_SHARE * level else ("rising" if slope > 0 else "falling")
    return {"basis": basis, "weeks": len(points), "slope_per_week": slope, "label": label}


def summary(events_by_type: Mapping[str, Sequence[MetricEvent]]) -> dict[str, Any]:
    """Per metric type: latest {value, timestamp}, count, mean, p50, p90 of the event values, and the trend.

    Trend: the least-squares slope per week of the weekly figures from the first event's week to the last
    one's, where a week's figure is its sum, or its mean for ratio and per-run duration types
    (`aggregates_as_mean`: pipeline_success, *_seconds, pr_merge_hours, pipeline_attempt; weeks with no
    event are then skipped instead of counted as zero). Label: "flat" when |slope| <= 5% of the mean weekly
    figure, else "rising"/"falling"; fewer than 3 weekly figures give slope null, label insufficient_data.
    """
    result: dict[str, Any] = {}
    for metric_type, events in events_by_type.items():
        values = [e.value for e in events]
        if not events:
            result[metric_type] = {
                "latest": None,
                "count": 0,
                "mean": None,
                "p50": None,
                "p90": None,
                "trend": {"basis": None, "weeks": 0, "slope_per_week": None, "label": INSUFFICIENT_DATA},
            }
            continue
        latest = max(events, key=lambda e: e.timestamp)
        unit = BUILT_IN_TYPES.get(metric_type) or latest.unit
        result[metric_type] = {
            "latest": {"value": latest.value, "timestamp": _iso(latest.timestamp)},
            **_distribution(values),
            "trend": _trend(events, aggregates_as_mean(metric_type, unit)),
        }
    return result
