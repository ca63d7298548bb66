"""Analytics over metric events: hand-computed figures on small synthetic histories, empty inputs, DORA band
boundaries, commit dedupe across sources, flaky workflows, velocity normalisation and recommendation rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from maestro.domain.analytics import (
    INSUFFICIENT_DATA,
    VELOCITY_COMPONENTS,
    ci_stats,
    dora,
    dora_band,
    git_stats,
    percentile,
    summary,
    team_analytics,
    time_series,
    velocity,
    velocity_features,
    velocity_features_of,
)
from maestro.domain.errors import InvalidInput
from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent

UTC = UTC
_ids = itertools.count()


def at(day: int, hour: float = 0, month: int = 1, year: int = 2024) -> datetime:
    """2024-01-01 is a Monday: at(1) starts week one, at(8) week two."""
    return datetime(year, month, day, tzinfo=UTC) + timedelta(hours=hour)


def event(metric_type: str, when: datetime, value: float = 1.0, source: str = "github", **metadata) -> MetricEvent:
    return MetricEvent(
        f"evt_{next(_ids)}", "prj_1", metric_type, float(value), BUILT_IN_TYPES[metric_type], when, source, metadata
    )


def commit(sha: str, when: datetime, email: str, source: str = "git_log", **metadata) -> MetricEvent:
    return event("commits", when, 1, source, sha=sha, author_email=email, **metadata)


def pipeline(run_id: int, attempt: int, passed: bool, when: datetime, workflow: str = "build") -> list[MetricEvent]:
    meta = {"workflow_name": workflow, "run_id": run_id, "run_attempt": attempt}
    return [event("pipeline_run", when, 1, **meta), event("pipeline_success", when, 1 if passed else 0, **meta)]


JAN1, JAN8, JAN15, JAN22, JAN29 = at(1), at(8), at(15), at(22), at(29)


# ---------------------------------------------------------------- percentiles and periods
def test_percentile_interpolates_linearly_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 30, 50], 90) == pytest.approx(46.0)
    values = list(np.random.default_rng(3).normal(size=37))
    for q in (0, 10, 50, 90, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None


@pytest.mark.parametrize("start, end", [(JAN8, JAN1), (JAN1, JAN1), (datetime(2024, 1, 1), JAN8)])
def test_a_period_must_be_ordered_and_time_zone_aware(start, end):
    with pytest.raises(InvalidInput):
        git_stats([], start, end)


# ---------------------------------------------------------------- time series
def test_weekly_series_lists_empty_weeks_and_aggregates_each_bucket():
    events = [
        event("pipeline_duration_seconds", at(2), 100),
        event("pipeline_duration_seconds", at(3), 300),
        event("pipeline_duration_seconds", at(16), 50),
        event("pipeline_run", at(2), 1),  # another type
        event("pipeline_duration_seconds", at(22), 999),
    ]  # at the period's (exclusive) end
    series = time_series(events, "pipeline_duration_seconds", at(3, 12), JAN22, "week")
    assert series["unit"] == "seconds" and series["bucket"] == "week"
    assert [p["start"] for p in series["points"]] == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
        "2024-01-15T00:00:00+00:00",
    ]
    first, empty, third = series["points"]
    # the period starts on Wednesday noon: its first bucket is that week, whose earlier events are left out
    assert first == {
        "start": "2024-01-01T00:00:00+00:00",
        "count": 0,
        "sum": 0.0,
        "mean": None,
        "min": None,
        "max": None,
    }
    assert empty["count"] == 0 and empty["mean"] is None
    assert third == {
        "start": "2024-01-15T00:00:00+00:00",
        "count": 1,
        "sum": 50.0,
        "mean": 50.0,
        "min": 50.0,
        "max": 50.0,
    }


def test_weekly_series_aggregates_events_inside_the_period():
    events = [event("pipeline_duration_seconds", at(2), 100), event("pipeline_duration_seconds", at(3), 300)]
    (week,) = time_series(events, "pipeline_duration_seconds", JAN1, JAN8, "week")["points"]
    assert (week["count"], week["sum"], week["mean"], week["min"], week["max"]) == (2, 400.0, 200.0, 100.0, 300.0)


def test_daily_and_monthly_buckets_follow_the_calendar():
    days = time_series([event("commits", at(2, 5)), event("commits", at(2, 23))], "commits", JAN1, at(4), "day")
    assert [(p["start"][:10], p["count"]) for p in days["points"]] == [
        ("2024-01-01", 0),
        ("2024-01-02", 2),
        ("2024-01-03", 0),
    ]
    months = time_series(
        [event("commits", datetime(2023, 12, 31, 23, tzinfo=UTC)), event("commits", at(31))],
        "commits",
        datetime(2023, 12, 20, tzinfo=UTC),
        datetime(2024, 3, 10, tzinfo=UTC),
        "month",
    )
    assert [(p["start"][:10], p["sum"]) for p in months["points"]] == [
        ("2023-12-01", 1.0),
        ("2024-01-01", 1.0),
        ("2024-02-01", 0.0),
        ("2024-03-01", 0.0),
    ]


def test_series_refuses_an_unknown_bucket():
    with pytest.raises(InvalidInput):
        time_series([], "commits", JAN1, JAN8, "hour")


# ---------------------------------------------------------------- summary
def test_summary_gives_latest_distribution_and_a_rising_weekly_sum_trend():
    events = (
        [event("commits", at(1, h)) for h in range(2)]
        + [event("commits", at(9, h)) for h in range(4)]
        + [event("commits", at(16, h)) for h in range(6)]
    )
    result = summary({"commits": events})["commits"]
    assert result["latest"] == {"value": 1.0, "timestamp": "2024-01-16T05:00:00+00:00"}
    assert (result["count"], result["mean"], result["p50"], result["p90"]) == (12, 1.0, 1.0, 1.0)
    # weekly sums 2, 4, 6: slope 2 per week, well above 5% of the mean weekly sum (4)
    assert result["trend"] == {
        "basis": "weekly_sum",
        "weeks": 3,
        "slope_per_week": pytest.approx(2.0),
        "label": "rising",
    }


def test_a_silent_week_counts_as_zero_for_sums():
    result = summary({"commits": [event("commits", at(1), 3), event("commits", at(15), 3)]})["commits"]
    assert result["trend"]["weeks"] == 3 and result["trend"]["slope_per_week"] == pytest.approx(0.0)
    assert result["trend"]["label"] == "flat"


@pytest.mark.parametrize(
    "weekly, label", [((100, 104, 108), "flat"), ((100, 106, 112), "rising"), ((112, 106, 100), "falling")]
)
def test_trend_is_flat_within_five_percent_of_the_mean_per_week(weekly, label):
    # slope 4 vs 5% of 104 = 5.2 -> flat; slope 6 vs 5% of 106 = 5.3 -> rising
    events = [event("lines_added", at(1 + 7 * week), value) for week, value in enumerate(weekly)]
    assert summary({"lines_added": events})["lines_added"]["trend"]["label"] == label


def test_ratio_types_trend_on_weekly_means_skipping_silent_weeks():
    success = [
        event("pipeline_success", at(1), 1),
        event("pipeline_success", at(2), 1),
        event("pipeline_success", at(8), 1),
        event("pipeline_success", at(9), 0),
        event("pipeline_success", at(15), 0),
        event("pipeline_success", at(16), 0),
    ]
    trend = summary({"pipeline_success": success})["pipeline_success"]["trend"]
    assert trend == {"basis": "weekly_mean", "weeks": 3, "slope_per_week": pytest.approx(-0.5), "label": "falling"}
    sparse = [
        event("pipeline_success", at(1), 1),
        event("pipeline_success", at(22), 1),
        event("pipeline_success", at(5, month=2), 1),
    ]
    assert summary({"pipeline_success": sparse})["pipeline_success"]["trend"]["label"] == "flat"


def test_summary_of_too_few_weeks_or_no_events_is_insufficient():
    result = summary({"commits": [event("commits", at(1)), event("commits", at(8))], "reviews": []})
    assert result["commits"]["trend"]["label"] == INSUFFICIENT_DATA
    assert result["commits"]["trend"]["slope_per_week"] is None
    assert result["reviews"]["latest"] is None and result["reviews"]["count"] == 0
    assert result["reviews"]["p50"] is None and result["reviews"]["trend"]["label"] == INSUFFICIENT_DATA


# ---------------------------------------------------------------- git
def git_history() -> list[MetricEvent]:
    return [
        commit("a1", at(2), "alice@x.com", files=["a.py", "b.py"]),
        # the same commit from a push webhook: another source, other casing, a login
        commit("a1", at(2), "Alice@X.com", source="github", author_username="alice", files=["a.py"]),
        commit("a2", at(3), "alice@x.com", files=["c.py"]),
        commit("a3", at(9), "alice@x.com", source="github"),
        commit("b1", at(10), "bob@x.com", files=["a.py"]),
        commit("m1", at(11), "carol@x.com", is_merge=True),
        event("lines_added", at(2), 10, "git_log", sha="a1"),
        event("lines_added", at(2), 10, "git_log_redrop", sha="a1"),  # the same commit's figure again
        event("lines_added", at(3), 20, "git_log", sha="a2"),
        event("lines_added", at(10), 30, "git_log", sha="b1"),
        event("lines_deleted", at(2), 5, "git_log", sha="a1"),
        event("lines_deleted", at(10), 10, "git_log", sha="b1"),
        event("pr_merged", at(4), number=1, author="alice"),
        event("pr_merged", at(10), number=2, author="bob"),
        event("pr_merged", at(12), number=3, author="alice"),
        event("pr_merge_hours", at(4), 10, number=1),
        event("pr_merge_hours", at(10), 30, number=2),
        event("pr_merge_hours", at(12), 50, number=3),
        event("reviews", at(3), reviewer="bob", pr_number=1, state="approved"),
        # reviewed before the period, merged in it: the PR was reviewed
        event("reviews", datetime(2023, 12, 31, tzinfo=UTC), reviewer="alice", pr_number=2, state="approved"),
        event("reviews", at(12), reviewer="alice", pr_number=3, state="commented"),  # her own PR
    ]


def test_git_stats_over_two_weeks():
    stats = git_stats(git_history(), JAN1, JAN15)
    assert stats["commits"] == 5 and stats["merge_commits"] == 1
    assert stats["commits_per_week"] == {
        "weeks": [
            {"week_start": "2024-01-01T00:00:00+00:00", "commits": 2},
            {"week_start": "2024-01-08T00:00:00+00:00", "commits": 3},
        ],
        "mean": 2.5,
    }
    # authorship leaves out carol's merge commit: alice 3, bob 1
    assert stats["active_contributors"] == 2
    assert stats["bus_factor"] == 1 and stats["top_author_share"] == 0.75
    assert (stats["lines_added"], stats["lines_deleted"], stats["churn_ratio"]) == (60.0, 15.0, 0.25)
    assert stats["files_touched"] == 3 and stats["files_touched_lower_bound"] is False
    assert stats["prs_merged"] == {"count": 3, "per_week": 1.5}
    assert stats["pr_merge_hours"] == {"count": 3, "p50": 30.0, "p90": pytest.approx(46.0)}
    assert stats["review_participation"] == {
        "merged_prs": 3,
        "reviewed_merged_prs": 2,
        "share": pytest.approx(2 / 3),
        "distinct_reviewers": 1,
    }


def test_a_commit_seen_by_git_log_and_push_counts_once():
    events = [
        commit("abc", at(2), "Dev@Example.com", source="git_log"),
        commit("abc", at(2), "dev@example.com", source="github", author_username="dev"),
        commit("ABC", at(2), "dev@example.com", source="github"),
    ]
    stats = git_stats(events, JAN1, JAN8)
    assert stats["commits"] == 1 and stats["active_contributors"] == 1 and stats["bus_factor"] == 1


def test_a_commits_count_without_a_sha_adds_its_value_in_every_report():
    """A `commits` event is a count (unit `count`): "7 commits today" without a sha stands for 7 commits, so the
    git report, the commit series, the team table, DORA's lead times and velocity give one figure."""
    events = [
        event("commits", at(2), 7, source="ci", author_email="dev@example.com"),
        commit("abc", at(3), "dev@example.com"),
        commit("abc", at(3), "dev@example.com", source="github"),  # the same commit again
        commit("def", at(4), "ops@example.com"),
        event("deployment_succeeded", at(5), 1, deployment_id=1, environment="production"),
    ]
    stats = git_stats(events, JAN1, JAN8)
    assert stats["commits"] == 9 == sum(p["commits"] for p in stats["commit_series"]["points"])
    assert stats["commits_per_week"]["mean"] == pytest.approx(9.0)
    assert stats["bus_factor"] == 1 and stats["active_contributors"] == 2
    team = {row["contributor"]: row["commits"] for row in team_analytics(events, JAN1, JAN8)["contributors"]}
    assert team == {"dev@example.com": 8, "ops@example.com": 1}
    assert dora(events, JAN1, JAN8)["lead_time_for_changes"]["commits_measured"] == 9
    assert velocity_features_of(events, JAN1, JAN8)["commits_per_week"] == pytest.approx(9.0)


def test_one_person_committing_from_several_addresses_is_one_author():
    """Emails under one author name are one person (as `git shortlog` groups them), a GitHub noreply address is its
    login's, and a push that carries an email with a login ties them; placeholder names tie nothing."""
    events = [
        commit("a1", at(2), "paul@westenthanner.dev", author_name="PaulWestenthanner"),
        commit("a0", at(2), "paul@westenthanner.dev", author_name="PaulWestenthanner"),
        commit("a2", at(2), "kaspar@westenthanner.dev", author_name="PaulWestenthanner"),
        commit("a3", at(3), "wdm0006@users.noreply.github.com", author_name="Will McGinnis"),
        commit("a4", at(3), "willmcg4132@gmail.com", author_name="Will  McGinnis"),
        commit("a5", at(4), "8479617+jbbqqf@users.noreply.github.com", author_name="Jean-Baptiste Braun"),
        commit("a6", at(4), "x@one.example", author_name="root"),
        commit("a7", at(4), "y@two.example", author_name="root"),
        event("pr_merged", at(5), number=9, author="JBBQQF", merged_by="wdm0006"),
    ]
    stats = git_stats(events, JAN1, JAN8)
    assert stats["active_contributors"] == 5  # paul, will, jbbqqf, and the two "root"s
    rows = team_analytics(events, JAN1, JAN8)["contributors"]
    assert {row["contributor"]: (row["commits"], row["prs_merged"]) for row in rows} == {
        "paul@westenthanner.dev": (3, 0),  # known by the address he committed with most
        "wdm0006": (2, 0),  # known by the login his noreply address names
        "jbbqqf": (1, 1),  # the PR's author login and the commit's noreply address: one person
        "x@one.example": (1, 0),
        "y@two.example": (1, 0),
    }


def test_a_real_repositorys_authors_are_counted_as_git_shortlog_counts_them():
    """scikit-learn-contrib/category_encoders since 2024 (tests/data/git, BSD-3-Clause): 11 author addresses, 9
    people by `git shortlog -sn --no-merges`."""
    import io
    import json
    from pathlib import Path

    from maestro.domain.metrics import normalise
    from maestro.ingestion.formats import GITLOG, parse

    data = Path(__file__).parents[1] / "data" / "git"
    source = json.loads((data / "category_encoders-2024.json").read_text())
    parsed = parse(GITLOG, io.BytesIO((data / "category_encoders-2024.gitlog").read_bytes()))
    events = [
        normalise(item, project_id="prj_1", custom_types={}, source="git_log", now=at(1, year=2027))
        for _, item in parsed
    ]
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    stats = git_stats(events, start, end)
    shortlog = source["shortlog_no_merges"]
    assert stats["commits"] == source["rev_list_count"]
    assert stats["commits"] - stats["merge_commits"] == source["no_merges_count"] == sum(shortlog.values())
    assert stats["active_contributors"] == len(shortlog) < source["distinct_author_emails_no_merges"]
    assert stats["top_author_share"] == pytest.approx(max(shortlog.values()) / source["no_merges_count"])
    commits_by_person = sorted(
        (row["commits"] for row in team_analytics(events, start, end)["contributors"] if row["commits"]), reverse=True
    )
    assert commits_by_person == sorted(shortlog.values(), reverse=True)


def test_bus_factor_is_the_fewest_authors_covering_half_the_commits():
    events = [commit(f"c{i}", at(2), email) for i, email in enumerate(["a@x", "a@x", "b@x", "b@x", "c@x", "c@x"])]
    assert git_stats(events, JAN1, JAN8)["bus_factor"] == 2


def test_files_touched_is_flagged_as_a_lower_bound_when_paths_are_missing():
    capped = [commit("big", at(2), "a@x", files=[f"f{i}.py" for i in range(50)])]
    stats = git_stats(capped, JAN1, JAN8)
    assert stats["files_touched"] == 50 and stats["files_touched_lower_bound"] is True
    # a push webhook counts files but names none
    pushed = [commit("p1", at(2), "a@x", source="github"), event("files_changed", at(2), 3, sha="p1")]
    stats = git_stats(pushed, JAN1, JAN8)
    assert stats["files_touched"] == 0 and stats["files_touched_lower_bound"] is True
    listed = [commit("l1", at(2), "a@x", files=["a.py", "b.py"]), event("files_changed", at(2), 2, "git", sha="l1")]
    assert git_stats(listed, JAN1, JAN8)["files_touched_lower_bound"] is False


def test_git_stats_without_events_are_nulls_not_errors():
    stats = git_stats([], JAN1, JAN15)
    assert stats["commits"] == 0 and stats["commits_per_week"]["mean"] is None
    assert [w["commits"] for w in stats["commits_per_week"]["weeks"]] == [0, 0]
    assert stats["bus_factor"] is None and stats["top_author_share"] is None and stats["churn_ratio"] is None
    assert stats["prs_merged"] == {"count": 0, "per_week": None}
    assert stats["pr_merge_hours"] == {"count": 0, "p50": None, "p90": None}
    assert stats["review_participation"]["share"] is None


# ---------------------------------------------------------------- DORA
def deploy(outcome: str, when: datetime, deployment_id: int, environment: str = "production") -> MetricEvent:
    return event(f"deployment_{outcome}", when, environment=environment, deployment_id=deployment_id)


def dora_history() -> list[MetricEvent]:
    return [
        deploy("succeeded", at(2, 12), 1),
        deploy("succeeded", at(2, 13), 1),  # the same deployment's status delivered twice
        deploy("failed", at(8, 10), 2),
        deploy("failed", at(8, 11), 3),
        deploy("succeeded", at(8, 14), 4),
        deploy("succeeded", at(15), 5),
        deploy("failed", at(20), 6),  # still failing at the period's end
        deploy("succeeded", at(3), 7, "staging"),
        deploy("failed", at(4), 8, "staging"),
        commit("c1", at(2), "a@x"),
        commit("c2", at(5), "a@x"),
        commit("c3", at(14), "a@x"),
        commit("c4", at(21), "a@x"),  # never deployed
    ]


def test_dora_over_four_weeks_of_production_deployments():
    result = dora(dora_history(), JAN1, JAN29)
    assert result["scope"] == "production" and result["environments"] == ["production"]
    frequency = result["deployment_frequency"]
    assert (frequency["value"], frequency["band"], frequency["successful_deployments"]) == (0.75, "medium", 3)
    # commits reach production after 12 h, 86 h and 24 h: the median sits exactly on the elite/high line
    lead = result["lead_time_for_changes"]
    assert (lead["value"], lead["band"], lead["commits_measured"], lead["commits_not_deployed"]) == (24.0, "high", 3, 1)
    assert lead["p90"] == pytest.approx(73.6)
    failure = result["change_failure_rate"]
    assert (failure["value"], failure["band"], failure["failed_deployments"], failure["deployments"]) == (
        0.5,
        "low",
        3,
        6,
    )
    # the two failures on Jan 8 are one incident, restored 4 h after the first
    restore = result["time_to_restore"]
    assert (restore["value"], restore["band"], restore["incidents_restored"], restore["unrestored"]) == (
        4.0,
        "high",
        1,
        1,
    )


def test_dora_falls_back_to_all_environments_without_a_production_one():
    events = [
        deploy("succeeded", at(2), 1, "staging"),
        deploy("failed", at(3), 2, "dev"),
        deploy("succeeded", at(4), 3, "dev"),
    ]
    result = dora(events, JAN1, JAN8)
    assert result["scope"] == "all_environments" and result["environments"] == ["dev", "staging"]
    assert result["deployment_frequency"]["value"] == 2.0
    assert result["change_failure_rate"]["value"] == pytest.approx(1 / 3)
    assert result["time_to_restore"]["value"] == 24.0


def test_deployments_without_statuses_count_as_shipped():
    events = [event("deployment", at(2), environment="prod-eu", deployment_id=1), commit("c1", at(1), "a@x")]
    result = dora(events, JAN1, JAN8)
    assert result["deployment_frequency"]["counted"] == "deployments_created"
    assert result["deployment_frequency"]["value"] == 1.0 and result["lead_time_for_changes"]["value"] == 24.0
    assert result["change_failure_rate"]["band"] == INSUFFICIENT_DATA


def test_dora_without_deployments_is_insufficient_data():
    result = dora([commit("c1", at(2), "a@x")], JAN1, JAN8)
    for metric in ("deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"):
        assert result[metric]["value"] is None and result[metric]["band"] == INSUFFICIENT_DATA


@pytest.mark.parametrize(
    "metric, value, band",
    [
        ("deployment_frequency", 7.0, "elite"),
        ("deployment_frequency", 6.99, "high"),
        ("deployment_frequency", 1.0, "high"),
        ("deployment_frequency", 0.99, "medium"),
        ("deployment_frequency", 7 / 30, "medium"),
        ("deployment_frequency", 0.23, "low"),
        ("deployment_frequency", 0.0, "low"),
        ("lead_time_for_changes", 23.99, "elite"),
        ("lead_time_for_changes", 24.0, "high"),
        ("lead_time_for_changes", 168.0, "high"),
        ("lead_time_for_changes", 168.01, "medium"),
        ("lead_time_for_changes", 720.0, "medium"),
        ("lead_time_for_changes", 720.01, "low"),
        ("change_failure_rate", 0.0, "elite"),
        ("change_failure_rate", 0.05, "elite"),
        ("change_failure_rate", 0.0501, "high"),
        ("change_failure_rate", 0.10, "high"),
        ("change_failure_rate", 0.15, "medium"),
        ("change_failure_rate", 0.1501, "low"),
        ("time_to_restore", 0.99, "elite"),
        ("time_to_restore", 1.0, "high"),
        ("time_to_restore", 23.99, "high"),
        ("time_to_restore", 24.0, "medium"),
        ("time_to_restore", 168.0, "medium"),
        ("time_to_restore", 168.01, "low"),
        ("time_to_restore", None, INSUFFICIENT_DATA),
    ],
)
def test_dora_band_boundaries(metric, value, band):
    assert dora_band(metric, value) == band


def test_daily_deploys_are_elite_and_one_a_month_is_medium_exactly_on_the_line():
    daily = [deploy("succeeded", at(day, 9), day) for day in range(1, 8)]
    assert dora(daily, JAN1, JAN8)["deployment_frequency"]["band"] == "elite"
    monthly = dora([deploy("succeeded", at(10), 1)], JAN1, at(31))["deployment_frequency"]
    assert monthly["value"] == 7 / 30 and monthly["band"] == "medium"


# ---------------------------------------------------------------- CI
def ci_history() -> list[MetricEvent]:
    runs = [
        ("build", 100, 1, False),
        ("build", 100, 2, True),
        ("build", 101, 1, True),
        ("build", 102, 1, False),
        ("555", 200, 1, False),
        ("555", 200, 2, False),
        ("555", 200, 3, True),
        ("lint", 300, 1, True),
        ("lint", 300, 2, False),
    ]
    events = []
    for index, (workflow, run_id, attempt, passed) in enumerate(runs, start=1):
        meta = ({"workflow_id": 555} if workflow == "555" else {"workflow_name": workflow}) | {
            "run_id": run_id,
            "run_attempt": attempt,
        }
        events += [
            event("pipeline_run", at(2), 1, **meta),
            event("pipeline_success", at(2), int(passed), **meta),
            event("pipeline_duration_seconds", at(2), 10 * index, **meta),
        ]
    events.append(event("pipeline_success", at(2, 1), 1, workflow_name="build", run_id=101, run_attempt=1))  # again
    events += [
        event("tests", at(3), 100, "junit"),
        event("test_failures", at(3), 3, "junit"),
        event("test_errors", at(3), 1, "junit"),
        event("test_skipped", at(3), 4, "junit"),
        event("tests", at(4), 50, "junit"),
        event("test_failures", at(4), 2, "junit"),
    ]
    return events


def test_ci_stats_over_a_week():
    stats = ci_stats(ci_history(), JAN1, JAN8)
    assert stats["pipeline_runs"] == 9
    assert stats["success_rate"] == pytest.approx(4 / 9)
    assert stats["duration_seconds"] == {"count": 9, "p50": 50.0, "p90": pytest.approx(82.0)}
    tests = stats["tests"]
    assert (tests["reports"], tests["tests"], tests["failures"], tests["errors"], tests["skipped"]) == (
        2,
        150.0,
        5.0,
        1.0,
        4.0,
    )
    assert tests["failure_rate"] == pytest.approx(0.04)


def test_a_workflow_that_failed_then_passed_on_retry_is_flaky():
    # build 100 (fail, pass) and workflow 555's run 200 (fail, fail, pass) are flaky; a lone failure (102) and
    # a pass followed by a failure (lint 300) are not
    assert ci_stats(ci_history(), JAN1, JAN8)["flaky_workflows"] == [
        {"workflow": "555", "flaky_runs": 1, "run_ids": ["200"]},
        {"workflow": "build", "flaky_runs": 1, "run_ids": ["100"]},
    ]


def test_ci_stats_without_events_are_nulls_not_errors():
    stats = ci_stats([], JAN1, JAN8)
    assert stats["pipeline_runs"] == 0 and stats["success_rate"] is None and stats["flaky_workflows"] == []
    assert stats["duration_seconds"]["p50"] is None and stats["tests"]["failure_rate"] is None
    assert stats["jobs"]["success_rate"] is None


# ---------------------------------------------------------------- velocity
HISTORY = [
    {
        "commits_per_week": 1,
        "merged_prs_per_week": 1,
        "pr_merge_hours_p50": 40,
        "pipeline_success_rate": 0.5,
        "deployments_per_week": 0.5,
    },
    {
        "commits_per_week": 2,
        "merged_prs_per_week": 2,
        "pr_merge_hours_p50": 30,
        "pipeline_success_rate": 0.6,
        "deployments_per_week": 1,
    },
    {
        "commits_per_week": 3,
        "merged_prs_per_week": 3,
        "pr_merge_hours_p50": 20,
        "pipeline_success_rate": 0.7,
        "deployments_per_week": 2,
    },
    {
        "commits_per_week": 4,
        "merged_prs_per_week": 4,
        "pr_merge_hours_p50": 10,
        "pipeline_success_rate": 0.8,
        "deployments_per_week": 3,
    },
]


def test_a_project_better_than_its_whole_tenant_on_every_component_scores_100():
    best = {
        "commits_per_week": 50,
        "merged_prs_per_week": 9,
        "pr_merge_hours_p50": 1,
        "pipeline_success_rate": 1.0,
        "deployments_per_week": 10,
    }
    result = velocity(best, HISTORY)
    assert result["basis"] == "tenant_history" and result["score"] == pytest.approx(100.0)
    assert all(c["normalised"] == 1.0 for c in result["components"].values())
    assert sum(c["weight"] for c in result["components"].values()) == pytest.approx(1.0)
    assert velocity({name: 0 if name != "pr_merge_hours_p50" else 999 for name in VELOCITY_COMPONENTS}, HISTORY)[
        "score"
    ] == pytest.approx(0.0)


def test_a_missing_component_is_omitted_and_the_weights_renormalised():
    project = {
        "commits_per_week": 3,  # 2 below, 1 tie of 4 -> 0.625
        "merged_prs_per_week": 2.5,  # 2 below -> 0.5
        "pr_merge_hours_p50": 100,  # slower than all (lower is better) -> 0
        "pipeline_success_rate": 0.9,
    }  # above all -> 1
    result = velocity(project, HISTORY)
    assert result["omitted"] == [{"component": "deployments_per_week", "reason": "missing_value"}]
    assert "deployments_per_week" not in result["components"]
    assert {name: c["weight"] for name, c in result["components"].items()} == pytest.approx(
        dict.fromkeys(["commits_per_week", "merged_prs_per_week", "pr_merge_hours_p50", "pipeline_success_rate"], 0.25)
    )
    assert result["components"]["commits_per_week"]["normalised"] == 0.625
    assert result["components"]["pr_merge_hours_p50"]["direction"] == "lower_is_better"
    assert result["score"] == pytest.approx(100 * (0.625 + 0.5 + 0 + 1) / 4)


def test_a_component_few_history_projects_have_is_omitted():
    history = [{**h} for h in HISTORY]
    for h in history[:2]:
        del h["deployments_per_week"]
    result = velocity({"commits_per_week": 5, "deployments_per_week": 99}, history)
    assert {"component": "deployments_per_week", "reason": "insufficient_history"} in result["omitted"]
    assert result["components"]["deployments_per_week"]["weight"] is None
    assert result["components"]["commits_per_week"]["weight"] == 1.0 and result["score"] == 100.0


def test_velocity_with_under_three_history_projects_has_no_score_but_keeps_raw_components():
    result = velocity({"commits_per_week": 5, "pipeline_success_rate": 0.9}, HISTORY[:2])
    assert result["score"] is None and result["basis"] == "insufficient_history"
    assert result["components"]["commits_per_week"]["value"] == 5.0
    assert result["components"]["pipeline_success_rate"]["value"] == 0.9


def test_velocity_features_come_from_the_three_stats_results():
    events = git_history() + dora_history() + ci_history()
    features = velocity_features(
        git_stats(events, JAN1, JAN15), dora(events, JAN1, JAN15), ci_stats(events, JAN1, JAN15)
    )
    assert features["merged_prs_per_week"] == 1.5 and features["pr_merge_hours_p50"] == 30.0
    assert features["pipeline_success_rate"] == pytest.approx(4 / 9)
    assert features["deployments_per_week"] == 1.0  # Jan 2 and Jan 8 in two weeks
    assert features["commits_per_week"] == 4.0  # 5 git commits + c1, c2, c3 (c4 is after Jan 15)
    assert velocity_features(git_stats([], JAN1, JAN8), dora([], JAN1, JAN8), ci_stats([], JAN1, JAN8)) == {}


def _random_project_events(rng: np.random.Generator, start: datetime, end: datetime, types) -> list[MetricEvent]:
    """Events of every type a project's reports read, before, inside and after [start, end), with the metadata
    that joins them (shas, PR numbers, run ids and attempts, deployment ids and environments, authors)."""
    span = (end - start).total_seconds() + 120 * 86400
    out = []
    for metric_type in types:
        for _ in range(int(rng.integers(0, 12))):
            when = start - timedelta(days=100) + timedelta(seconds=float(rng.uniform(0, span)))
            value = float(rng.integers(0, 2)) if metric_type.endswith("success") else float(rng.integers(1, 60))
            out.append(
                event(
                    metric_type,
                    when,
                    value,
                    str(rng.choice(["github", "git_log", "gitlab"])),
                    sha=f"s{rng.integers(0, 15)}",
                    pr_number=int(rng.integers(1, 8)),
                    author_login=str(rng.choice(["ann", "bo", "cy"])),
                    reviewer=str(rng.choice(["ann", "bo", "cy"])),
                    pr_author=str(rng.choice(["ann", "bo"])),
                    run_id=int(rng.integers(1, 6)),
                    run_attempt=int(rng.integers(1, 3)),
                    workflow=str(rng.choice(["build", "deploy"])),
                    deployment_id=int(rng.integers(1, 6)),
                    environment=str(rng.choice(["production", "staging", "prod-eu"])),
                )
            )
    return out


def test_the_velocity_read_of_nine_types_in_the_period_gives_the_features_of_every_type_and_90_days_before():
    from maestro.domain.analytics import VELOCITY_EVENT_TYPES as VELOCITY_TYPES
    from maestro.domain.analytics import velocity_features_of as features_of
    from maestro.services.analytics import CI_TYPES, DORA_TYPES, GIT_TYPES

    every_type = sorted(set(GIT_TYPES) | set(DORA_TYPES) | set(CI_TYPES))
    assert set(VELOCITY_TYPES) < set(every_type) and len(VELOCITY_TYPES) == 9
    rng = np.random.default_rng(11)
    measured = {name: 0 for name in VELOCITY_COMPONENTS}
    for case in range(300):
        start = at(1) + timedelta(days=int(rng.integers(0, 60)))
        end = start + timedelta(days=int(rng.integers(3, 90)))
        events = _random_project_events(rng, start, end, every_type)
        what_all_reports_read = [e for e in events if start - timedelta(days=90) <= e.timestamp < end]
        what_velocity_reads = [e for e in events if e.metric_type in VELOCITY_TYPES and start <= e.timestamp < end]
        expected = features_of(what_all_reports_read, start, end)
        assert features_of(what_velocity_reads, start, end) == expected, case
        for name in expected:
            measured[name] += 1
    # the cases do measure every component, not only compare empty dicts
    assert min(measured.values()) >= 100, measured


# ---------------------------------------------------------------- team analytics
def test_team_analytics_joins_emails_logins_reviews_and_merges():
    events = [
        commit("s1", at(2), "alice@x.com"),
        commit("s1", at(2), "alice@x.com", source="github", author_username="Alice"),
        commit("s2", at(3), "bob@x.com"),
        event("lines_added", at(2), 10, "git_log", sha="s1"),
        event("lines_deleted", at(2), 2, "git_log", sha="s1"),
        event("lines_added", at(3), 5, "git_log", sha="s2"),
        event("pr_merged", at(4), number=7, author="alice", merged_by="alice"),
        event("pr_merged", at(5), number=8, author="bobby", merged_by="alice"),
        event("reviews", at(4), reviewer="bobby", pr_number=7, state="approved"),
        event("reviews", at(4), reviewer="alice", pr_number=7, state="commented"),  # her own PR
        event("reviews", at(5), reviewer="alice", pr_number=8, state="changes_requested"),
        event("reviews", at(5, 2), reviewer="alice", pr_number=8, state="approved"),
    ]
    result = team_analytics(events, JAN1, JAN8)
    assert result["contributors"] == [
        {
            "contributor": "alice",
            "commits": 1,
            "lines_added": 10.0,
            "lines_deleted": 2.0,
            "prs_merged": 1,
            "reviews_given": 2,
        },
        {
            "contributor": "bob@x.com",
            "commits": 1,
            "lines_added": 5.0,
            "lines_deleted": 0.0,
            "prs_merged": 0,
            "reviews_given": 0,
        },
        {
            "contributor": "bobby",
            "commits": 0,
            "lines_added": 0.0,
            "lines_deleted": 0.0,
            "prs_merged": 1,
            "reviews_given": 1,
        },
    ]
    assert result["collaboration"] == [
        {"reviewer": "alice", "author": "bobby", "reviews": 2},
        {"reviewer": "bobby", "author": "alice", "reviews": 1},
    ]
    patterns = result["review_patterns"]
    assert (patterns["reviews"], patterns["distinct_reviewers"], patterns["merged_prs"]) == (3, 2, 2)
    assert patterns["reviews_per_merged_pr"] == 1.5 and patterns["reviewed_merged_pr_share"] == 1.0
    assert patterns["states"] == {"approved": 2, "changes_requested": 1}
    assert patterns["top_reviewer"] == {"reviewer": "alice", "reviews": 2, "share": pytest.approx(2 / 3)}
    assert patterns["self_merged_share"] == 0.5 and patterns["merges_with_known_merger"] == 2


def test_team_analytics_of_nothing_is_empty_and_recommends_nothing():
    result = team_analytics([], JAN1, JAN8)
    assert result["contributors"] == [] and result["collaboration"] == [] and result["recommendations"] == []
    assert result["review_patterns"]["top_reviewer"] is None
    assert result["review_patterns"]["self_merged_share"] is None
    assert result["review_patterns"]["reviews_per_merged_pr"] is None


def team(
    *,
    authors=("a@x", "a@x", "b@x", "b@x", "c@x", "c@x"),
    merged=((1, "dave", 5), (2, "erin", 10), (3, "fay", 20)),
    reviews=((1, "bob"), (2, "carol"), (3, "alice")),
    runs=((1, 1, True), (2, 1, True), (3, 1, True), (4, 1, True)),
) -> list[MetricEvent]:
    """A healthy week to perturb one rule at a time: bus factor 2, PRs merged in <= 20 h, every PR reviewed,
    reviews spread over three people, CI always green."""
    events = [commit(f"sha{i}", at(2), email) for i, email in enumerate(authors)]
    for number, author, hours in merged:
        events += [
            event("pr_merged", at(4), number=number, author=author),
            event("pr_merge_hours", at(4), hours, number=number),
        ]
    events += [event("reviews", at(3), reviewer=reviewer, pr_number=number) for number, reviewer in reviews]
    for run_id, attempt, passed in runs:
        events += pipeline(run_id, attempt, passed, at(5))
    return events


def fired(events: list[MetricEvent]) -> dict[str, dict]:
    return {r["id"]: r["evidence"] for r in team_analytics(events, JAN1, JAN8)["recommendations"]}


def test_a_healthy_team_gets_no_recommendation():
    assert fired(team()) == {}


def test_spread_knowledge_fires_when_one_author_covers_half_the_commits():
    evidence = fired(team(authors=("a@x", "a@x", "a@x", "b@x", "c@x")))
    assert evidence == {
        "spread_knowledge": {"bus_factor": 1, "top_author_share": 0.6, "active_contributors": 3, "commits": 5}
    }


@pytest.mark.parametrize("hours, fires", [((5, 48, 60), False), ((5, 49, 60), True)])
def test_review_sla_fires_only_above_48_hours_median(hours, fires):
    evidence = fired(team(merged=tuple((n, f"dev{n}", h) for n, h in zip((1, 2, 3), hours, strict=False))))
    assert set(evidence) == ({"set_review_sla"} if fires else set())
    if fires:
        assert evidence["set_review_sla"]["pr_merge_hours_p50"] == 49.0


@pytest.mark.parametrize("reviews, fires", [(((1, "bob"), (2, "carol")), False), (((1, "bob"), (1, "carol")), True)])
def test_require_reviews_fires_only_below_half_the_merged_prs_reviewed(reviews, fires):
    merged = ((1, "dave", 5), (2, "erin", 5), (3, "fay", 5), (4, "gus", 5))[: 4 if not fires else 3]
    evidence = fired(team(merged=merged, reviews=reviews))
    assert set(evidence) == ({"require_reviews"} if fires else set())
    if fires:
        assert evidence["require_reviews"] == {
            "review_participation": pytest.approx(1 / 3),
            "merged_prs": 3,
            "reviewed_merged_prs": 1,
        }


@pytest.mark.parametrize("passes, fires", [(4, False), (3, True)])
def test_stabilise_pipeline_fires_only_below_80_percent_success(passes, fires):
    evidence = fired(team(runs=tuple((run_id, 1, run_id <= passes) for run_id in range(1, 6))))
    assert set(evidence) == ({"stabilise_pipeline"} if fires else set())
    if fires:
        assert evidence["stabilise_pipeline"] == {"pipeline_success_rate": 0.6, "pipeline_runs": 5}


def test_quarantine_flaky_tests_fires_when_a_retry_passed():
    runs = ((1, 1, False), (1, 2, True)) + tuple((run_id, 1, True) for run_id in range(2, 10))
    evidence = fired(team(runs=runs))
    assert evidence == {"quarantine_flaky_tests": {"flaky_workflows": {"build": 1}, "flaky_runs": 1}}


@pytest.mark.parametrize(
    "reviews, fires",
    [
        (((1, "bob"), (2, "bob"), (3, "bob"), (1, "carol"), (2, "carol")), False),  # 60%: not above
        (((1, "bob"), (2, "bob"), (3, "bob"), (1, "bob"), (2, "carol")), True),
    ],
)  # 80%
def test_widen_review_pool_fires_only_when_one_reviewer_gives_over_60_percent(reviews, fires):
    evidence = fired(team(reviews=reviews))
    assert set(evidence) == ({"widen_review_pool"} if fires else set())
    if fires:
        assert evidence["widen_review_pool"] == {
            "reviewer": "bob",
            "reviewer_share": 0.8,
            "reviews": 5,
            "distinct_reviewers": 2,
        }


def test_every_recommendation_names_its_rule_and_explains_itself():
    events = team(
        authors=("a@x", "a@x", "b@x"),
        merged=((1, "dave", 60), (2, "erin", 70), (3, "fay", 10)),
        reviews=((3, "carol"), (9, "carol")),
        runs=((1, 1, False), (1, 2, True), (2, 1, False)),
    )
    recommendations = team_analytics(events, JAN1, JAN8)["recommendations"]
    assert [r["id"] for r in recommendations] == [
        "spread_knowledge",
        "set_review_sla",
        "require_reviews",
        "stabilise_pipeline",
        "quarantine_flaky_tests",
        "widen_review_pool",
    ]
    for recommendation in recommendations:
        assert recommendation["text"] and recommendation["rule"] and recommendation["evidence"]


def test_the_pr_chart_and_the_velocity_card_count_the_same_de_duplicated_pull_requests():
    """A PR reported by a webhook and by an export (two events, one pr_number) counts once in pr_series, in
    prs_merged and in the velocity component, whatever bucket the period needs."""
    start = datetime(2026, 3, 2, tzinfo=UTC)
    events = []
    for number, day in ((1, 1), (2, 3), (3, 9)):
        for source in ("github", "export"):
            when = start + timedelta(days=day, hours=1 if source == "export" else 0)
            events.append(event("pr_merged", when, 1, source, pr_number=number))
            events.append(event("pr_merge_hours", when, 10.0 * number, source, pr_number=number))
    end = start + timedelta(days=14)
    stats = git_stats(events, start, end)
    series = stats["pr_series"]
    assert series["bucket"] == "day" and sum(p["merged"] for p in series["points"]) == 3 == stats["prs_merged"]["count"]
    assert [p["merge_hours_mean"] for p in series["points"] if p["merged"]] == [10.0, 20.0, 30.0]
    velocity = velocity_features_of(events, start, end)
    assert velocity["merged_prs_per_week"] * 2 == pytest.approx(sum(p["merged"] for p in series["points"]))
