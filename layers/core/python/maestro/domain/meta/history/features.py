"""The leak-free feature vector of a project as known at the prediction cut-off, and the feature table the
meta-models learn from.

Prediction cut-off (`features`): 14 days after the start (`CUTOFF_DAYS`). A feature vector reads only what was
recorded up to `as_of`: the planned problem class, complexity and team size, members who had joined, artifact
usages recorded, metric records with recorded_at <= as_of; never the outcome, the end date, later joiners,
later usages or later metrics. Published impact effects of the planned artifacts (`feature_table`) come from
the last monthly snapshot before the cut-off, over projects completed by then. What reaches the features is a
noisy, partial view of the causes: q and f show only through the early CI runs and PR merge times, late
joiners and later artifact additions not at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from maestro.domain.impact import compute_impact_scores
from maestro.domain.meta.feature_views import PROCESS_FEATURES
from maestro.domain.meta.history.records import History, ProjectRecord, impact_inputs
from maestro.domain.meta.targets import TARGET_NAMES
from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass

FEATURE_NAMES: tuple[str, ...] = (
    *(f"class_{c.value}" for c in ProblemClass),
    "complexity_score",
    "team_size",
    "log_team_size",
    *(f"experience_{level.value}_share" for level in ExperienceLevel),
    *(f"role_{role.value}_share" for role in MemberRole),
    "mean_hours_per_week",
    "reuse_count",
    "reuse_known_share",
    "reuse_impact_mean",
    "reuse_impact_sum",
    *PROCESS_FEATURES,
)


def features(
    project: ProjectRecord, as_of: datetime | None = None, *, artifact_effects: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The feature vector of a project as known at `as_of` (default: the cut-off, start + CUTOFF_DAYS).

    Reads only what was recorded by then: the class, complexity and planned team size (set at creation), the
    members who had joined (experience and role shares, mean hours), the artifact usages recorded (count;
    `artifact_effects` maps an artifact to its impact effect in success points as published by then — the
    share of planned artifacts with a published effect, their mean and sum; zeros without it), and the metric
    records with recorded_at <= as_of, as rates over the elapsed window (commits/week, distinct committers,
    median PR merge hours — the window length when nothing merged yet —, CI success rate over the runs — 0
    with no run —, CI run count, experiment runs/week). Never the outcome, the end date, or anything later.
    """
    moment = as_of or project.cutoff
    window_days = max((moment - project.start_date).total_seconds() / 86400, 1.0)
    out = dict.fromkeys(FEATURE_NAMES, 0.0)
    out[f"class_{project.problem_class}"] = 1.0
    out["complexity_score"] = float(project.complexity_score)
    out["team_size"] = float(project.team_size)
    out["log_team_size"] = math.log(max(project.team_size, 1))

    members = [m for m in project.members if m.joined_at <= moment]
    for m in members:
        out[f"experience_{m.experience}_share"] += 1 / len(members)
        out[f"role_{m.role}_share"] += 1 / len(members)
    out["mean_hours_per_week"] = float(np.mean([m.hours_per_week for m in members])) if members else 0.0

    planned = sorted({u.artifact_id for u in project.usages if u.recorded_at <= moment})
    effects = [artifact_effects[a] for a in planned if artifact_effects and a in artifact_effects]
    out["reuse_count"] = float(len(planned))
    out["reuse_known_share"] = len(effects) / len(planned) if planned else 0.0
    out["reuse_impact_mean"] = float(np.mean(effects)) if effects else 0.0
    out["reuse_impact_sum"] = float(np.sum(effects)) if effects else 0.0

    seen = [r for r in project.metrics if r.recorded_at <= moment]
    commits = [r for r in seen if r.metric_type == "commits"]
    merges = [r.value for r in seen if r.metric_type == "pr_merge_hours"]
    runs = [r.value for r in seen if r.metric_type == "pipeline_success"]
    weeks = window_days / 7
    out["commits_per_week"] = sum(r.value for r in commits) / weeks
    out["contributors"] = float(len({r.member_id for r in commits}))
    out["pr_merge_hours_p50"] = float(np.median(merges)) if merges else window_days * 24  # censored at the window
    out["ci_success_rate"] = float(np.mean(runs)) if runs else 0.0
    out["ci_runs"] = float(len(runs))
    out["experiment_runs_per_week"] = sum(r.value for r in seen if r.metric_type == "experiment_run") / weeks
    return out


def artifact_effects_as_of(
    history: History, as_of: datetime, *, min_completed: int = 10, seed: int = 0
) -> dict[str, float]:
    """Impact effects (success points) of the artifacts used by projects completed by `as_of`, as
    maestro.domain.impact would have published them that day; empty below `min_completed` projects."""
    return effects_as_of(history.projects, as_of, min_completed=min_completed, seed=seed)


def effects_as_of(
    projects: Iterable[ProjectRecord], as_of: datetime, *, min_completed: int = 10, seed: int = 0
) -> dict[str, float]:
    """The same from any projects (stored ones included): only those with an outcome that ended by `as_of`."""
    done = [p for p in projects if p.outcome is not None and p.end_date is not None and p.end_date <= as_of]
    if len(done) < min_completed:
        return {}
    completed, usages = impact_inputs(done)
    scores = compute_impact_scores(completed, usages, bootstrap_samples=10, seed=seed)
    return {a: s.effect for a, s in scores.items() if s.completed_projects > 0}


def cutoff_features(
    projects: Sequence[ProjectRecord],
    chosen: Iterable[ProjectRecord],
    *,
    origin: datetime,
    snapshot_days: int = 30,
    seed: int = 0,
    as_of: datetime | None = None,
) -> dict[str, dict[str, float]]:
    """Each chosen project's features at its cut-off (or at `as_of` if that comes first). Impact effects come
    from snapshots every `snapshot_days` from `origin`: a project sees the last snapshot on or before its
    cut-off, computed from `projects` completed by then (never its own outcome, nor any later one)."""
    snapshots: dict[datetime, dict[str, float]] = {}
    out = {}
    for p in chosen:
        moment = min(p.cutoff, as_of) if as_of else p.cutoff
        steps = math.floor((moment - origin).total_seconds() / (snapshot_days * 86400))
        taken = origin + timedelta(days=snapshot_days * steps)
        if taken not in snapshots:
            snapshots[taken] = effects_as_of(projects, taken, seed=seed)
        out[p.project_id] = features(p, moment, artifact_effects=snapshots[taken])
    return out


@dataclass(frozen=True)
class FeatureTable:
    project_ids: tuple[str, ...]
    feature_names: tuple[str, ...]
    X: np.ndarray
    targets: dict[str, np.ndarray]
    start_dates: np.ndarray  # datetime64[s]
    problem_classes: tuple[str, ...]

    def rows(self, project_ids: Sequence[str]) -> np.ndarray:
        index = {p: i for i, p in enumerate(self.project_ids)}
        return np.array([index[p] for p in project_ids], dtype=int)


def feature_table(
    history: History, projects: Iterable[ProjectRecord] | None = None, *, snapshot_days: int = 30, seed: int = 0
) -> FeatureTable:
    """Features at each project's cut-off and its outcomes. Impact effects come from snapshots every
    `snapshot_days` from the tenant's origin: a project sees the last snapshot on or before its cut-off, computed
    from projects completed by then (never its own outcome, nor any later one)."""
    chosen = list(history.projects if projects is None else projects)
    vectors = cutoff_features(history.projects, chosen, origin=history.origin, snapshot_days=snapshot_days, seed=seed)
    rows = [[vectors[p.project_id][name] for name in FEATURE_NAMES] for p in chosen]
    return FeatureTable(
        tuple(p.project_id for p in chosen),
        FEATURE_NAMES,
        np.array(rows, dtype=float),
        {t: np.array([p.target(t) for p in chosen]) for t in TARGET_NAMES},
        np.array([p.start_date.replace(tzinfo=None) for p in chosen], dtype="datetime64[s]"),
        tuple(p.problem_class for p in chosen),
    )
