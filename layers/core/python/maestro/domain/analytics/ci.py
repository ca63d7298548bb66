"""CI statistics: pipeline and job executions, durations, retries and flaky workflows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from maestro.domain.analytics.shared import _dedupe, _iso, _meta, _period, _period_weeks, _ratio, _within, percentile
from maestro.domain.metrics import MetricEvent


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
