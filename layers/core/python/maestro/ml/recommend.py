"""Recommendations learned from a tenant's history: which artifacts to plan for a new project, and which team
shape the outcome models expect to do best.

Artifacts. A project profile (its feature vector, `maestro.domain.meta.history.features`) is scored against
every artifact that is not deprecated, as a blend of three terms:

* co_usage: among the `neighbours` completed projects most similar to the profile (Euclidean distance on
  standardised planning-time features: problem class, complexity, log team size, experience and role shares —
  early metrics are not known when a project is planned), the share of projects that used the artifact,
  each project weighted by exp((success - mean) / sd) of its success score: what similar projects used,
  tilted toward those that went well. In [0, 1].
* impact: (score - 50) / 50 of the artifact's impact score (maestro.domain.impact.compute_impact_scores over
  the same completed projects), in [-1, 1]; 0 for an artifact no completed project used.
* similarity: a content similarity given per artifact (the embedding layer's cosine in production;
  `description_overlap` is a token-overlap stand-in), 0 where none is given.

score = co_usage + w_impact * impact + w_similarity * similarity. The weights and the neighbourhood size are
learned by a grid search (`BLEND_GRID`) maximising mean nDCG@10 against ground-truth relevance on a validation
split: the recommender is fitted on the earlier 75% of the given projects (by start date) and ranks for the
later 25%; the chosen setting is then refitted on all of them. `most_popular` is the baseline: artifacts by how
many projects used them.

Teams. `recommend_team` predicts duration and success for candidate team shapes (people per experience level
and role: one or two people more, fewer or a level up; one person in another role; `team_shapes`) with the
trained outcome models and returns the best shape that is predicted no worse than the current plan on either
outcome (the current plan always qualifies), ranked by the sum of both improvements, each in units of that
model's holdout MAE. A what-if on the features: early commit volume and contributors scale with team size,
other early metrics stay as observed; shapes far from the tenant's history are extrapolations. Staffing cost
is not weighed: a larger or more senior team is never free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from maestro.domain.artifacts import tokens
from maestro.domain.impact import compute_impact_scores
from maestro.domain.meta.history import FEATURE_NAMES, History, ProjectRecord, feature_table, features, impact_inputs
from maestro.domain.projects import ExperienceLevel, MemberRole
from maestro.domain.retrieval import ndcg_at_k

K = 10
PROFILE_FEATURES = tuple(
    name
    for name in FEATURE_NAMES
    if name.startswith(("class_", "experience_", "role_")) or name in ("complexity_score", "log_team_size")
)
BLEND_GRID = {
    "impact": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
    "similarity": (0.0, 0.5, 1.0, 2.0, 4.0),
    "neighbours": (10, 20, 50),
}
VALIDATION_FRACTION = 0.25
SimilarityFn = Callable[[ProjectRecord], Mapping[str, float]]
_STOPWORDS = frozenset("a an and as at by for from in of on or the to with any projects project work".split())


@dataclass(frozen=True)
class BlendWeights:
    impact: float = 1.0
    similarity: float = 0.0
    neighbours: int = 20
    co_usage: float = 1.0  # the unit the other weights are measured in


def description_overlap(text: str, artifacts: Iterable[Any]) -> dict[str, float]:
    """Token overlap of a project description with each artifact's name and description: |shared| / |project
    words| (stopwords dropped). A stand-in for the embedding similarity in tests and benchmarks."""
    words = {t for t in tokens(text) if t not in _STOPWORDS and len(t) > 2}
    if not words:
        return {}
    out = {}
    for artifact in artifacts:
        theirs = set(tokens(f"{artifact.name.replace('-', ' ')} {artifact.description}"))
        out[artifact.artifact_id] = len(words & theirs) / len(words)
    return out


def most_popular(
    history: History, projects: Iterable[ProjectRecord] | None = None, *, problem_class: str | None = None
) -> list[str]:
    """Artifact ids by the number of projects that used them (most first, then id), deprecated ones left out;
    with `problem_class`, counting only projects of that class (a stronger baseline than the global one)."""
    counts: dict[str, int] = {}
    for p in history.projects if projects is None else projects:
        if problem_class is not None and p.problem_class != problem_class:
            continue
        for artifact_id in {u.artifact_id for u in p.usages}:
            counts[artifact_id] = counts.get(artifact_id, 0) + 1
    gone = history.deprecated()
    return sorted((a for a in counts if a not in gone), key=lambda a: (-counts[a], a))


class ArtifactRecommender:
    """Scores artifacts for a project profile from the completed projects it was fitted on."""

    def __init__(
        self,
        history: History,
        projects: Sequence[ProjectRecord],
        weights: BlendWeights = BlendWeights(),
        *,
        seed: int = 0,
    ) -> None:
        projects = list(projects)
        if not projects:
            raise ValueError("a recommender needs at least one completed project")
        self.weights = weights
        gone = history.deprecated()
        self.artifact_ids = [a.artifact_id for a in history.artifacts if a.artifact_id not in gone]
        column = {a: j for j, a in enumerate(self.artifact_ids)}
        table = feature_table(history, projects, seed=seed)
        profile_columns = [table.feature_names.index(name) for name in PROFILE_FEATURES]
        X = table.X[:, profile_columns]
        self._mean, self._scale = X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        self._X = (X - self._mean) / self._scale
        success = table.targets["success_score"]
        self._weight = np.exp((success - success.mean()) / max(float(success.std()), 1e-9))
        self._used = np.zeros((len(projects), len(self.artifact_ids)))
        for i, p in enumerate(projects):
            for u in p.usages:
                if u.artifact_id in column:
                    self._used[i, column[u.artifact_id]] = 1.0
        impacts = compute_impact_scores(
            *impact_inputs(projects), bootstrap_samples=10, seed=seed, artifact_ids=self.artifact_ids
        )
        self._impact = np.array([(impacts[a].score - 50.0) / 50.0 for a in self.artifact_ids])
        self._impact_scores = {a: impacts[a].score for a in self.artifact_ids}

    def state(self) -> dict[str, Any]:
        """What serving needs, JSON-able (usage as column lists: the matrix is sparse)."""
        return {
            "artifact_ids": self.artifact_ids,
            "profile_features": list(PROFILE_FEATURES),
            "weights": {
                "impact": self.weights.impact,
                "similarity": self.weights.similarity,
                "neighbours": self.weights.neighbours,
                "co_usage": self.weights.co_usage,
            },
            "mean": self._mean.tolist(),
            "scale": self._scale.tolist(),
            "X": self._X.round(6).tolist(),
            "project_weight": self._weight.round(6).tolist(),
            "used": [np.flatnonzero(row).tolist() for row in self._used],
            "impact": self._impact.round(6).tolist(),
            "impact_scores": self._impact_scores,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ArtifactRecommender:
        """A recommender as `state()` saved it (the request path: numpy only, nothing recomputed)."""
        if list(state["profile_features"]) != list(PROFILE_FEATURES):
            raise ValueError("the saved recommender was fitted on other profile features")
        self = cls.__new__(cls)
        self.weights = BlendWeights(**state["weights"])
        self.artifact_ids = list(state["artifact_ids"])
        self._mean, self._scale = np.asarray(state["mean"]), np.asarray(state["scale"])
        self._X, self._weight = np.asarray(state["X"]), np.asarray(state["project_weight"])
        self._used = np.zeros((len(self._X), len(self.artifact_ids)))
        for i, columns in enumerate(state["used"]):
            self._used[i, columns] = 1.0
        self._impact = np.asarray(state["impact"])
        self._impact_scores = dict(state["impact_scores"])
        return self

    def components(
        self, profile: Mapping[str, float], similarity: Mapping[str, float] | None = None, neighbours: int | None = None
    ) -> dict[str, np.ndarray]:
        """co_usage, impact and similarity of every candidate artifact (order: `artifact_ids`)."""
        k = min(neighbours or self.weights.neighbours, len(self._X))
        x = (np.array([float(profile[name]) for name in PROFILE_FEATURES]) - self._mean) / self._scale
        distance = np.sum((self._X - x) ** 2, axis=1)
        nearest = np.argsort(distance, kind="stable")[:k]
        w = self._weight[nearest]
        co_usage = (w[:, None] * self._used[nearest]).sum(axis=0) / w.sum()
        sim = np.array([float((similarity or {}).get(a, 0.0)) for a in self.artifact_ids])
        return {"co_usage": co_usage, "impact": self._impact, "similarity": sim}

    def recommend(
        self,
        profile: Mapping[str, float],
        *,
        similarity: Mapping[str, float] | None = None,
        top_n: int = K,
        exclude: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """The top_n artifacts for the profile, best first: [{artifact_id, score, reasons: {co_usage, impact,
        similarity}}]; deprecated artifacts and `exclude` never appear."""
        parts = self.components(profile, similarity)
        score = blend(parts, self.weights)
        skip = set(exclude)
        order = [j for j in ranking_order(parts, score) if self.artifact_ids[j] not in skip][:top_n]
        return [
            {
                "artifact_id": self.artifact_ids[j],
                "score": round(float(score[j]), 4),
                "reasons": {
                    "co_usage": round(float(parts["co_usage"][j]), 4),
                    "impact": round(self._impact_scores[self.artifact_ids[j]], 2),
                    "similarity": round(float(parts["similarity"][j]), 4),
                },
            }
            for j in order
        ]


def blend(parts: Mapping[str, np.ndarray], weights: BlendWeights) -> np.ndarray:
    return (
        weights.co_usage * parts["co_usage"]
        + weights.impact * parts["impact"]
        + weights.similarity * parts["similarity"]
    )


def ranking_order(parts: Mapping[str, np.ndarray], score: np.ndarray) -> np.ndarray:
    """Candidates best first: by the blended score, then (where the learned weights leave them tied, e.g. every
    co-usage 0 for a profile unlike the history) by content similarity, then impact, then catalogue order."""
    return np.lexsort((-parts["impact"], -parts["similarity"], -score))


def _ranked(ids: Sequence[str], parts: Mapping[str, np.ndarray], score: np.ndarray) -> list[str]:
    return [ids[j] for j in ranking_order(parts, score)[:K]]


@dataclass
class FittedRecommender:
    recommender: ArtifactRecommender
    validation: dict[str, Any] = field(default_factory=dict)


def observed_relevance(fit: Sequence[ProjectRecord]) -> Callable[[ProjectRecord], dict[str, int]]:
    """Relevance a real tenant can observe (it has no generator's ground truth): what a validation project
    actually used, graded by how the project went against the fitted projects' success terciles — 2 in the top
    third, 1 in the middle, nothing in the bottom third (being used by a project that went badly is no evidence
    of value). Why this grading and not another: docs/meta-learning.md, "Measured"."""
    scores = np.array([p.success_score for p in fit], dtype=float)
    low, high = np.quantile(scores, [1 / 3, 2 / 3]) if len(scores) else (0.0, 0.0)

    def relevance(project: ProjectRecord) -> dict[str, int]:
        score = project.success_score
        if score is None or score < low:
            return {}
        grade = 2 if score >= high else 1
        return {u.artifact_id: grade for u in project.usages}

    return relevance


def learn_recommender(
    history: History,
    projects: Sequence[ProjectRecord],
    *,
    similarity: SimilarityFn | None = None,
    seed: int = 0,
    relevance: Callable[[ProjectRecord], Mapping[str, int]] | None = None,
) -> FittedRecommender:
    """Choose the blend weights and neighbourhood on a validation split of `projects` (by start date, the
    latest VALIDATION_FRACTION), against `relevance` (default: the history's ground truth for the project's
    class); refit on all of `projects`."""
    ordered = sorted(projects, key=lambda p: (p.start_date, p.project_id))
    cut = int(round(len(ordered) * (1 - VALIDATION_FRACTION)))
    fit, validation = ordered[:cut], ordered[cut:]
    inner = ArtifactRecommender(history, fit, seed=seed)
    if relevance is None:
        truth = [history.known_truth().relevance(p.problem_class) for p in validation]
    else:
        truth = [dict(relevance(p)) for p in validation]
    profiles = [features(p) for p in validation]
    sims = [similarity(p) if similarity else None for p in validation]
    similarity_grid = BLEND_GRID["similarity"] if similarity else (0.0,)
    results = []
    for neighbours in BLEND_GRID["neighbours"]:
        parts = [inner.components(profile, sim, int(neighbours)) for profile, sim in zip(profiles, sims, strict=False)]
        for w_impact, w_similarity in product(BLEND_GRID["impact"], similarity_grid):
            weights = BlendWeights(w_impact, w_similarity, int(neighbours))
            ndcg = float(
                np.mean(
                    [
                        ndcg_at_k(_ranked(inner.artifact_ids, part, blend(part, weights)), grades, K)
                        for part, grades in zip(parts, truth, strict=False)
                    ]
                )
            )
            results.append((ndcg, weights))
    best_ndcg, best = max(results, key=lambda r: r[0])  # first of equals: the grid's order
    popular = most_popular(history, fit)[:K]
    validation_figures = {
        "fit_projects": len(fit),
        "validation_projects": len(validation),
        "ndcg_at_10": round(best_ndcg, 4),
        "most_popular_ndcg_at_10": round(float(np.mean([ndcg_at_k(popular, g, K) for g in truth])), 4),
        "weights": {
            "co_usage": best.co_usage,
            "impact": best.impact,
            "similarity": best.similarity,
            "neighbours": best.neighbours,
        },
    }
    return FittedRecommender(ArtifactRecommender(history, ordered, best, seed=seed), validation_figures)


def evaluate_recommendations(
    recommender: ArtifactRecommender,
    history: History,
    learned_from: Sequence[ProjectRecord],
    held_out: Sequence[ProjectRecord],
    *,
    similarity: SimilarityFn | None = None,
) -> dict[str, float]:
    """Mean nDCG@10 on held-out projects, against the generator's ground truth for each project's class, of the
    recommender and of two baselines counted over `learned_from`: the most popular artifacts overall, and the
    most popular among projects of the held-out project's class."""
    popular = most_popular(history, learned_from)[:K]
    by_class: dict[str, list[str]] = {}
    ours, overall, in_class = [], [], []
    for p in held_out:
        grades = history.known_truth().relevance(p.problem_class)
        ranked = [
            r["artifact_id"]
            for r in recommender.recommend(features(p), similarity=similarity(p) if similarity else None)
        ]
        if p.problem_class not in by_class:
            by_class[p.problem_class] = most_popular(history, learned_from, problem_class=p.problem_class)[:K]
        ours.append(ndcg_at_k(ranked, grades, K))
        overall.append(ndcg_at_k(popular, grades, K))
        in_class.append(ndcg_at_k(by_class[p.problem_class], grades, K))
    return {
        "projects": len(held_out),
        "ndcg_at_10": round(float(np.mean(ours)), 4),
        "most_popular_ndcg_at_10": round(float(np.mean(overall)), 4),
        "most_popular_in_class_ndcg_at_10": round(float(np.mean(in_class)), 4),
    }


# ---------------------------------------------------------------- team shapes
LEVELS = tuple(level.value for level in ExperienceLevel)
ROLES = tuple(role.value for role in MemberRole)
LEVEL_UP = {"junior": "mid", "mid": "senior", "senior": "principal"}
ADDED_LEVELS = ("junior", "mid", "senior")
ADDED_ROLES = ("ml_engineer", "data_engineer", "ml_scientist")


def _counts(profile: Mapping[str, float], prefix: str, names: Sequence[str], size: int) -> dict[str, int]:
    """People per level or role in a team of `size`, from the profile's shares (largest remainders)."""
    raw = {n: float(profile[f"{prefix}_{n}_share"]) * size for n in names}
    counts = {n: int(math.floor(v + 1e-9)) for n, v in raw.items()}
    for n in sorted(raw, key=lambda n: (-(raw[n] - counts[n]), names.index(n)))[: max(size - sum(counts.values()), 0)]:
        counts[n] += 1
    return counts


def _changed(counts: Mapping[str, int], **delta: int) -> dict[str, int] | None:
    out = dict(counts)
    for name, change in delta.items():
        out[name] += change
    return out if min(out.values()) >= 0 else None


def _shape(levels: Mapping[str, int], roles: Mapping[str, int]) -> dict[str, Any]:
    return {"team_size": sum(levels.values()), "experience": dict(levels), "roles": dict(roles)}


def current_shape(profile: Mapping[str, float]) -> dict[str, Any]:
    """The planned team as people per experience level and per role."""
    size = int(round(profile["team_size"]))
    return _shape(_counts(profile, "experience", LEVELS, size), _counts(profile, "role", ROLES, size))


def team_shapes(profile: Mapping[str, float], *, min_size: int = 2, max_size: int = 12) -> list[dict[str, Any]]:
    """Candidate shapes around the planned team (people per level and role): the same size with one or two
    people a level up, or one person moved to the ML engineer or data engineer role; one or two more people of
    one level (junior, mid, senior) in one role (ML engineer, data engineer, ML scientist); one or two fewer of
    one level, taken from the largest role."""
    plan = current_shape(profile)
    levels, roles = plan["experience"], plan["roles"]
    largest_role = max(ROLES, key=lambda r: (roles[r], -ROLES.index(r)))
    shapes = []
    for people in (1, 2):
        for source, target in LEVEL_UP.items():
            moved = _changed(levels, **{source: -people, target: people})
            if moved:
                shapes.append(_shape(moved, roles))
    for target in ("ml_engineer", "data_engineer"):
        moved = _changed(roles, **{largest_role: -1, target: 1}) if target != largest_role else None
        if moved:
            shapes.append(_shape(levels, moved))
    for people in (1, 2):
        if plan["team_size"] + people <= max_size:
            shapes += [
                _shape({**levels, level: levels[level] + people}, {**roles, role: roles[role] + people})
                for level, role in product(ADDED_LEVELS, ADDED_ROLES)
            ]
        if plan["team_size"] - people >= min_size:
            for level in LEVELS:
                fewer, smaller_roles = _changed(levels, **{level: -people}), _changed(roles, **{largest_role: -people})
                if fewer and smaller_roles:
                    shapes.append(_shape(fewer, smaller_roles))
    return shapes


def apply_shape(profile: Mapping[str, float], shape: Mapping[str, Any]) -> dict[str, float]:
    """The profile with the team shape (people per level and role) in place; see the module docstring for what
    scales with size."""
    out = dict(profile)
    size = shape["team_size"]
    ratio = size / max(float(profile["team_size"]), 1.0)
    out["team_size"] = float(size)
    out["log_team_size"] = math.log(max(size, 1))
    for level, people in shape["experience"].items():
        out[f"experience_{level}_share"] = people / size
    for role, people in shape["roles"].items():
        out[f"role_{role}_share"] = people / size
    out["commits_per_week"] = float(profile["commits_per_week"]) * ratio
    out["contributors"] = float(profile["contributors"]) * ratio
    return out


def recommend_team(
    model_duration: Any,
    model_success: Any,
    profile: Mapping[str, float],
    candidates: Sequence[Mapping[str, Any]] | None = None,
    success_profile: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The best candidate team shape beside the current plan, each with predicted duration and success (point
    and 80%/90% intervals). `model_*` are maestro.ml.training.TargetModel or served models; `profile` is the plan's
    vector as the duration model reads it and `success_profile` as the success model does (imputed features sit
    at each model's own training mean; default: `profile`). The current plan is predicted from those vectors
    unchanged, so its figures are the ones POST /v1/predictions gives for the same plan; `candidates` (shapes as
    `team_shapes` returns them) default to `team_shapes(profile)`."""
    success_profile = profile if success_profile is None else success_profile
    shapes = [current_shape(profile)] + list(candidates if candidates is not None else team_shapes(profile))
    duration_rows = np.vstack(
        [model_duration.vector(profile)] + [model_duration.vector(apply_shape(profile, s)) for s in shapes[1:]]
    )
    success_rows = np.vstack(
        [model_success.vector(success_profile)]
        + [model_success.vector(apply_shape(success_profile, s)) for s in shapes[1:]]
    )
    duration, duration_intervals = model_duration.predict(duration_rows)
    success, success_intervals = model_success.predict(success_rows)
    duration_scale = max(float(model_duration.metrics["holdout"]["mae"]), 1e-9)
    success_scale = max(float(model_success.metrics["holdout"]["mae"]), 1e-9)
    gain = (success - success[0]) / success_scale + (duration[0] - duration) / duration_scale
    admissible = (success >= success[0]) & (duration <= duration[0])
    best = int(np.flatnonzero(admissible)[np.argmax(gain[admissible])])  # index 0 (the plan) always qualifies

    def outcome(i: int) -> dict[str, Any]:
        # rounded as predictions are (4 places), so the plan's figures match POST /v1/predictions exactly
        return {
            "shape": shapes[i],
            "predicted": {
                "duration_days": round(float(duration[i]), 4),
                "duration_80": [round(float(b[i]), 4) for b in duration_intervals["80"]],
                "duration_90": [round(float(b[i]), 4) for b in duration_intervals["90"]],
                "success_score": round(float(success[i]), 4),
                "success_80": [round(float(b[i]), 4) for b in success_intervals["80"]],
                "success_90": [round(float(b[i]), 4) for b in success_intervals["90"]],
            },
        }

    return {
        "current": outcome(0),
        "best": outcome(best),
        "improvement": {
            "success_points": round(float(success[best] - success[0]), 2),
            "days_saved": round(float(duration[0] - duration[best]), 2),
            "in_holdout_mae_units": round(float(gain[best]), 3),
        },
        "considered": len(shapes),
    }
