"""Recommendations for a project or a plan: (a) artifacts to reuse, ranked by the blend the retrain job learned
from the tenant's history (success-weighted co-usage among similar projects, impact score, content similarity
from the embedding layer), deprecated and already-used ones excluded, each with its reasons; (b) the team shape
the outcome models expect to do best, beside the current plan's predicted outcome (maestro.ml.recommend)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from maestro.domain.errors import DependencyUnavailable
from maestro.domain.identity.principals import Caller
from maestro.domain.meta.targets import TARGET_NAMES
from maestro.repositories import usage as usage_store
from maestro.repositories.schema import parent_id_of
from maestro.services.meta import champions as champion_cache
from maestro.services.meta.predictions import subject_for_profile, subject_for_project


def _now() -> datetime:
    return datetime.now(UTC)


def _similarity(tenant_id: str, description: str, source: str, artifacts: dict[str, Any]) -> tuple[dict, str]:
    from maestro.ml.recommend import description_overlap

    if source == "embedding" and description.strip():
        try:
            from maestro.services.embeddings import semantic_ranking

            ranked = semantic_ranking(tenant_id, description, set(artifacts), len(artifacts))
            return dict(ranked), "embedding"
        except DependencyUnavailable:
            pass  # the model was used in training but is not here: the closest stand-in, and say so
    return description_overlap(description, artifacts.values()), "token_overlap"


def _reasons(components: Mapping[str, float], neighbours: int, similarity_source: str) -> list[str]:
    reasons = []
    if components["co_usage"] > 0:
        reasons.append(
            f"used by {components['co_usage']:.0%} of the {neighbours} most similar completed projects "
            "(weighted toward the successful ones)"
        )
    reasons.append(f"impact score {components['impact']:.1f} of 100")
    if components["similarity"] > 0:
        reasons.append(
            f"content similarity {components['similarity']:.2f} to the project's description "
            f"({similarity_source.replace('_', ' ')})"
        )
    return reasons


def _artifacts_part(tenant_id: str, subject: Any, limit: int) -> dict[str, Any]:
    description, used = subject.description, subject.used
    usable = {k: a for k, a in subject.library.items() if not a.deprecated}
    (loaded, record) = champion_cache.recommender(tenant_id)
    if loaded is None:
        ranked = sorted(
            (a for k, a in usable.items() if k not in used), key=lambda a: (-float(a.impact_score), a.artifact_id)
        )[:limit]
        return {
            "basis": "prior",
            "note": "no recommender learned yet (it is fitted by the retrain job): by impact",
            "items": [
                {
                    "artifact_id": a.artifact_id,
                    "name": a.name,
                    "type": a.type,
                    "score": float(a.impact_score),
                    "reasons": [f"impact score {float(a.impact_score):.1f}"],
                    "components": {"impact": float(a.impact_score)},
                }
                for a in ranked
            ],
        }
    recommender, state = loaded
    similarity, source = _similarity(tenant_id, description, state.get("similarity_source", "token_overlap"), usable)
    exclude = used | {a for a in recommender.artifact_ids if a not in usable}
    ranked = recommender.recommend(subject.values, similarity=similarity, top_n=limit, exclude=exclude)
    neighbours = recommender.weights.neighbours
    items = []
    for entry in ranked:
        artifact = usable[entry["artifact_id"]]
        items.append(
            {
                "artifact_id": artifact.artifact_id,
                "name": artifact.name,
                "type": artifact.type,
                "score": entry["score"],
                "reasons": _reasons(entry["reasons"], neighbours, source),
                "components": entry["reasons"],
            }
        )
    answer = {
        "basis": "model",
        "recommender_version": record.model_version,
        "similarity_source": source,
        "weights": state["weights"],
        "items": items,
    }
    if items and all(item["score"] == 0 for item in items):
        # what the learned blend leaves tied is ordered by maestro.ml.recommend.ranking_order: say so, or a list of
        # zeros reads as broken
        answer["note"] = (
            "the learned blend scores these artifacts 0 (no similar completed project used them, and the retrain "
            "gave impact and similarity no weight): ordered by content similarity to the description, then impact"
        )
    return answer


def _team_part(tenant_id: str, subject: Any) -> dict[str, Any] | None:
    from maestro.ml.recommend import recommend_team

    served = champion_cache.champions(tenant_id)
    if len(served) < len(TARGET_NAMES):
        return None
    duration, success = served["duration_days"].model, served["success_score"].model
    team = recommend_team(
        duration,
        success,
        subject.model_values(duration.feature_names, duration.manifest["feature_means"]),
        success_profile=subject.model_values(success.feature_names, success.manifest["feature_means"]),
    )
    return {
        "current": team["current"],
        "recommended": team["best"],
        "improvement": team["improvement"],
        "considered": team["considered"],
        "model_versions": {
            "duration_days": served["duration_days"].version,
            "success_score": served["success_score"].version,
        },
    }


def recommend(caller: Caller, project_id: str | None, profile: Mapping[str, Any] | None, limit: int) -> dict[str, Any]:
    now = _now()
    if project_id:
        usages = list(usage_store.usages_of_project(caller.tenant_id, project_id))
        subject = subject_for_project(caller.tenant_id, project_id, now, usages)
        # everything the project used, also after its cut-off (its features read only what came before)
        subject.used = {parent_id_of(u.tenant_artifact) for u in usages}
    else:
        subject = subject_for_profile(caller.tenant_id, profile or {}, now)
    artifacts = _artifacts_part(caller.tenant_id, subject, limit)
    team = _team_part(caller.tenant_id, subject)
    return {
        "id": f"rec_{uuid.uuid4().hex}",
        "project_id": project_id,
        "created_at": now.isoformat(),
        "basis": "model" if artifacts["basis"] == "model" and team is not None else "prior",
        "artifacts": artifacts["items"],
        "artifact_ranking": {k: v for k, v in artifacts.items() if k != "items"},
        "team": team,
        "team_note": None if team else "team shapes need trained outcome models (retrain first)",
    }
