"""Meta-learning: a generated tenant history with known causes, leak-free features at the 14-day cut-off, outcome
models that beat the tenant mean and a ridge on held-out projects with calibrated intervals, and
recommendations that beat the most-popular baseline against the generator's ground truth.

The heavy part (training three targets on 600 projects, ~20-40 s on 2 cores) runs once per module."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from maestro.domain.artifacts import is_semver
from maestro.domain.meta.history import (
    CUTOFF_DAYS,
    FEATURE_NAMES,
    ArtifactUsage,
    Member,
    MetricRecord,
    artifact_effects_as_of,
    feature_table,
    features,
)
from maestro.domain.meta.synthetic import generate_history, more_projects
from maestro.domain.metrics import BUILT_IN_TYPES
from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass

PROJECT_DIR = Path(__file__).resolve().parents[2]
NOMINAL = {"80": 0.80, "90": 0.90}
TOLERANCE = 0.05
EXTRA_HELD_OUT = 3000


@pytest.fixture(scope="module")
def history():
    return generate_history(seed=0)


@pytest.fixture(scope="module")
def models(history):
    from maestro.ml.training import train_all

    return train_all(history, seed=0)


@pytest.fixture(scope="module")
def held_out(history, models):
    """The time holdout of the trained models (the latest 20% by start date)."""
    return [history.projects[i] for i in models["success_score"].holdout_index]


@pytest.fixture(scope="module")
def larger_held_out(history, held_out):
    """The 120 held-out projects plus 3000 more of the same tenant started in the same window: the coverage
    check's sampling error at 80% drops from ~3.7 points (120) to ~0.7, so a miss or a pass says something
    about the interval, not about which projects were drawn (~4 s to draw)."""
    extra = more_projects(
        history, EXTRA_HELD_OUT, start_from=held_out[0].start_date, start_to=held_out[-1].start_date, seed=1
    )
    return feature_table(history, held_out + extra)


def _ols(columns: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(y)), *columns])
    return np.linalg.lstsq(design, y, rcond=None)[0][1:]


# ---------------------------------------------------------------- the generator
def test_generator_is_deterministic_for_a_seed():
    assert generate_history(n_projects=40, n_artifacts=60, seed=3) == generate_history(
        n_projects=40, n_artifacts=60, seed=3
    )
    assert generate_history(n_projects=40, n_artifacts=60, seed=3) != generate_history(
        n_projects=40, n_artifacts=60, seed=4
    )


def test_generated_outcomes_follow_the_documented_causal_directions(history):
    projects = history.projects
    truth = history.ground_truth
    complexity = np.array([p.complexity_score for p in projects])
    duration = np.array([p.outcome.duration_days for p in projects])
    cost = np.array([p.outcome.compute_cost_usd for p in projects])
    success = np.array([p.success_score for p in projects])
    team = np.array([len(p.members) for p in projects])
    senior = np.array(
        [sum(m.experience in ("senior", "principal") for m in p.members) / len(p.members) for p in projects]
    )
    used = [{u.artifact_id for u in p.usages} for p in projects]
    good = np.array([len(u & truth.good_for_class[p.problem_class]) for u, p in zip(used, projects, strict=False)])
    accelerators = np.array([len(u & truth.accelerators) for u in used])
    gpu = np.array([p.problem_class in ("nlp", "computer_vision", "recommendation") for p in projects])
    early = [features(p) for p in projects]
    ci_rate = np.array([f["ci_success_rate"] for f in early])

    assert np.corrcoef(complexity, duration)[0, 1] > 0.3
    assert np.corrcoef(complexity, success)[0, 1] < -0.2
    assert np.corrcoef(np.log(cost), np.log(duration * team))[0, 1] > 0.5
    assert np.median((cost / (duration * team))[gpu]) > 2 * np.median((cost / (duration * team))[~gpu])
    assert np.corrcoef(ci_rate, success)[0, 1] > 0.2
    # with complexity held fixed: seniority and accelerators shorten projects, good artifacts raise success
    senior_effect, accelerator_effect = _ols([complexity, senior, accelerators], np.log(duration))[1:]
    assert senior_effect < 0 and accelerator_effect < 0
    assert _ols([complexity, good], success)[1] > 0


def test_generated_history_is_shaped_like_platform_records(history):
    assert len(history.projects) == 600 and len(history.artifacts) == 120
    starts = [p.start_date for p in history.projects]
    assert starts == sorted(starts) and (starts[-1] - starts[0]).days > 2.5 * 365
    by_id = {a.artifact_id: a for a in history.artifacts}
    for p in history.projects:
        assert ProblemClass(p.problem_class) and 1 <= p.complexity_score <= 10 and 0 <= p.success_score <= 100
        assert p.end_date <= history.now and p.description
        assert all(MemberRole(m.role) and ExperienceLevel(m.experience) for m in p.members)
        assert all(r.metric_type in BUILT_IN_TYPES and p.start_date <= r.recorded_at <= p.end_date for r in p.metrics)
        for u in p.usages:
            artifact = by_id[u.artifact_id]
            assert artifact.available(u.recorded_at) and u.version == artifact.version_at(u.recorded_at)
    assert all(is_semver(v) for a in history.artifacts for v, _ in a.versions)
    assert history.deprecated()  # some artifacts are retired ...
    truth = history.ground_truth
    helpful = truth.accelerators.union(*truth.good_for_class.values())
    assert not helpful & history.deprecated()  # ... never one that truly helps
    assert set(truth.relevance("nlp").values()) == {1, 2}


# ---------------------------------------------------------------- leakage
def test_features_ignore_everything_recorded_after_the_cutoff(history):
    project = history.projects[100]
    after = project.cutoff + timedelta(hours=1)
    planted = replace(
        project,
        metrics=project.metrics
        + (
            MetricRecord("commits", 10_000.0, after, "intruder"),
            MetricRecord("pipeline_success", 0.0, after),
            MetricRecord("pr_merge_hours", 5_000.0, after),
            MetricRecord("experiment_run", 999.0, after),
        ),
        members=project.members + (Member("intruder", "ml_engineer", "principal", 40.0, after),),
        usages=project.usages
        + (ArtifactUsage(project.project_id, history.artifacts[0].artifact_id, "1.0.0", after, False),),
        outcome=replace(project.outcome, duration_days=1.0, compute_cost_usd=1.0, model_performance=1.0),
        success_score=100.0,
        end_date=project.cutoff + timedelta(days=1),
    )
    assert features(planted) == features(project)

    # the same record one hour before the cut-off does reach the features: the test above can see a leak
    before = replace(
        project,
        metrics=project.metrics + (MetricRecord("commits", 10_000.0, project.cutoff - timedelta(hours=1), "intruder"),),
    )
    assert features(before)["commits_per_week"] > features(project)["commits_per_week"] + 1000


def test_features_as_of_an_earlier_moment_see_less(history):
    project = history.projects[100]
    assert CUTOFF_DAYS == 14 and set(features(project)) == set(FEATURE_NAMES)
    day_one = features(project, project.start_date + timedelta(days=1))
    assert day_one["ci_runs"] < features(project)["ci_runs"]


def test_published_artifact_effects_never_use_projects_completed_after_the_snapshot(history):
    moment = history.projects[300].start_date
    later_ones_zeroed = replace(
        history, projects=tuple(replace(p, success_score=0.0) if p.end_date > moment else p for p in history.projects)
    )
    assert artifact_effects_as_of(later_ones_zeroed, moment) == artifact_effects_as_of(history, moment)


# ---------------------------------------------------------------- outcome models
# The held-out figures are judged on the larger held-out set (the 120-project time holdout plus 3000 projects of
# the same tenant started in the same window). On 120 projects alone the standard error of a model-vs-ridge MAE
# difference (~0.3 points) is as large as the difference, and a perfectly calibrated 80% interval lands
# outside 75-85% about one time in six; the 120-project figures are in `metrics` and benchmarks/meta_eval.py.
# 720 projects were not enough either: this tenant's 80% cost interval measured 74.6% on them, yet 13 further
# independent draws of 3000 projects put it at 75.6-78.0% (mean 77.1%) - the 720 figure was 2.5 points of draw.
@pytest.mark.parametrize("target", ["success_score", "duration_days"])
def test_model_beats_tenant_mean_and_ridge_on_held_out_projects(models, larger_held_out, target):
    model = models[target]
    assert model.metrics["split"] == {
        "rule": "time: the latest projects by start date",
        "train": 480,
        "holdout": 120,
        "cv_folds": 5,
    }
    held_out = model.evaluate(larger_held_out.X, larger_held_out.targets[target])
    assert held_out["model"]["mae"] < held_out["baselines"]["tenant_mean"]["mae"]
    assert held_out["model"]["mae"] < held_out["baselines"]["ridge"]["mae"]


def test_cost_model_beats_the_tenant_mean_in_dollars(models, larger_held_out):
    model = models["compute_cost_usd"]
    # on the log1p scale, whether the searched ensemble or (when it did not beat it on the hold-out) the ridge serves
    assert all(member["space"] == "log1p" for member in model.to_dict()["selected"])
    held_out = model.evaluate(larger_held_out.X, larger_held_out.targets["compute_cost_usd"])
    assert held_out["model"]["mae"] < 0.6 * held_out["baselines"]["tenant_mean"]["mae"]
    assert held_out["model"]["r2"] > 0.5


@pytest.mark.parametrize(
    "target, level",
    [
        ("success_score", "80"),
        ("success_score", "90"),
        ("duration_days", "80"),
        ("duration_days", "90"),
        ("compute_cost_usd", "80"),
        ("compute_cost_usd", "90"),
    ],
)
def test_interval_coverage_is_within_five_points_of_nominal(models, larger_held_out, target, level):
    held_out = models[target].evaluate(larger_held_out.X, larger_held_out.targets[target])
    assert held_out["projects"] == 120 + EXTRA_HELD_OUT
    assert abs(held_out["coverage"][level] - NOMINAL[level]) <= TOLERANCE, held_out["coverage"]


def test_predictions_come_with_ordered_intervals_and_a_json_summary(models, larger_held_out):
    model = models["duration_days"]
    point, intervals = model.predict(larger_held_out.X[:50])
    assert point.shape == (50,) and set(intervals) == {"80", "90"}
    for low, high in intervals.values():
        assert np.all(low <= high) and np.all(low > 0)
    assert np.mean(intervals["90"][1] - intervals["90"][0]) > np.mean(intervals["80"][1] - intervals["80"][0])
    summary = json.loads(json.dumps(model.to_dict()))
    assert math.isclose(sum(member["weight"] for member in summary["selected"]), 1.0)
    assert {c["name"] for c in summary["metrics"]["candidates"]} >= {m["name"] for m in summary["selected"]}
    assert len(summary["feature_importances"]) == 10
    assert "complexity_score" in [f["feature"] for f in summary["feature_importances"][:5]]


# ---------------------------------------------------------------- recommendations
@pytest.fixture(scope="module")
def recommendation_split(history):
    cut = int(len(history.projects) * 0.8)
    return list(history.projects[:cut]), list(history.projects[cut:])


@pytest.mark.parametrize("with_similarity", [False, True])
def test_recommendations_beat_most_popular_on_held_out_projects(history, recommendation_split, with_similarity):
    from maestro.ml.recommend import description_overlap, evaluate_recommendations, learn_recommender

    learned_from, held = recommendation_split
    similarity = (lambda p: description_overlap(p.description, history.artifacts)) if with_similarity else None
    fitted = learn_recommender(history, learned_from, similarity=similarity, seed=0)
    figures = evaluate_recommendations(fitted.recommender, history, learned_from, held, similarity=similarity)
    assert figures["projects"] == 120
    assert figures["ndcg_at_10"] > figures["most_popular_ndcg_at_10"] + 0.2
    assert figures["ndcg_at_10"] > figures["most_popular_in_class_ndcg_at_10"] + 0.2


def test_recommendations_never_include_deprecated_artifacts_and_explain_themselves(history, recommendation_split):
    from maestro.ml.recommend import ArtifactRecommender, most_popular

    learned_from, held = recommendation_split
    recommender = ArtifactRecommender(history, learned_from)
    gone = history.deprecated()
    for project in held[:20]:
        ranked = recommender.recommend(features(project), top_n=len(history.artifacts))
        assert ranked and not {r["artifact_id"] for r in ranked} & gone
        assert set(ranked[0]["reasons"]) == {"co_usage", "impact", "similarity"}
        assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert not set(most_popular(history, learned_from)) & gone


def test_where_the_learned_blend_ties_similarity_then_impact_decide(history, recommendation_split):
    """A freshly trained workspace's plan page showed three suggestions all scored 0 (no similar project had
    used them, and the learned weights put nothing on impact or similarity) in catalogue order: ties now fall to
    the content similarity, then the impact."""
    from maestro.ml.recommend import ArtifactRecommender, BlendWeights

    learned_from, held = recommendation_split
    recommender = ArtifactRecommender(history, learned_from, BlendWeights(impact=0.0, similarity=0.0, neighbours=5))
    profile = features(held[0])
    parts = recommender.components(profile)
    never_used = [a for a, c in zip(recommender.artifact_ids, parts["co_usage"], strict=True) if c == 0]
    assert len(never_used) >= 3
    similarity = {never_used[-1]: 0.4, never_used[-2]: 0.2}  # the catalogue's last two zero-score candidates
    exclude = set(recommender.artifact_ids) - set(never_used)
    ranked = recommender.recommend(profile, similarity=similarity, top_n=len(never_used), exclude=exclude)
    assert all(r["score"] == 0 for r in ranked)
    assert [r["artifact_id"] for r in ranked[:2]] == [never_used[-1], never_used[-2]]
    rest = [r["reasons"]["impact"] for r in ranked[2:]]
    assert rest == sorted(rest, reverse=True)


def test_team_recommendation_is_at_least_as_good_as_the_current_plan(models, held_out):
    from maestro.ml.recommend import recommend_team, team_shapes

    improved = 0
    for project in held_out[:10]:
        profile = features(project)
        for shape in team_shapes(profile):
            assert sum(shape["experience"].values()) == sum(shape["roles"].values()) == shape["team_size"] >= 2
        advice = recommend_team(models["duration_days"], models["success_score"], profile)
        current, best = advice["current"]["predicted"], advice["best"]["predicted"]
        assert advice["current"]["shape"]["team_size"] == project.team_size
        assert best["duration_days"] <= current["duration_days"]
        assert best["success_score"] >= current["success_score"]
        assert advice["considered"] > 10
        improved += advice["improvement"]["in_holdout_mae_units"] > 0
    assert improved >= 5


# ---------------------------------------------------------------- cold path
def test_the_domain_generator_does_not_import_scikit_learn():
    probe = "import sys, maestro.domain.meta.history, maestro.domain.meta.synthetic, maestro.ml.recommend; print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert result.stdout.strip() == "False"
