"""Projects: the vocabulary (problem classes, team roles, experience levels) and the success score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ProblemClass(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    FORECASTING = "forecasting"
    NLP = "nlp"
    COMPUTER_VISION = "computer_vision"
    RECOMMENDATION = "recommendation"
    CLUSTERING = "clustering"
    ANOMALY_DETECTION = "anomaly_detection"
    OTHER = "other"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DELETED = "deleted"


class MemberRole(StrEnum):
    DATA_ENGINEER = "data_engineer"
    ML_SCIENTIST = "ml_scientist"
    ML_ENGINEER = "ml_engineer"
    ANALYST = "analyst"
    DEVOPS = "devops"
    PRODUCT = "product"


class ExperienceLevel(StrEnum):
    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"
    PRINCIPAL = "principal"


# ---------------------------------------------------------------- success score
DEFAULT_SUCCESS_WEIGHTS = {"model_performance": 0.35, "business_impact": 0.35, "duration": 0.15, "cost": 0.15}
# Below this many completed projects a tenant has no history worth normalising against; fixed reference
# scales stand in (documented in docs/success-score.md).
MIN_HISTORY_FOR_NORMALISATION = 5
REFERENCE_SCALES = {"business_impact_usd": 250_000.0, "duration_days": 90.0, "compute_cost_usd": 10_000.0}


@dataclass(frozen=True)
class Outcome:
    model_performance: float  # 0..1
    business_impact_usd: float
    duration_days: float
    compute_cost_usd: float


@dataclass(frozen=True)
class SuccessScore:
    score: float
    components: dict[str, float]
    weights: dict[str, float]
    basis: str  # "tenant_history" | "reference_scales"
    history_size: int

    def to_body(self) -> dict:
        return {
            "score": round(self.score, 2),
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "weights": self.weights,
            "basis": self.basis,
            "history_size": self.history_size,
        }


def normalise_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """The tenant's weights (missing ones default), scaled to sum to 1; negative weights are refused."""
    merged = {**DEFAULT_SUCCESS_WEIGHTS, **(weights or {})}
    unknown = set(merged) - set(DEFAULT_SUCCESS_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown success weights: {sorted(unknown)}")
    if any(w < 0 for w in merged.values()) or sum(merged.values()) <= 0:
        raise ValueError("success weights must be non-negative and not all zero")
    total = sum(merged.values())
    return {k: v / total for k, v in merged.items()}


def percentile_rank(value: float, history: Sequence[float]) -> float:
    """Share of the history at or below `value` (ties count half), in [0, 1]."""
    below = sum(1 for h in history if h < value)
    equal = sum(1 for h in history if h == value)
    return (below + 0.5 * equal) / len(history)


def _reference(value: float, scale: float) -> float:
    """0..1 by a saturating curve: value == scale gives about 0.63."""
    return 1 - math.exp(-max(value, 0.0) / scale)


def success_score(
    outcome: Outcome, history: Sequence[Outcome], weights: dict[str, float] | None = None
) -> SuccessScore:
    """A 0–100 score: the weighted mean of four components in [0, 1].

    - model_performance: the outcome's own 0–1 figure.
    - business_impact: percentile rank of business_impact_usd among the tenant's completed projects (higher better).
    - duration: 1 − percentile rank of duration_days (shorter better).
    - cost: 1 − percentile rank of compute_cost_usd (cheaper better).
    With fewer than MIN_HISTORY_FOR_NORMALISATION earlier outcomes, the three money/time components use fixed
    reference scales instead (1 − e^(−x/scale), inverted for duration and cost). Weights are the tenant's own.
    """
    resolved = normalise_weights(weights)
    if len(history) >= MIN_HISTORY_FOR_NORMALISATION:
        components = {
            "model_performance": outcome.model_performance,
            "business_impact": percentile_rank(outcome.business_impact_usd, [h.business_impact_usd for h in history]),
            "duration": 1 - percentile_rank(outcome.duration_days, [h.duration_days for h in history]),
            "cost": 1 - percentile_rank(outcome.compute_cost_usd, [h.compute_cost_usd for h in history]),
        }
        basis = "tenant_history"
    else:
        components = {
            "model_performance": outcome.model_performance,
            "business_impact": _reference(outcome.business_impact_usd, REFERENCE_SCALES["business_impact_usd"]),
            "duration": 1 - _reference(outcome.duration_days, REFERENCE_SCALES["duration_days"]),
            "cost": 1 - _reference(outcome.compute_cost_usd, REFERENCE_SCALES["compute_cost_usd"]),
        }
        basis = "reference_scales"
    score = 100 * sum(resolved[name] * components[name] for name in resolved)
    return SuccessScore(min(100.0, max(0.0, score)), components, resolved, basis, len(history))


# ---------------------------------------------------------------- finding projects in a list
PROJECT_SORT_FIELDS = ("name", "created_at", "start_date", "success_score", "complexity_score", "team_size")
PROJECT_SORTS = tuple(f"{sign}{name}" for name in PROJECT_SORT_FIELDS for sign in ("", "-"))


def find_projects(projects: Sequence[dict], query: str | None, sort: str | None) -> list[dict]:
    """Project views whose name or description holds every word of `query` (case-insensitive), ordered by `sort`
    (a field of PROJECT_SORT_FIELDS, `-` first for descending; newest first when absent). Projects without the
    sorted value come last in either direction; ties keep the newest first."""
    words = (query or "").casefold().split()
    found = [p for p in projects if all(w in f"{p['name']} {p.get('description') or ''}".casefold() for w in words)]
    newest_first = sorted(found, key=lambda p: (str(p["created_at"]), p["id"]), reverse=True)
    field = (sort or "-created_at").lstrip("-")
    descending = (sort or "-created_at").startswith("-")
    present = [p for p in newest_first if p.get(field) is not None]
    missing = [p for p in newest_first if p.get(field) is None]

    def value(p: dict):
        v = p[field]
        return v.casefold() if field == "name" else str(v) if field in ("created_at", "start_date") else float(v)

    return sorted(present, key=value, reverse=descending) + missing
