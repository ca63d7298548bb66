"""Process metrics: the one normalised metric event every source produces, the built-in metric types with
their fixed units, and the stable event id that makes every source exactly-once."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# A stored number's range (DynamoDB's: 38 digits, magnitude 1E-130..9.99E+125), with room to spare.
MAX_ABS_VALUE = 1e120
MIN_ABS_VALUE = 1e-120

# Built-in types and their one unit. A value in another unit is rejected rather than converted silently.
BUILT_IN_TYPES: dict[str, str] = {
    "commits": "count",
    "lines_added": "lines",
    "lines_deleted": "lines",
    "files_changed": "count",
    "pr_opened": "count",
    "pr_merged": "count",
    "pr_closed": "count",
    "pr_merge_hours": "hours",
    "pr_additions": "lines",
    "pr_deletions": "lines",
    "pr_changed_files": "count",
    "review_comments": "count",
    "reviews": "count",
    "pipeline_run": "count",
    "pipeline_duration_seconds": "seconds",
    "pipeline_success": "ratio",
    "pipeline_attempt": "count",
    "job_run": "count",
    "job_duration_seconds": "seconds",
    "job_success": "ratio",
    "tests": "count",
    "test_failures": "count",
    "test_errors": "count",
    "test_skipped": "count",
    "test_duration_seconds": "seconds",
    "deployment": "count",
    "deployment_failed": "count",
    "deployment_succeeded": "count",
    "release": "count",
    "experiment_run": "count",
    "experiment_run_failed": "count",
    "experiment_run_seconds": "seconds",
    "training_hours": "hours",
    "cpu_hours": "hours",
    "gpu_hours": "hours",
}
CUSTOM_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_BATCH = 1000
# Timestamps outside this window are almost certainly unit mistakes (ms vs s) or typos.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_SKEW_SECONDS = 24 * 3600


class MetricRejected(ValueError):
    """One event failed validation; `reason` is safe to return to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MetricEvent:
    """A validated event, ready to store. `event_id` is given by the source or derived from its content."""

    event_id: str
    project_id: str
    metric_type: str
    value: float
    unit: str
    timestamp: datetime
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def metric_key(self) -> str:
        return f"{self.metric_type}#{self.timestamp.isoformat()}#{self.event_id}"


def derive_event_id(
    source: str, project_id: str, metric_type: str, timestamp: datetime, value: float, discriminator: str = ""
) -> str:
    """A stable id from the event's content: the same fact from the same source always gets the same id."""
    digest = hashlib.sha256(
        json.dumps([source, project_id, metric_type, timestamp.isoformat(), repr(float(value)), discriminator]).encode()
    )
    return "evt_" + digest.hexdigest()[:32]


def parse_timestamp(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise MetricRejected(f"timestamp {raw!r} is not ISO 8601") from None
    else:
        raise MetricRejected("timestamp must be an ISO 8601 string with a time zone")
    if moment.tzinfo is None:
        raise MetricRejected("timestamp must carry a time zone (e.g. Z or +02:00)")
    return moment.astimezone(UTC)


def normalise(
    raw: dict[str, Any], *, project_id: str | None, custom_types: dict[str, str], source: str, now: datetime
) -> MetricEvent:
    """Validate one raw event (a dict as sent) into a MetricEvent, or raise MetricRejected saying why."""
    if not isinstance(raw, dict):
        raise MetricRejected("an event must be a JSON object")
    project = raw.get("project_id") or project_id
    if not isinstance(project, str) or not project:
        raise MetricRejected("project_id is required")
    if project_id is not None and raw.get("project_id") not in (None, project_id):
        raise MetricRejected(f"event names project {raw.get('project_id')} but the drop belongs to {project_id}")
    metric_type = raw.get("metric_type")
    if not isinstance(metric_type, str):
        raise MetricRejected("metric_type is required")
    unit = BUILT_IN_TYPES.get(metric_type) or custom_types.get(metric_type)
    if unit is None:
        raise MetricRejected(f"unknown metric_type {metric_type!r}: use a built-in type or register a custom one")
    if raw.get("unit") not in (None, unit):
        raise MetricRejected(f"{metric_type} is measured in {unit}, not {raw.get('unit')}")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MetricRejected("value must be a finite number")
    if abs(value) > MAX_ABS_VALUE or 0 < abs(value) < MIN_ABS_VALUE:
        raise MetricRejected(f"value must be 0 or between {MIN_ABS_VALUE:g} and {MAX_ABS_VALUE:g} in magnitude")
    if unit in ("count", "lines", "seconds", "hours") and value < 0:
        raise MetricRejected(f"{metric_type} cannot be negative")
    if unit == "ratio" and not 0 <= value <= 1:
        raise MetricRejected(f"{metric_type} is a ratio between 0 and 1")
    timestamp = parse_timestamp(raw.get("timestamp"))
    if timestamp < EARLIEST or (timestamp - now).total_seconds() > LATEST_SKEW_SECONDS:
        raise MetricRejected(f"timestamp {timestamp.isoformat()} is out of range")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise MetricRejected("metadata must be an object")
    if len(json.dumps(metadata, default=str)) > 16_384:
        raise MetricRejected("metadata is larger than 16 KiB")
    event_source = raw.get("source") or source
    event_id = raw.get("event_id")
    if event_id is not None and (not isinstance(event_id, str) or not 1 <= len(event_id) <= 200):
        raise MetricRejected("event_id must be a string of 1 to 200 characters")
    if event_id is None:
        event_id = derive_event_id(
            event_source, project, metric_type, timestamp, value, json.dumps(metadata, sort_keys=True, default=str)
        )
    return MetricEvent(event_id, project, metric_type, float(value), unit, timestamp, event_source, metadata)
