"""The four DORA metrics and their performance bands."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from maestro.domain.analytics import shared
from maestro.domain.analytics.git import _distinct_commits
from maestro.domain.metrics import MetricEvent

# Cut-offs per metric, first match wins, else "low" (sources and reading in dora_band's docstring).
DORA_BANDS: dict[str, list[tuple[str, str, float]]] = {
    "deployment_frequency": [("elite", ">=", 7.0), ("high", ">=", 1.0), ("medium", ">=", 7 / 30)],
    "lead_time_for_changes": [("elite", "<", 24.0), ("high", "<=", 168.0), ("medium", "<=", 720.0)],
    "change_failure_rate": [("elite", "<=", 0.05), ("high", "<=", 0.10), ("medium", "<=", 0.15)],
    "time_to_restore": [("elite", "<", 1.0), ("high", "<", 24.0), ("medium", "<=", 168.0)],
}
_COMPARE = {">=": lambda v, t: v >= t, "<": lambda v, t: v < t, "<=": lambda v, t: v <= t}
PRODUCTION = re.compile(r"prod", re.IGNORECASE)
_DEPLOY_STATUSES = ("deployment_succeeded", "deployment_failed")


def dora_band(metric: str, value: float | None) -> str:
    """The band (elite/high/medium/low) of one DORA metric's value, or insufficient_data for None.

    Bands per the 2023 Accelerate State of DevOps report (DORA), whose clusters are:

      | cluster | deployment frequency        | change lead time    | change failure rate | failed deploy recovery |
      |---------|-----------------------------|---------------------|---------------------|------------------------|
      | elite   | on demand                   | less than one day   | 5%                  | less than one hour     |
      | high    | once per day..once per week | one day..one week   | 10%                 | less than one day      |
      | medium  | once per week..once a month | one week..one month | 15%                 | one day..one week      |
      | low     | once per week..once a month | one week..one month | 64%                 | one month..six months  |

    The report gives cluster descriptions, not cut-offs (low and medium even share frequency and lead time;
    failure rates are cluster medians), so the cut-offs below are this module's reading, first match wins:

      | metric                              | elite    | high     | medium        | low      |
      |-------------------------------------|----------|----------|---------------|----------|
      | deployment_frequency (deploys/week) | >= 7     | >= 1     | >= 7/30       | below    |
      | lead_time_for_changes (hours)       | < 24     | <= 168   | <= 720        | > 720    |
      | change_failure_rate (ratio)         | <= 0.05  | <= 0.10  | <= 0.15       | > 0.15   |
      | time_to_restore (hours)             | < 1      | < 24     | <= 168        | > 168    |

    "On demand" is read as at least daily (7 a week); a month is 30 days; a week 168 hours.
    """
    if value is None:
        return shared.INSUFFICIENT_DATA
    return next((band for band, op, limit in DORA_BANDS[metric] if _COMPARE[op](value, limit)), "low")


def _dora_metric(metric: str, value: float | None, unit: str, **details: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit, "band": dora_band(metric, value), **details}


def _environment(event: MetricEvent) -> str:
    return str(shared._meta(event, "environment") or "")


def dora(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """The four DORA metrics over [start, end), each {value, unit, band, ...details}.

    Scope: deployments to environments whose name matches /prod/i; when no deployment event names such an
    environment, all environments (`scope` says which, `environments` lists them). Deployment statuses are
    counted once per (deployment id, outcome).
    - deployment_frequency: successful deployments per week of the period (`counted`: succeeded_statuses;
      when the scope has no status at all, created `deployment` events stand in: deployments_created).
    - lead_time_for_changes: median hours from each commit (distinct sha, any source) to the first
      successful deployment (as counted above) at or after it (a deploy ships every earlier commit);
      commits with no later successful deployment are counted as `commits_not_deployed` and left out.
    - change_failure_rate: failed statuses / all success-or-failure statuses.
    - time_to_restore: median hours from a failed deployment to the next successful one in the same
      environment; consecutive failures are one incident timed from the first; incidents still open at the
      period's end are counted as `unrestored` and left out.
    Nothing to measure gives value null and band insufficient_data.
    """
    start, end = shared._period(start, end)
    in_period = shared._within(events, start, end)
    deploy_events = [e for e in in_period if e.metric_type in ("deployment", *_DEPLOY_STATUSES)]
    environments = {_environment(e) for e in deploy_events}
    production = {env for env in environments if PRODUCTION.search(env)}
    scope_environments = production or environments
    statuses = shared._dedupe(
        (e for e in deploy_events if e.metric_type in _DEPLOY_STATUSES and _environment(e) in scope_environments),
        shared._by_meta("deployment_id"),
    )
    if statuses:
        successes = sorted(e.timestamp for e in statuses if e.metric_type == "deployment_succeeded")
        counted = "succeeded_statuses"
    else:  # a deployer that posts no statuses: every created deployment is taken as shipped
        successes = sorted(e.timestamp for e in deploy_events if _environment(e) in scope_environments)
        counted = "deployments_created"
    failures = sum(1 for e in statuses if e.metric_type == "deployment_failed")

    lead_hours, not_deployed = [], 0
    for commit in _distinct_commits(in_period):
        index = bisect_left(successes, commit.timestamp)
        if index == len(successes):
            not_deployed += commit.weight
        else:
            lead_hours += [(successes[index] - commit.timestamp).total_seconds() / 3600] * commit.weight

    restore_hours, unrestored = [], 0
    by_environment: dict[str, list[MetricEvent]] = defaultdict(list)
    for status in statuses:
        by_environment[_environment(status)].append(status)
    for history in by_environment.values():
        failed_at = None
        for status in history:  # already in time order (shared._dedupe sorts)
            if status.metric_type == "deployment_failed" and failed_at is None:
                failed_at = status.timestamp
            elif status.metric_type == "deployment_succeeded" and failed_at is not None:
                restore_hours.append((status.timestamp - failed_at).total_seconds() / 3600)
                failed_at = None
        unrestored += failed_at is not None

    measured = bool(deploy_events)
    return {
        "period": {"start": shared._iso(start), "end": shared._iso(end), "weeks": shared._period_weeks(start, end)},
        "scope": "production" if production else "all_environments",
        "environments": sorted(scope_environments),
        "deployment_frequency": _dora_metric(
            "deployment_frequency",
            shared._per_week(len(successes), start, end) if measured else None,
            "deployments_per_week",
            successful_deployments=len(successes),
            counted=counted,
        ),
        "lead_time_for_changes": _dora_metric(
            "lead_time_for_changes",
            shared.percentile(lead_hours, 50),
            "hours",
            p90=shared.percentile(lead_hours, 90),
            commits_measured=len(lead_hours),
            commits_not_deployed=not_deployed,
        ),
        "change_failure_rate": _dora_metric(
            "change_failure_rate",
            shared._ratio(failures, len(statuses)),
            "ratio",
            failed_deployments=failures,
            deployments=len(statuses),
        ),
        "time_to_restore": _dora_metric(
            "time_to_restore",
            shared.percentile(restore_hours, 50),
            "hours",
            incidents_restored=len(restore_hours),
            unrestored=unrestored,
        ),
    }
