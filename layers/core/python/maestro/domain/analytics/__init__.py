"""Analytics over a project's stored metric events: time series, per-type summaries (.series), git (.git), DORA
(.dora), CI (.ci), velocity (.velocity) and team analytics (.team). Pure: every function takes plain sequences of MetricEvent (already tenant- and
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
accepted (.shared), the first present wins):
  commits, lines_*, files_changed: sha, author_email, author_name; git-log drops add is_merge and files (at
    most 50 paths); push webhooks add author_username
  pr_*: number, author (login), merged_by (login, on merged PRs)
  reviews: reviewer (login), pr_number, state
  pipeline_*, job_*: workflow_name (or name, workflow_id), run_id, run_attempt; job_* also job_id
  deployment, deployment_*: environment, deployment_id, sha; statuses also state
"""

from maestro.domain.analytics.ci import ci_stats
from maestro.domain.analytics.dora import DORA_BANDS, PRODUCTION, dora, dora_band
from maestro.domain.analytics.git import FILES_PER_COMMIT_CAP, git_stats
from maestro.domain.analytics.series import TREND_FLAT_SHARE, TREND_MIN_WEEKS, aggregates_as_mean, summary, time_series
from maestro.domain.analytics.shared import BUCKETS, INSUFFICIENT_DATA, MAX_BUCKETS, WEEK_SECONDS, percentile
from maestro.domain.analytics.team import (
    BUS_FACTOR_AT_RISK,
    CI_SUCCESS_RATE_MIN,
    PR_MERGE_P50_HOURS_LIMIT,
    REVIEW_PARTICIPATION_MIN,
    REVIEWER_CONCENTRATION_MAX,
    team_analytics,
    team_recommendations,
)
from maestro.domain.analytics.velocity import (
    MIN_VELOCITY_HISTORY,
    VELOCITY_COMPONENTS,
    VELOCITY_EVENT_TYPES,
    velocity,
    velocity_features,
    velocity_features_of,
)

__all__ = [
    "BUCKETS",
    "BUS_FACTOR_AT_RISK",
    "CI_SUCCESS_RATE_MIN",
    "DORA_BANDS",
    "FILES_PER_COMMIT_CAP",
    "INSUFFICIENT_DATA",
    "MAX_BUCKETS",
    "MIN_VELOCITY_HISTORY",
    "PRODUCTION",
    "PR_MERGE_P50_HOURS_LIMIT",
    "REVIEWER_CONCENTRATION_MAX",
    "REVIEW_PARTICIPATION_MIN",
    "TREND_FLAT_SHARE",
    "TREND_MIN_WEEKS",
    "VELOCITY_COMPONENTS",
    "VELOCITY_EVENT_TYPES",
    "WEEK_SECONDS",
    "aggregates_as_mean",
    "ci_stats",
    "dora",
    "dora_band",
    "git_stats",
    "percentile",
    "summary",
    "team_analytics",
    "team_recommendations",
    "time_series",
    "velocity",
    "velocity_features",
    "velocity_features_of",
]
