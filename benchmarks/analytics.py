"""Project velocity (GET /v1/projects/{id}/velocity) on a moto server: one project measured against 50 others.
Side by side in one run, with and without a modelled network round trip per DynamoDB request (moto answers from
memory on this machine; DynamoDB in a region answers in single-digit milliseconds):
- baseline, the previous path: every project read one after another, 24 per-type queries each (every type the
  git, DORA and CI reports read, from 90 days before the period);
- the 9 types the velocity components are computed from (VELOCITY_EVENT_TYPES), within the period, still serial;
- the served path: those 9 types, 8 projects read in parallel (VELOCITY_READERS).
All three must return the same answer.

    .venv/bin/python benchmarks/analytics.py [--projects 51] [--events 300] [--rtt-ms 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from _local_stack import local_stack

TYPES = (
    ("commits", 1.0),
    ("pr_merged", 1.0),
    ("pr_merge_hours", 14.0),
    ("pipeline_run", 1.0),
    ("pipeline_success", 1.0),
    ("deployment_succeeded", 1.0),
)


def count_and_delay(rtt: dict):
    """Counts every DynamoDB request and sleeps `rtt["seconds"]` before it (a modelled network round trip)."""
    from pynamodb.connection.base import Connection

    counts = {"requests": 0}
    original = Connection.dispatch

    def dispatch(connection, operation_name, operation_kwargs):
        counts["requests"] += 1
        if rtt["seconds"]:
            time.sleep(rtt["seconds"])
        return original(connection, operation_name, operation_kwargs)

    Connection.dispatch = dispatch
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=51)
    parser.add_argument("--events", type=int, default=300, help="events per project")
    parser.add_argument("--rtt-ms", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with local_stack():
        from maestro.domain import analytics as domain_analytics
        from maestro.domain.metrics import MetricEvent
        from maestro.repositories import metrics as store
        from maestro.services import analytics, identity
        from maestro.services.context import RequestMeta
        from maestro.services.projects import create_project

        pair = identity.signup(
            "Velocity",
            f"v-{uuid.uuid4().hex[:6]}@bench.example",
            "velocity-benchmark-password",
            "V",
            RequestMeta(source_ip="127.0.0.1"),
        )
        caller = identity.authenticate(f"Bearer {pair.access_token}", None, RequestMeta())
        end = datetime(2026, 11, 1, tzinfo=UTC)
        start = end - timedelta(days=90)
        rng = random.Random(0)
        project_ids = []
        began = time.perf_counter()
        for number in range(args.projects):
            project_id = create_project(
                caller,
                {"name": f"p{number}", "problem_class": "other", "complexity_score": 3, "team_size": 4},
                RequestMeta(),
            )["id"]
            project_ids.append(project_id)
            events = []
            for n in range(args.events):
                metric_type, scale = TYPES[n % len(TYPES)]
                value = (
                    round(rng.expovariate(1 / scale), 2)
                    if metric_type == "pr_merge_hours"
                    else (float(rng.random() < 0.8) if metric_type == "pipeline_success" else 1.0)
                )
                at = start + timedelta(seconds=rng.uniform(0, 90 * 86400))
                events.append(
                    MetricEvent(
                        f"e{number}-{n}",
                        project_id,
                        metric_type,
                        value,
                        "",
                        at,
                        "bench",
                        {"sha": f"{number}{n:06x}"} if metric_type == "commits" else {},
                    )
                )
            store.store_events(caller.tenant_id, events, end)
        print(f"seeded {args.projects} projects x {args.events} events in {time.perf_counter() - began:.1f} s")

        rtt = {"seconds": 0.0}
        counts = count_and_delay(rtt)
        subject = project_ids[0]
        every_type = set(analytics.GIT_TYPES) | set(analytics.DORA_TYPES) | set(analytics.CI_TYPES)

        def previous_path():
            def features(pid):
                events = analytics._events(caller.tenant_id, pid, every_type, start - timedelta(days=90), end)
                return domain_analytics.velocity_features_of(events, start, end)

            history = [features(pid) for pid in project_ids[1:]]
            mine = features(subject)
            return {"features": mine, **domain_analytics.velocity(mine, history)}

        def served(readers):
            def run():
                analytics.VELOCITY_READERS = readers
                answer = analytics.velocity(caller, subject, start, end)
                return {k: v for k, v in answer.items() if k not in ("id", "project_id", "period")}

            return run

        paths = (
            ("baseline: 24 types from 90 days before, serial", previous_path),
            ("9 velocity types in the period, serial", served(1)),
            ("9 velocity types in the period, 8 readers (served)", served(8)),
        )
        print(f"{'path':52s} {'modelled RTT':>12s} {'median s':>9s} {'requests':>9s}")
        answers = []
        for rtt_ms in (0.0, args.rtt_ms):
            rtt["seconds"] = rtt_ms / 1000
            for label, path in paths:
                seconds = []
                for _ in range(args.repeats):
                    counts["requests"] = 0
                    began = time.perf_counter()
                    answers.append(path())
                    seconds.append(time.perf_counter() - began)
                print(f"{label:52s} {rtt_ms:10.1f}ms {statistics.median(seconds):9.3f} {counts['requests']:9d}")
        assert all(a == answers[0] for a in answers), "the paths disagree"
        first = answers[0]
        print(
            f"same answer on every path: score {first['score']}, basis {first['basis']}, "
            f"{first['components']['commits_per_week']['history_size']} projects compared"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
