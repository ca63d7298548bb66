"""Analytics over a project's stored metric events: time series, per-type summaries, git, DORA, CI, velocity
and team analytics. Pure: every function takes plain sequences of MetricEvent (already tenant- and
project-scoped by the caller) and an explicit period, and returns a JSON-ready dict.

Shared rules
* A period is half-open, [start, end), with aware datetimes (converted to UTC); start >= end, a naive datetime
  or an unknown bucket raise InvalidInput. Events outside the period are ignored, so callers may pass more.
* Percentiles interpolate linearly between closest ranks (numpy's default "linear" method: the q-th
  percentile of n sorted values sits at position (n - 1) * q / 100). Written out here because request-time
  functions do not import numpy (tests/unit/test_cold_path.py; pyproject: numpy is for the batch jobs).
* "Per week" rates divide by the period's length in weeks ((end - start) / 7 days), so a partial week at
  either edge does not drag a rate down the way a mean over calendar-week buckets would.
* Nothing to measure gives null (and, for DORA, band "insufficient_data"), never an exception or a
  division by zero.
* Weeks start on Monday 00:00 UTC; months are calendar months in UTC.

Metadata read from events (maestro.ingestion.formats and .github write these; _META_KEYS lists every spelling
accepted, the first present wins):
  commits, lines_*, files_changed: sha, author_email, author_name; git-log drops add is_merge and files (at
    most 50 paths); push webhooks add author_username
  pr_*: number, author (login), merged_by (login, on merged PRs)
  reviews: reviewer (login), pr_number, state
  pipeline_*, job_*: workflow_name (or name, workflow_id), run_id, run_attempt; job_* also job_id
  deployment, deployment_*: environment, deployment_id, sha; statuses also state
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.errors import InvalidInput
from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent
from maestro.domain.periods import series_bucket
from maestro.domain.projects import percentile_rank

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


# ---------------------------------------------------------------- shared helpers
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


# ---------------------------------------------------------------- time series and summary
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


# ---------------------------------------------------------------- git
@dataclass
class _Commit:
    sha: str
    timestamp: datetime
    email: str | None = None
    login: str | None = None
    name: str | None = None
    is_merge: bool = False
    files: set[str] = field(default_factory=set)

    @property
    def author(self) -> str | None:
        """The authorship key: the case-folded email, else the login, else the name."""
        return self.email or self.login or self.name


def _distinct_commits(events: Iterable[MetricEvent]) -> list[_Commit]:
    """`commits` events merged by sha across sources (git-log drops and push webhooks): the earliest
    timestamp, the first author fields present, merge if any source says so, the union of file paths."""
    commits: dict[str, _Commit] = {}
    for event in sorted((e for e in events if e.metric_type == "commits"), key=lambda e: (e.timestamp, e.event_id)):
        sha = str(_meta(event, "sha") or f"event:{event.event_id}").casefold()
        commit = commits.setdefault(sha, _Commit(sha, event.timestamp))
        commit.email = commit.email or _identity(_meta(event, "author_email"))
        commit.login = commit.login or _identity(_meta(event, "author_login"))
        commit.name = commit.name or _identity(_meta(event, "author_name"))
        commit.is_merge = commit.is_merge or bool(_meta(event, "is_merge"))
        commit.files.update(str(path) for path in (_meta(event, "files") or []))
    return sorted(commits.values(), key=lambda c: (c.timestamp, c.sha))


def _per_sha(events: Iterable[MetricEvent], metric_type: str) -> list[MetricEvent]:
    """Events of one type, one per commit sha (the same commit's figure from two sources counts once)."""
    return _dedupe((e for e in events if e.metric_type == metric_type), _by_meta("sha"))


FILES_PER_COMMIT_CAP = 50  # the git-log drop keeps at most this many paths per commit


def _bus_factor(counts: Counter) -> int | None:
    """Fewest authors whose commits together cover at least half of all commits."""
    total, covered = sum(counts.values()), 0
    for rank, (_, commits) in enumerate(counts.most_common(), start=1):
        covered += commits
        if 2 * covered >= total:
            return rank
    return None


@dataclass
class _PullRequests:
    merged: dict[str, MetricEvent]  # pr key -> its pr_merged event
    authors: dict[str, str]  # pr key -> author login (from any pr_* or review event)
    reviews: list[MetricEvent]  # reviews in the period, self-reviews excluded
    reviewed: set[str]  # pr keys with >= 1 review before the period's end
    merge_hours: list[float]
    any_pr_events: bool


def _pr_key(event: MetricEvent) -> str | None:
    number = _meta(event, "pr_number")
    return None if number is None else str(number)


def _pull_requests(events: Sequence[MetricEvent], start: datetime, end: datetime) -> _PullRequests:
    """Merged PRs, their authors and reviews. Reviews join to PRs by pr number; a review by the PR's own
    author is not a review. Reviews given before the period (of PRs merged in it) count towards `reviewed`
    when the caller passes them: a PR reviewed on Friday and merged on Monday was reviewed."""
    in_period = _within(events, start, end)
    authors: dict[str, str] = {}
    for event in events:
        key = _pr_key(event)
        login = _identity(_meta(event, "pr_author") if event.metric_type == "reviews" else _meta(event, "author_login"))
        if key is not None and login and (event.metric_type == "reviews" or event.metric_type.startswith("pr_")):
            authors.setdefault(key, login)
    merged = {
        (_pr_key(e) or f"event:{e.event_id}"): e
        for e in _dedupe((e for e in in_period if e.metric_type == "pr_merged"), _pr_key)
    }
    merge_hours = [e.value for e in _dedupe((e for e in in_period if e.metric_type == "pr_merge_hours"), _pr_key)]

    def by_author(review: MetricEvent) -> bool:
        reviewer, key = _identity(_meta(review, "reviewer")), _pr_key(review)
        return reviewer is not None and key is not None and authors.get(key) == reviewer

    reviews_before_end = [e for e in events if e.metric_type == "reviews" and e.timestamp < end and not by_author(e)]
    return _PullRequests(
        merged=merged,
        authors=authors,
        reviews=[e for e in reviews_before_end if e.timestamp >= start],
        reviewed={key for key in (_pr_key(e) for e in reviews_before_end) if key in merged},
        merge_hours=merge_hours,
        any_pr_events=any(e.metric_type.startswith("pr_") for e in in_period),
    )


def git_stats(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """Git and pull-request figures over [start, end).

    - commits: distinct shas across sources (a commit from a git-log drop and a push webhook counts once).
      `commits_per_week.weeks` lists every Monday-started week; `mean` is commits per 7 days of the period
      (null when no commit events arrived, i.e. nothing was measured); over more than MAX_SERIES_POINTS weeks the
      weekly list is empty and `commit_series` (bucket: day, week or month, maestro.domain.periods) carries it.
    - authorship (active_contributors, bus_factor, top_author_share) leaves out merge commits (is_merge):
      merging is not authoring the merged work. Authors are case-folded emails (login, then name, when a
      source has no email).
    - bus_factor: fewest authors whose commits cover >= 50% of the non-merge commits (null without commits).
    - lines_added / lines_deleted: sums, one figure per sha; churn_ratio = deleted / added (null if 0 added).
    - files_touched: distinct paths in the commits' `files`. `files_touched_lower_bound` is true when some
      commit lists fewer paths than its files_changed figure or hit the git-log drop's cap of 50 paths
      (push webhooks carry counts, not paths).
    - pr_merge_hours: p50/p90 of the PRs merged in the period; prs_merged: count and per week (per_week
      null when no pull-request event arrived).
    - review_participation: share of merged PRs with >= 1 review by someone other than the author, and the
      distinct reviewers of the period.
    """
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    commits = _distinct_commits(in_period)
    authored = Counter(c.author for c in commits if not c.is_merge and c.author)
    weekly = Counter(_bucket_start(c.timestamp, "week") for c in commits)
    bucket = series_bucket(start, end)
    by_bucket = Counter(_bucket_start(c.timestamp, bucket) for c in commits)
    added = sum(e.value for e in _per_sha(in_period, "lines_added"))
    deleted = sum(e.value for e in _per_sha(in_period, "lines_deleted"))
    files = set().union(*(c.files for c in commits))
    files_changed = {
        str(_meta(e, "sha")).casefold(): e.value for e in _per_sha(in_period, "files_changed") if _meta(e, "sha")
    }
    prs = _pull_requests(events, start, end)
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "commits": len(commits),
        "merge_commits": sum(1 for c in commits if c.is_merge),
        "bucket": bucket,
        "commits_per_week": {
            # every week while that stays a few hundred points; a longer life is in commit_series (coarser)
            "weeks": [{"week_start": _iso(w), "commits": weekly.get(w, 0)} for w in _bucket_starts(start, end, "week")]
            if series_bucket(start, end, "week") == "week"
            else [],
            "mean": _per_week(len(commits), start, end) if commits else None,
        },
        "commit_series": {
            "bucket": bucket,
            "points": [{"start": _iso(b), "commits": by_bucket.get(b, 0)} for b in _bucket_starts(start, end, bucket)],
        },
        "active_contributors": len(authored),
        "bus_factor": _bus_factor(authored),
        "top_author_share": _ratio(max(authored.values()), sum(authored.values())) if authored else None,
        "lines_added": added,
        "lines_deleted": deleted,
        "churn_ratio": _ratio(deleted, added),
        "files_touched": len(files),
        "files_touched_lower_bound": any(
            len(c.files) >= FILES_PER_COMMIT_CAP or files_changed.get(c.sha, 0) > len(c.files) for c in commits
        ),
        "prs_merged": {
            "count": len(prs.merged),
            "per_week": _per_week(len(prs.merged), start, end) if prs.any_pr_events else None,
        },
        "pr_merge_hours": {
            "count": len(prs.merge_hours),
            "p50": percentile(prs.merge_hours, 50),
            "p90": percentile(prs.merge_hours, 90),
        },
        "review_participation": {
            "merged_prs": len(prs.merged),
            "reviewed_merged_prs": len(prs.reviewed),
            "share": _ratio(len(prs.reviewed), len(prs.merged)),
            "distinct_reviewers": len({r for r in (_identity(_meta(e, "reviewer")) for e in prs.reviews) if r}),
        },
    }


# ---------------------------------------------------------------- DORA
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
        return INSUFFICIENT_DATA
    return next((band for band, op, limit in DORA_BANDS[metric] if _COMPARE[op](value, limit)), "low")


def _dora_metric(metric: str, value: float | None, unit: str, **details: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit, "band": dora_band(metric, value), **details}


def _environment(event: MetricEvent) -> str:
    return str(_meta(event, "environment") or "")


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
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    deploy_events = [e for e in in_period if e.metric_type in ("deployment", *_DEPLOY_STATUSES)]
    environments = {_environment(e) for e in deploy_events}
    production = {env for env in environments if PRODUCTION.search(env)}
    scope_environments = production or environments
    statuses = _dedupe(
        (e for e in deploy_events if e.metric_type in _DEPLOY_STATUSES and _environment(e) in scope_environments),
        _by_meta("deployment_id"),
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
            not_deployed += 1
        else:
            lead_hours.append((successes[index] - commit.timestamp).total_seconds() / 3600)

    restore_hours, unrestored = [], 0
    by_environment: dict[str, list[MetricEvent]] = defaultdict(list)
    for status in statuses:
        by_environment[_environment(status)].append(status)
    for history in by_environment.values():
        failed_at = None
        for status in history:  # already in time order (_dedupe sorts)
            if status.metric_type == "deployment_failed" and failed_at is None:
                failed_at = status.timestamp
            elif status.metric_type == "deployment_succeeded" and failed_at is not None:
                restore_hours.append((status.timestamp - failed_at).total_seconds() / 3600)
                failed_at = None
        unrestored += failed_at is not None

    measured = bool(deploy_events)
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "scope": "production" if production else "all_environments",
        "environments": sorted(scope_environments),
        "deployment_frequency": _dora_metric(
            "deployment_frequency",
            _per_week(len(successes), start, end) if measured else None,
            "deployments_per_week",
            successful_deployments=len(successes),
            counted=counted,
        ),
        "lead_time_for_changes": _dora_metric(
            "lead_time_for_changes",
            percentile(lead_hours, 50),
            "hours",
            p90=percentile(lead_hours, 90),
            commits_measured=len(lead_hours),
            commits_not_deployed=not_deployed,
        ),
        "change_failure_rate": _dora_metric(
            "change_failure_rate",
            _ratio(failures, len(statuses)),
            "ratio",
            failed_deployments=failures,
            deployments=len(statuses),
        ),
        "time_to_restore": _dora_metric(
            "time_to_restore",
            percentile(restore_hours, 50),
            "hours",
            incidents_restored=len(restore_hours),
            unrestored=unrestored,
        ),
    }


# ---------------------------------------------------------------- CI
def _execution_key(event: MetricEvent) -> tuple | None:
    """One workflow/job execution (run id, attempt, job) across the several events it produces."""
    run_id = _meta(event, "run_id")
    if run_id is None:
        return None
    return (str(_meta(event, "workflow")), str(run_id), str(_meta(event, "run_attempt")), str(_meta(event, "job_id")))


def _executions(events: Sequence[MetricEvent], run_type: str, success_type: str, duration_type: str) -> dict:
    runs = _dedupe((e for e in events if e.metric_type == run_type), _execution_key)
    outcomes = _dedupe((e for e in events if e.metric_type == success_type), _execution_key)
    durations = [e.value for e in _dedupe((e for e in events if e.metric_type == duration_type), _execution_key)]
    return {
        "runs": len(runs) or len(outcomes),
        "success_rate": _ratio(sum(e.value for e in outcomes), len(outcomes)),
        "duration_seconds": {
            "count": len(durations),
            "p50": percentile(durations, 50),
            "p90": percentile(durations, 90),
        },
    }


def _flaky_workflows(outcomes: Iterable[MetricEvent]) -> list[dict[str, Any]]:
    """Workflows with a run whose attempt n failed and attempt n + 1 succeeded: the same code passed on retry."""
    attempts: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for event in outcomes:
        run_id, attempt = _meta(event, "run_id"), str(_meta(event, "run_attempt"))
        if run_id is None or not attempt.isdigit():
            continue
        attempts[(str(_meta(event, "workflow") or "unknown"), str(run_id))][int(attempt)] = event.value
    flaky: dict[str, list[str]] = defaultdict(list)
    for (workflow, run_id), outcome in attempts.items():
        if any(value < 1 and outcome.get(n + 1, 0) >= 1 for n, value in outcome.items()):
            flaky[workflow].append(run_id)
    return sorted(
        ({"workflow": w, "flaky_runs": len(runs), "run_ids": sorted(runs)} for w, runs in flaky.items()),
        key=lambda f: (-f["flaky_runs"], f["workflow"]),
    )


def ci_stats(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """CI over [start, end).

    - pipeline_runs: workflow executions (each attempt of a run counts; events of one execution, keyed by
      workflow, run id and attempt, count once; pipeline_success events stand in when no pipeline_run
      event arrived); success_rate: mean of pipeline_success (0/1);
      duration_seconds p50/p90 of pipeline_duration_seconds. `jobs` gives the same for job_* events.
    - flaky_workflows: per workflow (name, else id), the runs whose attempt n failed and attempt n + 1
      passed, most flaky first.
    - tests: sums of the JUnit figures; failure_rate = (failures + errors) / tests (null without tests).
    """
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    pipelines = _executions(in_period, "pipeline_run", "pipeline_success", "pipeline_duration_seconds")
    totals = {
        name: sum(e.value for e in in_period if e.metric_type == name)
        for name in ("tests", "test_failures", "test_errors", "test_skipped", "test_duration_seconds")
    }
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "pipeline_runs": pipelines["runs"],
        "success_rate": pipelines["success_rate"],
        "duration_seconds": pipelines["duration_seconds"],
        "flaky_workflows": _flaky_workflows(
            _dedupe((e for e in in_period if e.metric_type == "pipeline_success"), _execution_key)
        ),
        "jobs": _executions(in_period, "job_run", "job_success", "job_duration_seconds"),
        "tests": {
            "reports": sum(1 for e in in_period if e.metric_type == "tests"),
            "tests": totals["tests"],
            "failures": totals["test_failures"],
            "errors": totals["test_errors"],
            "skipped": totals["test_skipped"],
            "duration_seconds": totals["test_duration_seconds"],
            "failure_rate": _ratio(totals["test_failures"] + totals["test_errors"], totals["tests"]),
        },
    }


# ---------------------------------------------------------------- velocity
# component -> (weight, higher_is_better). Equal weights: no evidence yet that one matters more.
VELOCITY_COMPONENTS: dict[str, tuple[float, bool]] = {
    "commits_per_week": (0.2, True),  # distinct commits per week
    "merged_prs_per_week": (0.2, True),  # pull requests merged per week
    "pr_merge_hours_p50": (0.2, False),  # median hours from PR open to merge: lower is better
    "pipeline_success_rate": (0.2, True),  # share of CI workflow executions that passed
    "deployments_per_week": (0.2, True),  # successful (production) deployments per week
}
MIN_VELOCITY_HISTORY = 3


# The event types the velocity components are computed from (through git_stats, dora and ci_stats): a project's
# velocity needs only these, within the period (tests/unit/test_analytics.py holds them to the full reports).
VELOCITY_EVENT_TYPES = (
    "commits",
    "pr_opened",
    "pr_merged",
    "pr_closed",
    "pr_merge_hours",
    "pipeline_success",
    "deployment",
    "deployment_succeeded",
    "deployment_failed",
)


def velocity_features_of(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, float]:
    """A project's velocity components from its events of [start, end)."""
    return velocity_features(git_stats(events, start, end), dora(events, start, end), ci_stats(events, start, end))


def velocity_features(git: Mapping[str, Any], dora_stats: Mapping[str, Any], ci: Mapping[str, Any]) -> dict[str, float]:
    """The velocity components' raw values from git_stats, dora and ci_stats results; unmeasured (null)
    ones are left out."""
    features = {
        "commits_per_week": git["commits_per_week"]["mean"],
        "merged_prs_per_week": git["prs_merged"]["per_week"],
        "pr_merge_hours_p50": git["pr_merge_hours"]["p50"],
        "pipeline_success_rate": ci["success_rate"],
        "deployments_per_week": dora_stats["deployment_frequency"]["value"],
    }
    return {name: float(value) for name, value in features.items() if value is not None}


def _usable(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def velocity(project_features: Mapping[str, float], history: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """A 0-100 velocity score: 100 x the weighted mean of the components' percentile ranks.

    Each component (VELOCITY_COMPONENTS) is the percentile rank of the project's value among the same
    feature of the tenant's other projects (`history`; ties count half), inverted for lower-is-better ones,
    so every component is a unitless 0..1 and units never mix; a project better than all its history on
    every component scores 100. A component the project lacks, or that fewer than 3 history projects have,
    is omitted and the remaining weights are renormalised. With fewer than 3 history projects the score is
    null (basis insufficient_history), but the raw components are still returned.
    """
    enough_history = len(history) >= MIN_VELOCITY_HISTORY
    components: dict[str, Any] = {}
    omitted: list[dict[str, str]] = []
    for name, (_weight, higher_is_better) in VELOCITY_COMPONENTS.items():
        value = project_features.get(name)
        if not _usable(value):
            omitted.append({"component": name, "reason": "missing_value"})
            continue
        peers = [h[name] for h in history if _usable(h.get(name))]
        rank = None
        if len(peers) >= MIN_VELOCITY_HISTORY:
            rank = percentile_rank(value, peers)
            rank = rank if higher_is_better else 1 - rank
        else:
            omitted.append({"component": name, "reason": "insufficient_history"})
        components[name] = {
            "value": float(value),
            "normalised": rank,
            "weight": None,
            "direction": "higher_is_better" if higher_is_better else "lower_is_better",
            "history_size": len(peers),
        }
    scored = {name: c for name, c in components.items() if c["normalised"] is not None}
    total_weight = sum(VELOCITY_COMPONENTS[name][0] for name in scored)
    for name, component in scored.items():
        component["weight"] = VELOCITY_COMPONENTS[name][0] / total_weight
    if not enough_history:
        score, basis = None, "insufficient_history"
    elif not scored:
        score, basis = None, INSUFFICIENT_DATA
    else:
        score, basis = 100 * sum(c["weight"] * c["normalised"] for c in scored.values()), "tenant_history"
    if score is None:
        for component in components.values():
            component["weight"] = None
    return {"score": score, "basis": basis, "history_size": len(history), "components": components, "omitted": omitted}


# ---------------------------------------------------------------- team analytics
# Recommendation rules: (threshold constants, each rule's evidence and firing condition in team_recommendations).
BUS_FACTOR_AT_RISK = 1
PR_MERGE_P50_HOURS_LIMIT = 48.0
REVIEW_PARTICIPATION_MIN = 0.5
CI_SUCCESS_RATE_MIN = 0.8
REVIEWER_CONCENTRATION_MAX = 0.6


def team_recommendations(
    git: Mapping[str, Any], ci: Mapping[str, Any], review_patterns: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Documented rules; each fires only when its evidence crosses its threshold:
    - spread_knowledge: bus_factor == 1 (one author covers half of the commits).
    - set_review_sla: median PR merge time > 48 h.
    - require_reviews: review participation (share of merged PRs reviewed) < 50%.
    - stabilise_pipeline: CI success rate < 80%.
    - quarantine_flaky_tests: at least one workflow failed and then passed on retry.
    - widen_review_pool: one reviewer gave > 60% of the period's reviews.
    """
    found: list[dict[str, Any]] = []

    def recommend(rule_id: str, rule: str, text: str, **evidence: Any) -> None:
        found.append({"id": rule_id, "rule": rule, "text": text, "evidence": evidence})

    if git["bus_factor"] == BUS_FACTOR_AT_RISK:
        recommend(
            "spread_knowledge",
            "bus_factor == 1",
            f"One author wrote {git['top_author_share']:.0%} of the commits: pair on and review that "
            "author's areas so more than one person can change them.",
            bus_factor=git["bus_factor"],
            top_author_share=git["top_author_share"],
            active_contributors=git["active_contributors"],
            commits=git["commits"],
        )
    merge_p50 = git["pr_merge_hours"]["p50"]
    if merge_p50 is not None and merge_p50 > PR_MERGE_P50_HOURS_LIMIT:
        recommend(
            "set_review_sla",
            "pr_merge_hours_p50 > 48",
            f"Half of the pull requests take more than {merge_p50:.0f} h to merge: agree a review "
            "turnaround (e.g. first review within one working day) and keep PRs small.",
            pr_merge_hours_p50=merge_p50,
            pr_merge_hours_p90=git["pr_merge_hours"]["p90"],
            prs_measured=git["pr_merge_hours"]["count"],
        )
    participation = git["review_participation"]
    if participation["share"] is not None and participation["share"] < REVIEW_PARTICIPATION_MIN:
        recommend(
            "require_reviews",
            "review_participation < 0.5",
            f"Only {participation['share']:.0%} of merged pull requests had a review: require at least "
            "one approving review before merge (branch protection).",
            review_participation=participation["share"],
            merged_prs=participation["merged_prs"],
            reviewed_merged_prs=participation["reviewed_merged_prs"],
        )
    if ci["success_rate"] is not None and ci["success_rate"] < CI_SUCCESS_RATE_MIN:
        recommend(
            "stabilise_pipeline",
            "pipeline_success_rate < 0.8",
            f"Only {ci['success_rate']:.0%} of pipeline runs pass: fix the most frequent failures before "
            "adding work to the pipeline.",
            pipeline_success_rate=ci["success_rate"],
            pipeline_runs=ci["pipeline_runs"],
        )
    if ci["flaky_workflows"]:
        recommend(
            "quarantine_flaky_tests",
            "flaky_workflows > 0",
            f"{len(ci['flaky_workflows'])} workflow(s) failed and then passed on retry: quarantine the "
            "flaky tests and fix them off the main pipeline.",
            flaky_workflows={f["workflow"]: f["flaky_runs"] for f in ci["flaky_workflows"]},
            flaky_runs=sum(f["flaky_runs"] for f in ci["flaky_workflows"]),
        )
    top = review_patterns["top_reviewer"]
    if top is not None and top["share"] > REVIEWER_CONCENTRATION_MAX:
        recommend(
            "widen_review_pool",
            "top_reviewer_share > 0.6",
            f"{top['reviewer']} gave {top['share']:.0%} of the reviews: rotate reviewers (e.g. CODEOWNERS "
            "groups) so reviews do not wait on one person.",
            reviewer=top["reviewer"],
            reviewer_share=top["share"],
            reviews=review_patterns["reviews"],
            distinct_reviewers=review_patterns["distinct_reviewers"],
        )
    return found


def team_analytics(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """Contributors, collaboration, review patterns and recommendations over [start, end).

    - contributors: per person, commits (distinct shas, merges excluded), lines added/deleted (by sha to the
      commit's author), PRs merged (as author) and reviews given. A person is their GitHub login when any
      push event ties their email to it, else their case-folded email.
    - collaboration: reviewer -> PR author pairs with review counts (reviews whose PR author is known from
      the review's or the PR's metadata; self-reviews excluded).
    - review_patterns: reviews, reviews per merged PR, share of merged PRs reviewed, states, the top
      reviewer's share, and the share of self-merged PRs (merged_by == author) among merged PRs whose
      merger is known (null when none is).
    - recommendations: see team_recommendations; each carries the rule and the numbers that fired it.
    """
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    git, ci = git_stats(events, start, end), ci_stats(events, start, end)
    prs = _pull_requests(events, start, end)
    commits = _distinct_commits(in_period)
    login_of_email = {c.email: c.login for c in commits if c.email and c.login}

    def person(email: str | None, fallback: str | None) -> str | None:
        return login_of_email.get(email) or email or fallback

    people: dict[str, Counter] = defaultdict(Counter)
    author_of_sha: dict[str, str | None] = {}
    for commit in commits:
        author_of_sha[commit.sha] = who = person(commit.email, commit.login or commit.name)
        if who and not commit.is_merge:
            people[who]["commits"] += 1
    for metric_type in ("lines_added", "lines_deleted"):
        for event in _per_sha(in_period, metric_type):
            sha = _meta(event, "sha")
            who = author_of_sha.get(str(sha).casefold()) if sha else None
            who = who or person(_identity(_meta(event, "author_email")), _identity(_meta(event, "author_login")))
            if who:
                people[who][metric_type] += event.value
    for key, merged in prs.merged.items():
        author = prs.authors.get(key) or _identity(_meta(merged, "author_login"))
        if author:
            people[author]["prs_merged"] += 1
    reviewers = Counter(r for r in (_identity(_meta(e, "reviewer")) for e in prs.reviews) if r)
    for reviewer, count in reviewers.items():
        people[reviewer]["reviews_given"] += count

    pairs = Counter((_identity(_meta(e, "reviewer")), prs.authors.get(_pr_key(e) or "")) for e in prs.reviews)
    collaboration = sorted(
        ({"reviewer": r, "author": a, "reviews": n} for (r, a), n in pairs.items() if r and a),
        key=lambda p: (-p["reviews"], p["reviewer"], p["author"]),
    )
    merged_by_known = [
        (prs.authors.get(k) or _identity(_meta(e, "author_login")), _identity(_meta(e, "merged_by")))
        for k, e in prs.merged.items()
        if _meta(e, "merged_by")
    ]
    reviews_of_merged = sum(1 for e in prs.reviews if _pr_key(e) in prs.merged)
    top = reviewers.most_common(1)[0] if reviewers else None
    review_patterns = {
        "reviews": len(prs.reviews),
        "distinct_reviewers": len(reviewers),
        "merged_prs": len(prs.merged),
        "reviews_per_merged_pr": _ratio(reviews_of_merged, len(prs.merged)),
        "reviewed_merged_pr_share": git["review_participation"]["share"],
        "states": dict(Counter(str(_meta(e, "review_state") or "unknown").casefold() for e in prs.reviews)),
        "top_reviewer": ({"reviewer": top[0], "reviews": top[1], "share": top[1] / len(prs.reviews)} if top else None),
        "self_merged_share": _ratio(
            sum(1 for author, merger in merged_by_known if author == merger), len(merged_by_known)
        ),
        "merges_with_known_merger": len(merged_by_known),
    }
    contributors = sorted(
        (
            {
                "contributor": who,
                "commits": c["commits"],
                "lines_added": float(c["lines_added"]),
                "lines_deleted": float(c["lines_deleted"]),
                "prs_merged": c["prs_merged"],
                "reviews_given": c["reviews_given"],
            }
            for who, c in people.items()
        ),
        key=lambda c: (-c["commits"], -c["prs_merged"], -c["reviews_given"], c["contributor"]),
    )
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "contributors": contributors,
        "collaboration": collaboration,
        "review_patterns": review_patterns,
        "recommendations": team_recommendations(git, ci, review_patterns),
    }
