"""Storage of long-running jobs (retraining): state and progress, changed with conditions so a job moves
forward only (queued -> running -> succeeded | failed) and two workers cannot both run it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.expressions.update import Action

from maestro.repositories.schema import Job
from maestro.repositories.tables import ensure_bound, is_condition_failure

JOB_RETENTION_DAYS = 90


def create_job(job: Job) -> None:
    ensure_bound()
    job.save(condition=Job.job_id.does_not_exist())


def get_job(tenant_id: str, job_id: str) -> Job | None:
    ensure_bound()
    try:
        return Job.get(tenant_id, job_id)
    except Job.DoesNotExist:
        return None


def start_job(tenant_id: str, job_id: str, now: datetime) -> bool:
    """Claim a queued job; False if it is not queued any more (already running or finished)."""
    ensure_bound()
    try:
        Job(tenant_id, job_id).update(
            actions=[Job.state.set("running"), Job.updated_at.set(now)], condition=Job.state == "queued"
        )
        return True
    except Exception as error:
        if is_condition_failure(error):
            return False
        raise


def report_progress(tenant_id: str, job_id: str, progress: float, detail: dict[str, Any], now: datetime) -> None:
    ensure_bound()
    Job(tenant_id, job_id).update(
        actions=[Job.progress.set(progress), Job.detail.set(detail), Job.updated_at.set(now)],
        condition=Job.state == "running",
    )


def finish_job(tenant_id: str, job_id: str, state: str, detail: dict[str, Any], now: datetime) -> None:
    ensure_bound()
    actions: list[Action] = [Job.state.set(state), Job.detail.set(detail), Job.updated_at.set(now)]
    if state == "succeeded":
        actions.append(Job.progress.set(1.0))
    Job(tenant_id, job_id).update(actions=actions, condition=Job.state == "running")
