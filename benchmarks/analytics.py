"""Project analytics on a moto server: DynamoDB requests and time per call of velocity and each dashboard route, read
from the weekly rollups (served) beside the event table (before: one Query per event type, velocity 9 per project
for 51 projects), side by side in one run, on the same data. Goal: at most 20 requests per route.

The data goes in through the ingestion's storage path (maestro.repositories.metrics.store_events: the events, their
day aggregates and their rollups in one transaction per 25 events), out of order and with replayed duplicates.
Each route is called as its handler calls it: the period (the project's whole life up to `to`, found from the
rollups or from the events) and then the report; both paths must give the same answer. Requests are counted at the
botocore layer (infra.local.request_counter); the API's authorizer and throttle add 3 per call on top (one session
GetItem, two rate-limit UpdateItems; counted in tests/integration/test_analytics_rollups.py). The bucketed series of
one type (GET .../metrics, the dashboard's charts) reads that type's events on both paths (one Query).

The ingestion's cost of the rollups is measured too: the same events stored with and without their rollup updates.

    .venv/bin/python benchmarks/analytics.py [--projects 51] [--events 400] [--weeks 26] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from _local_stack import local_stack

ROUTES = ("velocity", "metrics/summary", "git", "dora", "ci", "team-analytics", "metrics?type=commits&bucket=week")


def _history(project_id: str, number: int, events: int, start: datetime, weeks: int, rng: random.Random):
    """A project's git, PR, review, deployment, CI and experiment events over `weeks` weeks, shuffled."""
    from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent

    span = weeks * 7 * 86400
    made: list[MetricEvent] = []

    def add(metric_type: str, value: float, at: datetime, **metadata) -> None:
        made.append(
            MetricEvent(
                f"b{number}-{len(made)}",
                project_id,
                metric_type,
                float(value),
                BUILT_IN_TYPES[metric_type],
                at,
                "bench",
                metadata,
            )
        )

    n = 0
    while len(made) < events:
        at = start + timedelta(seconds=rng.uniform(0, span))
        kind = n % 6
        if kind in (0, 1):
            meta = {"sha": f"{number:04x}{n:036x}", "author_email": f"dev{rng.randrange(5)}@bench.example"}
            add("commits", 1, at, **meta)
            add("lines_added", rng.randrange(1, 200), at, **meta)
            add("lines_deleted", rng.randrange(0, 80), at, **meta)
        elif kind == 2:
            meta = {"number": n, "author": f"dev{rng.randrange(5)}", "merged_by": f"dev{rng.randrange(5)}"}
            hours = round(rng.expovariate(1 / 14), 2)
            add("pr_opened", 1, at, **meta)
            add("reviews", 1, at + timedelta(hours=hours / 2), reviewer=f"dev{rng.randrange(5)}", pr_number=n)
            add("pr_merged", 1, at + timedelta(hours=hours), **meta)
            add("pr_merge_hours", hours, at + timedelta(hours=hours), **meta)
        elif kind == 3:
            ok = rng.random() < 0.85
            add(
                "deployment_succeeded" if ok else "deployment_failed",
                1,
                at,
                environment="production",
                deployment_id=n,
            )
        elif kind == 4:
            meta = {"workflow_name": "ci", "run_id": n, "run_attempt": 1}
            add("pipeline_run", 1, at, **meta)
            add("pipeline_success", float(rng.random() < 0.8), at, **meta)
            add("pipeline_duration_seconds", rng.randrange(60, 900), at, **meta)
        else:
            add("experiment_run", 1, at)
        n += 1
    return made[:events]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=51)
    parser.add_argument("--events", type=int, default=400, help="events per project")
    parser.add_argument("--weeks", type=int, default=26, help="weeks of history per project")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ingest-events", type=int, default=2000, help="events stored with and without rollups")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print
    with local_stack():
        from infra.local.request_counter import aws_requests
        from maestro.repositories import metrics as store
        from maestro.services import analytics, identity
        from maestro.services.context import RequestMeta
        from maestro.services.projects import create_project

        pair = identity.signup(
            "Analytics",
            f"a-{uuid.uuid4().hex[:6]}@bench.example",
            "analytics-benchmark-password",
            "A",
            RequestMeta(source_ip="127.0.0.1"),
        )
        caller = identity.authenticate(f"Bearer {pair.access_token}", None, RequestMeta())
        end = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon: partial weeks at the edges
        start = end - timedelta(weeks=args.weeks)
        rng = random.Random(0)
        project_ids, seeded, stored = [], time.perf_counter(), 0
        for number in range(args.projects):
            project_id = create_project(
                caller,
                {"name": f"p{number}", "problem_class": "other", "complexity_score": 3, "team_size": 4},
                RequestMeta(),
            )["id"]
            project_ids.append(project_id)
            events = _history(project_id, number, args.events, start, args.weeks, rng)
            rng.shuffle(events)  # out of order
            store.store_events(caller.tenant_id, events, end)
            store.store_events(caller.tenant_id, events[: len(events) // 10], end)  # a replay: duplicates
            stored += len(events)
        seed_seconds = time.perf_counter() - seeded
        say(f"seeded {args.projects} projects x {args.events} events over {args.weeks} weeks in {seed_seconds:.1f} s")

        # What the rollups cost the ingestion: the same events stored with and without their rollup updates.
        ingest = {}
        for label in ("without_rollups", "with_rollups"):
            project_id = create_project(
                caller,
                {"name": f"ingest {label}", "problem_class": "other", "complexity_score": 3, "team_size": 4},
                RequestMeta(),
            )["id"]
            events = _history(project_id, 9999, args.ingest_events, start, args.weeks, random.Random(1))
            builder = store.rollups_of
            if label == "without_rollups":
                store.rollups_of = lambda events: []
            try:
                with aws_requests() as calls:
                    began = time.perf_counter()
                    store.store_events(caller.tenant_id, events, end)
                    seconds = time.perf_counter() - began
            finally:
                store.rollups_of = builder
            ingest[label] = {
                "events_per_s": round(len(events) / seconds, 1),
                "dynamodb_requests_per_event": round(calls.count("dynamodb") / len(events), 3),
            }
            if label == "without_rollups":  # as a project whose events predate the rollups: backfilled
                began = time.perf_counter()
                done = analytics.backfill_rollups(caller.tenant_id, project_id)
                ingest["backfill"] = {**done, "seconds": round(time.perf_counter() - began, 2)}
        say(f"ingestion of {args.ingest_events} events: {ingest}")

        subject = project_ids[0]
        to = end + timedelta(hours=1)

        def call(route: str):
            """What the route's handler does: the period (the whole life up to `to`), then the report."""
            period_start, period_end = analytics.period(caller, subject, None, to)
            if route.startswith("metrics?"):
                return analytics.time_series(caller, subject, "commits", period_start, period_end, "week")
            report = {
                "velocity": analytics.velocity,
                "metrics/summary": analytics.metric_summary,
                "git": analytics.git,
                "dora": analytics.dora,
                "ci": analytics.ci,
                "team-analytics": analytics.team,
            }[route]
            return report(caller, subject, period_start, period_end)

        def measure(route: str) -> tuple[dict, object]:
            seconds, answer, requests = [], None, {}
            for _ in range(args.repeats):
                with aws_requests() as calls:
                    began = time.perf_counter()
                    answer = call(route)
                    seconds.append(time.perf_counter() - began)
                requests = calls.summary()
            count = sum(n for key, n in requests.items() if key.startswith("dynamodb:"))
            return {"dynamodb_requests": count, "median_ms": round(1000 * statistics.median(seconds), 1)}, answer

        figures, same = {}, {}
        for route in ROUTES:
            with analytics.reading_events():
                before, expected = measure(route)
            after, answer = measure(route)
            figures[route] = {"before_events": before, "after_rollups": after}
            same[route] = answer == expected
        result = {
            "projects": args.projects,
            "events_per_project": args.events,
            "weeks": args.weeks,
            "seed_events_per_s": round(stored / seed_seconds, 1),
            "ingestion": ingest,
            "goal_requests_per_route": 20,
            "routes": figures,
            "same_answer": same,
            "all_within_goal": all(f["after_rollups"]["dynamodb_requests"] <= 20 for f in figures.values()),
        }
        if args.json:
            print(json.dumps(result))
        else:
            say(f"{'route':36s} {'before: requests':>17s} {'ms':>8s} {'after: requests':>16s} {'ms':>8s} same")
            for route, f in figures.items():
                b, a = f["before_events"], f["after_rollups"]
                say(
                    f"{route:36s} {b['dynamodb_requests']:17d} {b['median_ms']:8.1f} "
                    f"{a['dynamodb_requests']:16d} {a['median_ms']:8.1f} {same[route]}"
                )
            say(json.dumps(result))
        assert all(same.values()), f"the paths disagree: {same}"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
