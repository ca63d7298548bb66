"""MLflow runs as process metrics: the events each run yields, and the experiment's summary (runs, runs per
week, failed runs, mean run duration, distinct hyperparameter sets, best value of the primary metric)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FAILED_STATUSES = ("FAILED", "KILLED")


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str  # RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time: datetime
    end_time: datetime | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_rest(cls, raw: dict[str, Any]) -> Run:
        """A run as MLflow's REST API (runs/search) returns it."""
        info, data = raw["info"], raw.get("data") or {}
        end = info.get("end_time")
        return cls(
            run_id=info["run_id"],
            status=info.get("status", "RUNNING"),
            start_time=datetime.fromtimestamp(int(info["start_time"]) / 1000, UTC),
            end_time=datetime.fromtimestamp(int(end) / 1000, UTC) if end else None,
            params={p["key"]: p["value"] for p in data.get("params", [])},
            metrics={m["key"]: float(m["value"]) for m in data.get("metrics", [])},
        )


def run_events(run: Run, experiment: str) -> list[dict[str, Any]]:
    """Raw metric events for one run; ids derive from the run id, so re-syncing changes no count."""
    metadata = {"run_id": run.run_id, "status": run.status, "experiment": experiment}
    events = [("experiment_run", 1.0)]
    if run.status in FAILED_STATUSES:
        events.append(("experiment_run_failed", 1.0))
    if run.end_time is not None and run.status != "RUNNING":
        events.append(("experiment_run_seconds", max(0.0, (run.end_time - run.start_time).total_seconds())))
    return [
        {
            "event_id": f"mlflow:{run.run_id}:{metric_type}",
            "metric_type": metric_type,
            "value": value,
            "timestamp": run.start_time.isoformat(),
            "source": "mlflow",
            "metadata": metadata,
        }
        for metric_type, value in events
    ]


def summarise(runs: Sequence[Run], primary_metric: str | None, direction: str) -> dict[str, Any]:
    """Runs per week spans the first to the last run's start (at least one week)."""
    if direction not in ("maximize", "minimize"):
        raise ValueError("direction must be maximize or minimize")
    durations = [
        (r.end_time - r.start_time).total_seconds() for r in runs if r.end_time is not None and r.status != "RUNNING"
    ]
    starts = sorted(r.start_time for r in runs)
    weeks = max(1.0, (starts[-1] - starts[0]).total_seconds() / (7 * 86400)) if starts else None
    best = None
    if primary_metric:
        scored = [r for r in runs if primary_metric in r.metrics and r.status == "FINISHED"]
        if scored:
            pick = max if direction == "maximize" else min
            winner = pick(scored, key=lambda r: r.metrics[primary_metric])
            best = {
                "metric": primary_metric,
                "direction": direction,
                "value": winner.metrics[primary_metric],
                "run_id": winner.run_id,
            }
    return {
        "runs": len(runs),
        "runs_per_week": round(len(runs) / weeks, 3) if weeks else None,
        "failed_runs": sum(1 for r in runs if r.status in FAILED_STATUSES),
        "mean_run_seconds": round(sum(durations) / len(durations), 3) if durations else None,
        "distinct_hyperparameter_sets": len({tuple(sorted(r.params.items())) for r in runs}),
        "best": best,
    }
