"""A project's velocity: its features from git, DORA and CI, scored against the tenant's earlier projects."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeGuard

from maestro.domain.analytics.ci import ci_stats
from maestro.domain.analytics.dora import dora
from maestro.domain.analytics.git import git_stats
from maestro.domain.analytics.shared import INSUFFICIENT_DATA
from maestro.domain.metrics import MetricEvent
from maestro.domain.projects import percentile_rank

# component -> (weight, higher_is_better). Equal weights: no evidence yet that one matters more.
VELOCITY_COMPONENTS: dict[str, tuple[float, bool]] = {
    "commits_per_week": (0.2, True),  # distinct commits per week
    "merged_prs_per_week": (0.2, True),  # pull requests merged per week
    "pr_merge_hours_p50": (0.2, False),  # median hours from PR open to merge: lower is better
    "pipeline_success_rate": (0.2, True),  # share of CI workflow executions that passed
    "deployments_per_week": (0.2, True),  # successful (production) deployments per week
}
MIN_VELOCITY_HISTORY = 3


# The event types the velocity components are computed from (through git_stats, dora and ci_stats): a project's
# velocity needs only these, within the period (tests/unit/test_analytics.py holds them to the full reports).
VELOCITY_EVENT_TYPES = (
    "commits",
    "pr_opened",
    "pr_merged",
    "pr_closed",
    "pr_merge_hours",
    "pipeline_success",
    "deployment",
    "deployment_succeeded",
    "deployment_failed",
)


def velocity_features_of(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, float]:
    """A project's velocity components from its events of [start, end)."""
    return velocity_features(git_stats(events, start, end), dora(events, start, end), ci_stats(events, start, end))


def velocity_features(git: Mapping[str, Any], dora_stats: Mapping[str, Any], ci: Mapping[str, Any]) -> dict[str, float]:
    """The velocity components' raw values from git_stats, dora and ci_stats results; unmeasured (null)
    ones are left out."""
    features = {
        "commits_per_week": git["commits_per_week"]["mean"],
        "merged_prs_per_week": git["prs_merged"]["per_week"],
        "pr_merge_hours_p50": git["pr_merge_hours"]["p50"],
        "pipeline_success_rate": ci["success_rate"],
        "deployments_per_week": dora_stats["deployment_frequency"]["value"],
    }
    return {name: float(value) for name, value in features.items() if value is not None}


def _usable(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def velocity(project_features: Mapping[str, float], history: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """A 0-100 velocity score: 100 x the weighted mean of the components' percentile ranks.

    Each component (VELOCITY_COMPONENTS) is the percentile rank of the project's value among the same
    feature of the tenant's other projects (`history`; ties count half), inverted for lower-is-better ones,
    so every component is a unitless 0..1 and units never mix; a project better than all its history on
    every component scores 100. A component the project lacks, or that fewer than 3 history projects have,
    is omitted and the remaining weights are renormalised. With fewer than 3 history projects the score is
    null (basis insufficient_history), but the raw components are still returned.
    """
    enough_history = len(history) >= MIN_VELOCITY_HISTORY
    components: dict[str, Any] = {}
    omitted: list[dict[str, str]] = []
    for name, (_weight, higher_is_better) in VELOCITY_COMPONENTS.items():
        value = project_features.get(name)
        if not _usable(value):
            omitted.append({"component": name, "reason": "missing_value"})
            continue
        peers = [h[name] for h in history if _usable(h.get(name))]
        rank = None
        if len(peers) >= MIN_VELOCITY_HISTORY:
            rank = percentile_rank(value, peers)
            rank = rank if higher_is_better else 1 - rank
        else:
            omitted.append({"component": name, "reason": "insufficient_history"})
        components[name] = {
            "value": float(value),
            "normalised": rank,
            "weight": None,
            "direction": "higher_is_better" if higher_is_better else "lower_is_better",
            "history_size": len(peers),
        }
    scored = {name: c for name, c in components.items() if c["normalised"] is not None}
    total_weight = sum(VELOCITY_COMPONENTS[name][0] for name in scored)
    for name, component in scored.items():
        component["weight"] = VELOCITY_COMPONENTS[name][0] / total_weight
    if not enough_history:
        score, basis = None, "insufficient_history"
    elif not scored:
        score, basis = None, INSUFFICIENT_DATA
    else:
        score, basis = 100 * sum(c["weight"] * c["normalised"] for c in scored.values()), "tenant_history"
    if score is None:
        for component in components.values():
            component["weight"] = None
    return {"score": score, "basis": basis, "history_size": len(history), "components": components, "omitted": omitted}
