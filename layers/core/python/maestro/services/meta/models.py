"""The outcome models' state for people: retrain requests and their jobs, the champions with their training and
live figures, and the version history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.errors import NotFound
from maestro.domain.identity.principals import Caller
from maestro.domain.meta.priors import MIN_COMPLETED_FOR_MODEL
from maestro.domain.meta.targets import RECOMMENDER, TARGET_NAMES, coverage_standard_errors
from maestro.repositories import events, meta_models
from maestro.repositories import jobs as job_store
from maestro.repositories.schema import Job, ModelRecord
from maestro.services.context import RequestMeta, audit_as

RETRAIN_KIND = "meta_retrain"
EVENT_SOURCE = "maestro.models"
EVENT_RETRAIN_REQUESTED = "MetaRetrainRequested"
HISTORY_PER_TARGET = 10


def _now() -> datetime:
    return datetime.now(UTC)


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.job_id,
        "kind": job.kind,
        "state": job.state,
        "progress": float(job.progress or 0),
        "detail": job.detail or {},
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def queue_retrain(tenant_id: str, *, requested_by: str, now: datetime | None = None, publish: bool = True) -> Job:
    """A queued retrain job and the event that starts it (the job exists before the event, so a state is
    always readable). The schedule runs its jobs itself (`publish=False`)."""
    now = now or _now()
    job = Job(
        tenant_id,
        f"job_{uuid.uuid4().hex}",
        kind=RETRAIN_KIND,
        state="queued",
        progress=0,
        detail={"requested_by": requested_by},
        created_at=now,
        updated_at=now,
        expires_at_epoch=int((now + timedelta(days=job_store.JOB_RETENTION_DAYS)).timestamp()),
    )
    job_store.create_job(job)
    if publish:
        events.publish(EVENT_SOURCE, EVENT_RETRAIN_REQUESTED, {"tenant_id": tenant_id, "job_id": job.job_id})
    return job


def request_retrain(caller: Caller, meta: RequestMeta) -> dict[str, Any]:
    job = queue_retrain(caller.tenant_id, requested_by=caller.actor)
    audit_as(caller, "models.retrain", "job", job.job_id, meta)
    return job_view(job)


def get_job(caller: Caller, job_id: str) -> dict[str, Any]:
    job = job_store.get_job(caller.tenant_id, job_id)
    if job is None or job.kind != RETRAIN_KIND:
        raise NotFound(f"job {job_id} not found")
    return job_view(job)


def _live(record: ModelRecord) -> dict[str, Any]:
    count = int(record.live_count or 0)
    if count == 0:
        return {"scored_predictions": 0, "mae": None, "coverage_80": None, "coverage_90": None}
    return {
        "scored_predictions": count,
        "mae": round(float(record.live_abs_error_sum) / count, 4),
        "coverage_80": round(float(record.live_hits_80) / count, 4),
        "coverage_90": round(float(record.live_hits_90) / count, 4),
    }


def version_view(record: ModelRecord) -> dict[str, Any]:
    metrics = record.metrics or {}
    holdout_projects = int((metrics.get("split") or {}).get("holdout") or 0)
    return {
        "version": record.model_version,
        "trained_at": record.trained_at.isoformat(),
        "data_size": int(record.training_rows or 0),
        "is_champion": bool(record.is_champion),
        "mlflow_run_id": record.mlflow_run_id,
        "holdout": metrics.get("holdout"),
        "baselines": metrics.get("baselines"),
        "coverage": metrics.get("coverage"),
        "holdout_projects": holdout_projects or None,
        # a coverage on ~100 projects is only known to a few points: say how many
        "coverage_standard_error": coverage_standard_errors(holdout_projects),
        "selected": metrics.get("selected"),
        # which model serves: the searched one only when it beat both baselines on the hold-out set
        "serving": metrics.get("serving"),
        "decision": record.decision,
        "live": _live(record),
    }


def training_data(tenant_id: str) -> dict[str, Any] | None:
    """The last retrain's count: projects used, and left out by reason (None before the first retrain)."""
    from maestro.repositories import object_store

    try:
        return object_store.get_json(meta_models.training_data_key(tenant_id))
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def overview(caller: Caller) -> dict[str, Any]:
    """The champion of each target (training figures, data size, live error) and each target's recent versions."""
    pointers = meta_models.champions(caller.tenant_id)
    targets = {}
    for target in TARGET_NAMES:
        history = [version_view(r) for r in meta_models.versions(caller.tenant_id, target, limit=HISTORY_PER_TARGET)]
        pointer = pointers.get(target)
        champion = next((v for v in history if pointer and v["version"] == pointer.model_version), None)
        if pointer and champion is None:
            stored = meta_models.get_version(caller.tenant_id, target, pointer.model_version)
            champion = version_view(stored) if stored else None
        serves = ((champion or {}).get("serving") or {}).get("model", "searched") if champion else None
        targets[target] = {"champion": champion, "history": history, "serves": serves}
    recommender = pointers.get(RECOMMENDER)
    return {
        "id": "meta",
        "training_data": training_data(caller.tenant_id),
        "basis": "model" if any(t["champion"] for t in targets.values()) else "prior",
        "min_completed_projects": MIN_COMPLETED_FOR_MODEL,
        "targets": targets,
        "recommender": (
            {
                "version": recommender.model_version,
                "trained_at": recommender.trained_at.isoformat(),
                "data_size": int(recommender.training_rows or 0),
                "validation": recommender.metrics,
            }
            if recommender
            else None
        ),
    }
