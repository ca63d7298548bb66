"""Predictions of a project's success score, duration and cost: by the tenant's champion models (ONNX, no
scikit-learn here) when it has them, else by priors (maestro.domain.meta.priors); every answer is stored and
scored when the project's outcome arrives (maestro.services.meta.scoring).

Features. For a stored project: the Feast online store's row (what training read at the cut-off), or, when the
project is not materialised yet, the same `features()` computed from its records as of min(now, cut-off). For a
profile (a project being planned): class, complexity, team and planned artifacts are known; the early process
metrics are not (nothing has happened yet), so they take the training mean and are listed as `imputed`, as are
the team-mix features when no members are given.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.errors import NotFound, ValidationFailed
from maestro.domain.identity.principals import Caller
from maestro.domain.meta.feature_views import PROCESS_FEATURES
from maestro.domain.meta.history import (
    CUTOFF_DAYS,
    FEATURE_NAMES,
    TARGET_NAMES,
    ArtifactUsage,
    Member,
    ProjectRecord,
    features,
)
from maestro.domain.meta.priors import MIN_COMPLETED_FOR_MODEL, prior_estimate
from maestro.observability import logger
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import predictions as prediction_store
from maestro.repositories import projects as project_store
from maestro.repositories.schema import Prediction, child_key
from maestro.services.context import RequestMeta
from maestro.services.meta import champions as champion_cache
from maestro.services.meta.tenant_history import artifact_effects, cutoff_of, project_record
from maestro.services.projects import require_project

TEAM_MIX_PREFIXES = ("experience_", "role_")
DEFAULT_MEMBER_HOURS = 0.0  # unknown hours: imputed with the training mean below
PRIOR_SAMPLE_LIMIT = 2000


def _now() -> datetime:
    return datetime.now(UTC)


class Subject:
    """What is predicted: a feature vector, where it came from and which features were imputed, plus what the
    recommendations need of the same request (description, artifacts already used, the tenant's library)."""

    def __init__(
        self,
        values: dict[str, float],
        source: str,
        imputed: set[str],
        *,
        project_id: str | None = None,
        profile: dict | None = None,
        description: str = "",
        used: set[str] | None = None,
        library: dict[str, Any] | None = None,
    ) -> None:
        self.values, self.source, self.imputed = values, source, imputed
        self.project_id, self.profile, self.description = project_id, profile, description
        self.used, self.library = used or set(), library or {}

    def model_values(self, feature_names: list[str], feature_means: list[float]) -> dict[str, float]:
        """The vector in a model's features, imputed ones at that model's training mean."""
        means = dict(zip(feature_names, feature_means, strict=False))
        return {n: (means[n] if n in self.imputed else self.values.get(n, 0.0)) for n in feature_names}


def live_library(tenant_id: str) -> dict[str, Any]:
    """The tenant's artifacts that are not deleted, read once per request."""
    return {a.artifact_id: a for a in artifact_store.tenant_artifacts(tenant_id) if not a.deleted}


def subject_for_project(tenant_id: str, project_id: str, now: datetime, usages: list[Any] | None = None) -> Subject:
    """`usages`: the project's stored usage rows when the caller has read them (features see only those up to
    the cut-off)."""
    project = require_project(tenant_id, project_id)
    library = live_library(tenant_id)
    context: dict[str, Any] = {"project_id": project_id, "description": project.description or "", "library": library}
    try:
        from maestro.repositories.online_features import read_online_features

        row = read_online_features(tenant_id, [project_id], FEATURE_NAMES).get(project_id) or {}
        if row and all(row.get(name) is not None for name in FEATURE_NAMES):
            return Subject({k: float(v) for k, v in row.items() if v is not None}, "online_store", set(), **context)
    except Exception as error:  # the online store is an optimisation of the same computation: fall back, say so
        logger.info("online features unavailable; computing", extra={"reason": repr(error)})
    record = project_record(tenant_id, project, as_of=now, usages=usages)
    moment = min(now, cutoff_of(project))
    values = features(
        record,
        max(moment, record.start_date + timedelta(days=1)),
        artifact_effects=artifact_effects(tenant_id, library.values()),
    )
    imputed = set(PROCESS_FEATURES) if not record.metrics else set()
    if not record.members:
        imputed |= {n for n in FEATURE_NAMES if n.startswith(TEAM_MIX_PREFIXES) or n == "mean_hours_per_week"}
    return Subject(values, "computed", imputed, **context)


def subject_for_profile(tenant_id: str, profile: Mapping[str, Any], now: datetime) -> Subject:
    library = live_library(tenant_id)
    planned = list(dict.fromkeys(profile.get("planned_artifacts") or []))
    unknown = [a for a in planned if a not in library]
    if unknown:
        raise ValidationFailed(
            "planned_artifacts names artifacts that do not exist",
            errors=[{"field": "profile.planned_artifacts", "message": f"unknown: {unknown[:10]}", "type": "not_found"}],
        )
    members = tuple(
        Member(
            f"planned-{i}",
            m["role"],
            m["experience_level"],
            float(m.get("hours_per_week") or DEFAULT_MEMBER_HOURS),
            now,
        )
        for i, m in enumerate(profile.get("members") or [])
    )
    usages = tuple(ArtifactUsage("profile", a, "planned", now, True) for a in planned)
    record = ProjectRecord(
        "profile",
        profile["problem_class"],
        float(profile["complexity_score"]),
        int(profile["team_size"]),
        profile.get("description") or "",
        now,
        None,
        members,
        usages,
        (),
        None,
        None,
    )
    values = features(
        record, now + timedelta(days=CUTOFF_DAYS), artifact_effects=artifact_effects(tenant_id, library.values())
    )
    imputed = set(PROCESS_FEATURES)
    if not members:
        imputed |= {n for n in FEATURE_NAMES if n.startswith(TEAM_MIX_PREFIXES)}
    if not members or not any(m.hours_per_week for m in members):
        imputed.add("mean_hours_per_week")
    return Subject(
        values,
        "profile",
        imputed,
        profile=dict(profile),
        description=record.description,
        used=set(planned),
        library=library,
    )


def _completed_outcomes(tenant_id: str) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {t: [] for t in TARGET_NAMES}
    for index, project in enumerate(project_store.completed_projects(tenant_id)):
        if index >= PRIOR_SAMPLE_LIMIT:
            break
        outcome = project.outcome or {}
        out["success_score"].append(project.success_score)
        out["duration_days"].append(outcome.get("duration_days"))
        out["compute_cost_usd"].append(outcome.get("compute_cost_usd"))
    return out


def estimate(tenant_id: str, subject: Subject) -> dict[str, Any]:
    """The answer for one subject: per target point, 80/90% intervals, version and contributions; `basis`
    "model" with champions, "prior" without."""
    served = champion_cache.champions(tenant_id)
    if len(served) < len(TARGET_NAMES):
        outcomes = _completed_outcomes(tenant_id)
        targets = {t: {**prior_estimate(t, outcomes[t]), "basis": "prior"} for t in TARGET_NAMES}
        return {
            "basis": "prior",
            "targets": targets,
            "imputed_features": [],
            "note": (
                f"fewer than {MIN_COMPLETED_FOR_MODEL} completed projects have been trained on: these are "
                "the tenant's own outcome statistics, not a model's prediction"
            ),
        }
    targets = {}
    for target in TARGET_NAMES:
        champion = served[target]
        model = champion.model
        x = model.vector(subject.model_values(model.feature_names, model.manifest["feature_means"]))
        point, intervals = model.predict(x)
        targets[target] = {
            "point": round(float(point[0]), 4),
            "intervals": {
                level: [round(float(low[0]), 4), round(float(high[0]), 4)] for level, (low, high) in intervals.items()
            },
            "model_version": champion.version,
            "basis": "model",
            "top_contributions": model.explain(x[0]),
            "holdout_mae": (model.metrics.get("holdout") or {}).get("mae"),
        }
    return {"basis": "model", "targets": targets, "imputed_features": sorted(subject.imputed)}


def _stored_view(prediction: Prediction) -> dict[str, Any]:
    return {"id": prediction.prediction_id, **prediction.result}


def predict(
    caller: Caller, project_id: str | None, profile: Mapping[str, Any] | None, meta: RequestMeta
) -> dict[str, Any]:
    now = _now()
    subject = (
        subject_for_project(caller.tenant_id, project_id, now)
        if project_id
        else subject_for_profile(caller.tenant_id, profile or {}, now)
    )
    answer = estimate(caller.tenant_id, subject)
    prediction_id = f"prd_{uuid.uuid4().hex}"
    result = {
        "project_id": subject.project_id,
        "created_at": now.isoformat(),
        "features_source": subject.source,
        **answer,
    }
    versions = ",".join(f"{t}:{v['model_version']}" for t, v in answer["targets"].items() if v.get("model_version"))
    prediction_store.save_prediction(
        Prediction(
            caller.tenant_id,
            prediction_id,
            tenant_project=child_key(caller.tenant_id, project_id) if project_id else None,
            created_at_key=now.isoformat(),
            request={"project_id": project_id, "profile": subject.profile},
            result=result,
            model_version=versions or None,
            basis=answer["basis"],
        )
    )
    return {"id": prediction_id, **result}


def get_prediction(caller: Caller, prediction_id: str) -> dict[str, Any]:
    stored = prediction_store.get_prediction(caller.tenant_id, prediction_id)
    if stored is None:
        raise NotFound(f"prediction {prediction_id} not found")
    return {**_stored_view(stored), "scored": stored.scored}
