"""Artifact impact scores: a tenant history with known, confounded effects, where the regression recovers the
effects and their order and a plain average does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maestro.domain.impact import (
    INSUFFICIENT_DATA,
    RIDGE_REGRESSION,
    SHRUNKEN_MEAN,
    CompletedProject,
    Usage,
    compute_impact_scores,
    plain_average_scores,
)

TRUE_EFFECTS = {"A_good": 12.0, "B_good": 6.0, "C_neutral": 0.0, "D_bad": -8.0}
CLASS_BASELINE = {"tabular": 55.0, "vision": 68.0, "nlp": 50.0, "forecasting": 45.0}
FILLERS = [f"filler_{i:02d}" for i in range(20)]  # used at random, no effect


def tenant_history(seed: int = 0, n_projects: int = 300) -> tuple[list[CompletedProject], list[Usage]]:
    """Completed projects whose success = class baseline - 2.5 per complexity point + 2 log(team) + the true
    effects of the artifacts used + noise (sd 8). Confounded: C_neutral is used mostly by simple vision
    projects (the best-scoring kind), B_good mostly by complex ones. Also: E_rare is used by exactly two
    completed projects, F_unused only by a project still in progress, and A_good is recorded twice per project
    (two versions)."""
    rng = np.random.default_rng(seed)
    classes = list(CLASS_BASELINE)
    projects, usages = [], []
    for i in range(n_projects):
        project_id = f"p{i:03d}"
        problem_class = classes[rng.integers(len(classes))]
        complexity = float(rng.uniform(1, 10))
        team_size = int(rng.integers(1, 13))
        simple = complexity < 5
        use_probability = {
            "A_good": 0.4,
            "B_good": 0.2 if simple else 0.5,
            "D_bad": 0.35,
            "C_neutral": 0.8 if (problem_class == "vision" and simple) else 0.05,
        }
        used = [a for a, chance in use_probability.items() if rng.random() < chance]
        used += [a for a in FILLERS if rng.random() < 0.1]
        success = (
            CLASS_BASELINE[problem_class]
            - 2.5 * (complexity - 5)
            + 2.0 * math.log(team_size)
            + sum(TRUE_EFFECTS.get(a, 0.0) for a in used)
            + rng.normal(0, 8)
        )
        projects.append(
            CompletedProject(project_id, float(np.clip(success, 0, 100)), problem_class, complexity, team_size)
        )
        usages += [Usage(project_id, a) for a in used]
        usages += [Usage(project_id, "A_good")] if "A_good" in used else []  # a second version
    usages += [Usage(projects[i].project_id, "E_rare") for i in rng.choice(n_projects, 2, replace=False)]
    usages.append(Usage("p-in-progress", "F_unused"))
    return projects, usages


@pytest.fixture(scope="module")
def history():
    return tenant_history(seed=0)


@pytest.fixture(scope="module")
def scores(history):
    return compute_impact_scores(*history, confidence=0.95)


def test_impact_ranks_truly_helpful_artifacts_above_neutral_and_harmful(scores):
    ranked = sorted(TRUE_EFFECTS, key=lambda a: scores[a].score, reverse=True)
    assert ranked == ["A_good", "B_good", "C_neutral", "D_bad"]
    assert all(scores[a].method == RIDGE_REGRESSION for a in TRUE_EFFECTS)


def test_effect_intervals_cover_the_true_effects(scores):
    for artifact_id, true_effect in TRUE_EFFECTS.items():
        score = scores[artifact_id]
        assert score.effect_ci_low <= true_effect <= score.effect_ci_high, (artifact_id, score)


def test_plain_average_credits_the_confounded_artifact(history, scores):
    projects, usages = history
    plain = plain_average_scores(projects, usages)
    tenant_mean = float(np.mean([p.success_score for p in projects]))
    # The neutral artifact of easy projects outranks a truly helpful one, so the order is wrong ...
    assert plain["C_neutral"] > plain["B_good"]
    assert sorted(TRUE_EFFECTS, key=plain.get, reverse=True) != ["A_good", "B_good", "C_neutral", "D_bad"]
    # ... and its implied effect is far outside what the regression allows; the true 0 is inside.
    plain_effect = plain["C_neutral"] - tenant_mean
    assert plain_effect > 5 and plain_effect > scores["C_neutral"].effect_ci_high
    assert scores["C_neutral"].effect_ci_low <= 0 <= scores["C_neutral"].effect_ci_high


def test_intervals_cover_true_effects_at_about_the_stated_rate():
    # 90% intervals over 40 independent histories: each artifact's truth is inside in most of them.
    covered = {a: 0 for a in TRUE_EFFECTS}
    for seed in range(1, 41):
        scores = compute_impact_scores(*tenant_history(seed), bootstrap_samples=100, seed=seed)
        for artifact_id, true_effect in TRUE_EFFECTS.items():
            covered[artifact_id] += (
                scores[artifact_id].effect_ci_low <= true_effect <= scores[artifact_id].effect_ci_high
            )
    assert all(count >= 30 for count in covered.values()), covered


def test_artifact_with_few_projects_gets_a_mean_shrunk_toward_the_tenant_mean(history, scores):
    projects, usages = history
    rare = scores["E_rare"]
    assert rare.method == SHRUNKEN_MEAN and rare.completed_projects == 2
    raw_mean = plain_average_scores(projects, usages)["E_rare"]
    tenant_mean = float(np.mean([p.success_score for p in projects]))
    estimate = tenant_mean + rare.effect
    assert min(raw_mean, tenant_mean) <= estimate <= max(raw_mean, tenant_mean)
    assert abs(estimate - tenant_mean) < abs(raw_mean - tenant_mean)
    assert rare.effect_ci_low < rare.effect < rare.effect_ci_high
    assert "shrunk toward the tenant mean" in rare.explanation


def test_artifact_without_completed_projects_is_insufficient_data(history, scores):
    unused = scores["F_unused"]
    assert unused.method == INSUFFICIENT_DATA and unused.completed_projects == 0
    assert (unused.score, unused.ci_low, unused.ci_high) == (50.0, 0.0, 100.0)
    registered_only = compute_impact_scores(*history, bootstrap_samples=20, artifact_ids=["G_never_used"])
    assert registered_only["G_never_used"].method == INSUFFICIENT_DATA


def test_scores_lie_in_0_100_with_the_score_inside_its_interval(scores):
    for score in scores.values():
        assert 0.0 <= score.ci_low <= score.score <= score.ci_high <= 100.0, score
        if score.method != INSUFFICIENT_DATA:
            assert score.effect_ci_low <= score.effect <= score.effect_ci_high, score


def test_scores_rank_like_effects(scores):
    estimated = [s for s in scores.values() if s.method != INSUFFICIENT_DATA]
    assert sorted(estimated, key=lambda s: s.score) == sorted(estimated, key=lambda s: s.effect)


def test_same_seed_gives_the_same_scores(history):
    first = compute_impact_scores(*history, bootstrap_samples=50, seed=3)
    again = compute_impact_scores(*history, bootstrap_samples=50, seed=3)
    other = compute_impact_scores(*history, bootstrap_samples=50, seed=4)
    assert first == again
    assert first["A_good"].effect == other["A_good"].effect  # only the bootstrap draws depend on the seed
    assert first["A_good"].effect_ci_low != other["A_good"].effect_ci_low


def test_versions_of_one_artifact_in_one_project_count_once(history):
    projects, usages = history
    once = list(dict.fromkeys(usages))
    assert len(once) < len(usages)
    assert compute_impact_scores(projects, once, bootstrap_samples=30) == compute_impact_scores(
        projects, usages, bootstrap_samples=30
    )


def test_body_says_which_method_produced_the_number(scores):
    body = scores["A_good"].to_body()
    assert body["method"] == RIDGE_REGRESSION
    assert body["interval"]["low"] <= body["score"] <= body["interval"]["high"]
    assert body["effect"]["low"] <= body["effect"]["success_points"] <= body["effect"]["high"]
    assert "ridge regression" in body["explanation"] and "bootstrap" in body["explanation"]
    assert scores["F_unused"].to_body()["effect"] == {"success_points": 0.0, "low": None, "high": None}


def test_tenant_too_small_for_a_regression_gets_shrunken_means():
    projects = [CompletedProject(f"p{i}", score, "tabular", 3.0 + i, 2) for i, score in enumerate([40, 60, 80])]
    usages = [Usage(p.project_id, "shared") for p in projects] + [Usage("p2", "only_best")]
    scores = compute_impact_scores(projects, usages, min_projects_for_regression=1)
    assert {s.method for s in scores.values()} == {SHRUNKEN_MEAN}
    assert scores["only_best"].effect > 0


def test_invalid_settings_are_rejected(history):
    with pytest.raises(ValueError):
        compute_impact_scores(*history, confidence=1.0)
    with pytest.raises(ValueError):
        compute_impact_scores(*history, bootstrap_samples=1)
