"""Weekly rollups (maestro.domain.analytics.rollups), no AWS: the facts an ingestion ADDs, duplicates and arrival
order changing nothing, the reports run on the rebuilt events giving the event-based answers, and the weekly sums,
counts and distinct sets composing into months."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from maestro.domain import analytics
from maestro.domain.analytics import rollups
from maestro.domain.metrics import MetricEvent

PROJECT = "prj_1"
T0 = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday


def _event(n: int, metric_type: str, hours: float, value: float = 1.0, **metadata) -> MetricEvent:
    return MetricEvent(f"e{n}", PROJECT, metric_type, float(value), "count", T0 + timedelta(hours=hours), "t", metadata)


def _history() -> list[MetricEvent]:
    events, n = [], 0
    for c in range(30):  # commits over ~5 weeks, by three authors; each sha also reported by a second source
        sha = f"{c:040x}"
        meta = {"sha": sha, "author_email": ["ada@x", "bob@x", "cy@x"][c % 3], "files": [f"f{c % 4}.py"]}
        for source in range(2):
            events.append(_event(n := n + 1, "commits", c * 30 + source, **meta))
            events.append(_event(n := n + 1, "lines_added", c * 30 + source, 10 + c, **meta))
    for p in range(12):
        meta = {"number": p, "author": f"dev{p % 2}", "merged_by": "lead"}
        events.append(_event(n := n + 1, "pr_opened", p * 50, **meta))
        events.append(_event(n := n + 1, "pr_merged", p * 50 + 5 + p, **meta))
        events.append(_event(n := n + 1, "pr_merge_hours", p * 50 + 5 + p, 5 + p, **meta))
        events.append(_event(n := n + 1, "reviews", p * 50 + 2, reviewer="rev", pr_number=p, state="approved"))
    for d in range(8):
        meta = {"environment": "production", "deployment_id": d}
        kind = "deployment_failed" if d % 3 == 1 else "deployment_succeeded"
        events.append(_event(n := n + 1, kind, d * 80 + 30, **meta))
    for r in range(10):
        meta = {"workflow_name": "ci", "run_id": 100 + r // 2, "run_attempt": 1 + r % 2}
        events.append(_event(n := n + 1, "pipeline_run", r * 40, **meta))
        events.append(_event(n := n + 1, "pipeline_success", r * 40, float(r % 2 == 1 or r == 4), **meta))
        events.append(_event(n := n + 1, "pipeline_duration_seconds", r * 40, 300 + 7 * r, **meta))
    events.append(_event(n := n + 1, "experiment_run", 100, 3))
    return events


def _reports(events, start, end) -> dict:
    return {
        "git": analytics.git_stats(events, start, end),
        "dora": analytics.dora(events, start, end),
        "ci": analytics.ci_stats(events, start, end),
        "team": analytics.team_analytics(events, start, end),
        "velocity": analytics.velocity_features_of(events, start, end),
    }


def _as_stored(events, types, start, end) -> list[MetricEvent]:
    """What the event table returns: per type, in row-key order, within the key range; source is not kept."""
    rows = []
    for metric_type in types:
        low, high = f"{metric_type}#{start.isoformat()}", f"{metric_type}#{end.isoformat()}"
        chosen = sorted((e for e in events if e.metric_type == metric_type), key=lambda e: e.metric_key)
        rows += [e for e in chosen if low <= e.metric_key <= high]
    return rows


def test_an_event_is_one_fact_in_its_week_type_and_shard_and_duplicates_add_nothing():
    events = _history()
    once = rollups.rollups_of(events)
    twice = rollups.rollups_of(events + events[::7])  # a replayed batch within one ingestion
    assert [(r.key, r.facts) for r in once] == [(r.key, r.facts) for r in twice]
    assert sum(len(r.facts) for r in once) == len(events)
    for rollup in once:
        week, metric_type, shard = rollup.key.split("#")
        assert datetime.fromisoformat(week).weekday() == 0 and 0 <= int(shard) < rollups.ROLLUP_SHARDS
        assert rollup.tenant_indexed == (metric_type in analytics.VELOCITY_EVENT_TYPES)
    assert rollups.fact_of(events[0]) == rollups.fact_of(events[0])  # deterministic: a set ADD is idempotent


def test_ingestions_in_any_order_and_with_replays_leave_the_same_rollups():
    events = _history()
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    batches = [shuffled[i : i + 25] for i in range(0, len(shuffled), 25)] + [shuffled[10:60]]  # a replayed batch
    added = rollups.merge([r for batch in batches for r in rollups.rollups_of(batch)])
    assert [(r.key, r.facts) for r in added] == [(r.key, r.facts) for r in rollups.rollups_of(events)]


def test_reports_on_the_rolled_up_events_equal_the_event_based_reports_for_any_period():
    events = _history()
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)
    stored = rollups.merge([r for i in range(0, len(shuffled), 9) for r in rollups.rollups_of(shuffled[i : i + 9])])
    types = sorted({e.metric_type for e in events})
    for start, end in (
        (T0 - timedelta(days=2), T0 + timedelta(days=40)),  # Monday-aligned edges are not needed
        (T0 + timedelta(hours=37, minutes=13), T0 + timedelta(days=19, hours=5)),  # partial weeks at both edges
        (T0 + timedelta(days=9), T0 + timedelta(days=10)),  # inside one week
    ):
        rebuilt = rollups.events_from(stored, PROJECT, types, start, end)
        assert [(e.event_id, e.metric_key) for e in rebuilt] == [
            (e.event_id, e.metric_key) for e in _as_stored(events, types, start, end)
        ]
        assert _reports(rebuilt, start, end) == _reports(_as_stored(events, types, start, end), start, end)
        by_type = {t: rollups.events_from(stored, PROJECT, [t], start, end) for t in types}
        expected = {t: _as_stored(events, [t], start, end) for t in types}
        assert analytics.summary({t: e for t, e in by_type.items() if e}) == analytics.summary(
            {t: e for t, e in expected.items() if e}
        )
    assert rollups.first_and_last(stored) == (min(e.timestamp for e in events), max(e.timestamp for e in events))


def test_weekly_sums_counts_and_distinct_sets_compose_into_months():
    events = _history()
    weeks = rollups.weekly_totals(rollups.rollups_of(events), distinct_by="author_email")
    commits = {week: totals for (week, metric_type), totals in weeks.items() if metric_type == "commits"}
    assert sum(t.count for t in commits.values()) == 60
    assert set().union(*(t.distinct for t in commits.values())) == {"ada@x", "bob@x", "cy@x"}
    hours = {week: t for (week, metric_type), t in weeks.items() if metric_type == "pr_merge_hours"}
    whole = rollups.compose(hours, bucket="all")["all"]
    assert (whole.count, whole.total) == (12, sum(5 + p for p in range(12)))
    assert whole.mean == sum(5 + p for p in range(12)) / 12  # sum/count: means compose, a mean of means would not
    months = rollups.compose(commits, bucket="month")
    assert sum(m.count for m in months.values()) == 60 and set(months) == {"2026-03", "2026-04"}
    for month, totals in months.items():
        in_month = [e for e in events if e.metric_type == "commits" and rollups.week_of(e.timestamp)[:7] == month]
        assert totals.count == len(in_month)
        assert totals.distinct == {e.metadata["author_email"] for e in in_month}


def test_within_budget_splits_facts_and_overflow_keys_count_past_the_shards():
    rollup = rollups.Rollup("p1", rollups.rollup_key("2026-03-02", "commits", 3), {f"fact-{n:03d}" for n in range(50)})
    parts = rollups.within_budget(rollup, budget=80)
    assert all(rollups.fact_bytes(p.facts) <= 80 for p in parts) and len(parts) == 5
    assert set().union(*(p.facts for p in parts)) == rollup.facts
    assert rollups.overflow(rollup, 2).key == rollups.rollup_key("2026-03-02", "commits", 3 + 2 * rollups.ROLLUP_SHARDS)
    assert rollups.overflow(rollups.overflow(rollup, 2), 1).key == rollups.overflow(rollup, 1).key


def test_a_fact_held_by_two_items_of_a_week_counts_once():
    """A backfill can put a fact in a shard's own item while the ingestion had put it in an overflow item."""
    event = MetricEvent("e1", "p1", "commits", 1.0, "count", datetime(2026, 3, 3, tzinfo=UTC), "git", {"sha": "a" * 40})
    (base,) = rollups.rollups_of([event])
    spilled = rollups.overflow(base, 1)
    assert len(rollups.events_from([base, spilled], "p1", ["commits"], None, None)) == 1
    assert rollups.weekly_totals([base, spilled])[("2026-03-02", "commits")].count == 1
