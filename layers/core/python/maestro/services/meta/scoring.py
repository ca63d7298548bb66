"""Scoring stored predictions when a project's outcome arrives: each prediction made before the project finished
gets its errors once (a conditional write, so a redelivered event changes nothing), and the model version that
made it adds them to its live counters (GET /v1/models/meta shows the live error)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from maestro.domain.meta.targets import TARGET_NAMES
from maestro.repositories import meta_models
from maestro.repositories import predictions as prediction_store
from maestro.repositories import projects as project_store


def actual_outcomes(project: Any) -> dict[str, float]:
    outcome = project.outcome or {}
    return {
        "success_score": float(project.success_score),
        "duration_days": float(outcome["duration_days"]),
        "compute_cost_usd": float(outcome["compute_cost_usd"]),
    }


def score_target(answer: dict, actual: float) -> dict[str, Any] | None:
    if answer.get("point") is None:
        return None
    intervals = answer.get("intervals") or {}

    def inside(level: str) -> bool | None:
        bounds = intervals.get(level)
        return None if not bounds else bool(bounds[0] <= actual <= bounds[1])

    return {
        "actual": actual,
        "predicted": answer["point"],
        "abs_error": round(abs(answer["point"] - actual), 4),
        "in_80": inside("80"),
        "in_90": inside("90"),
        "model_version": answer.get("model_version"),
        "basis": answer.get("basis"),
    }


def score_project(tenant_id: str, project_id: str) -> dict[str, int]:
    """Score the project's unscored predictions made before it completed; counts of scored and skipped."""
    project = project_store.get_project(tenant_id, project_id)
    if project is None or project.outcome is None or project.success_score is None:
        return {"scored": 0, "skipped": 0}
    completed_at = datetime.fromisoformat(project.outcome["completed_at"])
    actual = actual_outcomes(project)
    scored = skipped = 0
    for prediction in prediction_store.predictions_of_project(tenant_id, project_id):
        if prediction.scored is not None or datetime.fromisoformat(prediction.created_at_key) >= completed_at:
            skipped += 1  # already scored, or made once the outcome was known: not a prediction
            continue
        per_target, live = {}, []
        for target in TARGET_NAMES:
            answer = (prediction.result.get("targets") or {}).get(target) or {}
            score = score_target(answer, actual[target])
            per_target[target] = score
            if score and score["basis"] == "model" and score["model_version"]:
                live.append(
                    (target, score["model_version"], score["abs_error"], bool(score["in_80"]), bool(score["in_90"]))
                )
        if meta_models.score_prediction(
            prediction, {"scored_at": project.outcome["completed_at"], "targets": per_target}, live
        ):
            scored += 1
        else:
            skipped += 1
    return {"scored": scored, "skipped": skipped}
