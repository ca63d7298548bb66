"""Serving the outcome models without scikit-learn: ONNX parity with the trained models, occlusion
contributions, priors below the minimum, the recommender's saved state, and what the request path imports."""

import json

import numpy as np
import pytest

from maestro.domain.meta.history import TARGET_NAMES, feature_table
from maestro.domain.meta.priors import prior_estimate, t_quantile
from maestro.domain.meta.synthetic import generate_history
from tests.unit.cold_start import modules_loaded_by


@pytest.fixture(scope="module")
def trained():
    from maestro.ml.onnx_export import export_target
    from maestro.ml.training import train_target

    history = generate_history(n_projects=160, n_artifacts=40, seed=21)
    table = feature_table(history)
    out = {}
    for target in TARGET_NAMES:
        model = train_target(
            table.X, table.targets[target], table.feature_names, target=target, start_dates=table.start_dates
        )
        onnx_bytes, manifest = export_target(model, feature_means=table.X[model.train_index].mean(axis=0), version="7")
        out[target] = (model, onnx_bytes, manifest)
    return history, table, out


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_the_exported_graph_predicts_what_the_trained_model_predicts(trained, target):
    from maestro.domain.meta.serving import ServedTarget

    _, table, models = trained
    model, onnx_bytes, manifest = models[target]
    served = ServedTarget.load(onnx_bytes, json.loads(json.dumps(manifest)))  # as stored: through JSON
    point, intervals = model.predict(table.X)
    served_point, served_intervals = served.predict(table.X)
    scale = float(np.abs(point).mean())
    assert np.max(np.abs(served_point - point)) <= 1e-5 * scale
    for level in ("80", "90"):
        for bound in (0, 1):
            assert np.max(np.abs(served_intervals[level][bound] - intervals[level][bound])) <= 1e-5 * scale
    assert served.version == "7" and served.feature_names == list(table.feature_names)


def test_the_graph_runs_on_the_lambda_onnxruntime_opsets(trained):
    import onnx

    _, _, models = trained
    graph = onnx.load_from_string(models["duration_days"][1])
    opsets = {entry.domain: entry.version for entry in graph.opset_import}
    assert opsets.get("", 0) <= 19 and opsets.get("ai.onnx.ml", 0) <= 3 and graph.ir_version <= 9


def test_contributions_name_the_features_that_move_the_prediction(trained):
    from maestro.domain.meta.serving import ServedTarget

    _, table, models = trained
    served = ServedTarget.load(*models["success_score"][1:])
    means = np.asarray(served.manifest["feature_means"])
    x = means.copy()
    complexity = served.feature_names.index("complexity_score")
    x[complexity] = 9.5  # a hard project; every other feature at its mean
    contributions = served.explain(x)
    assert contributions[0]["feature"] == "complexity_score" and contributions[0]["contribution"] < 0
    point_at_means = served.predict(means[None, :])[0][0]
    point = served.predict(x[None, :])[0][0]
    assert contributions[0]["contribution"] == pytest.approx(point - point_at_means, abs=1e-3)
    assert all(c["feature"] != "complexity_score" or c is contributions[0] for c in contributions)


def test_t_quantiles_match_scipy():
    from scipy import stats

    for df in (1, 2, 3, 5, 10, 39):
        for p in (0.90, 0.95):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=2e-3)


def test_priors_never_make_up_a_figure():
    none = prior_estimate("duration_days", [])
    assert none["point"] is None and none["intervals"] == {"80": None, "90": None}
    one = prior_estimate("duration_days", [42.0])
    assert one["point"] == pytest.approx(42.0) and one["intervals"] == {"80": None, "90": None}
    few = prior_estimate("success_score", [20.0, 90.0, 55.0])
    low80, high80 = few["intervals"]["80"]
    low90, high90 = few["intervals"]["90"]
    assert 0.0 <= low90 <= low80 < few["point"] < high80 <= high90 <= 100.0  # clipped to the score's range
    many = prior_estimate("success_score", list(np.random.default_rng(0).normal(55, 10, 39)))
    assert many["intervals"]["90"][1] - many["intervals"]["90"][0] < high90 - low90  # narrower with more history


def test_the_reported_coverage_error_is_the_spread_of_a_calibrated_interval_measured_on_so_few_projects():
    from maestro.domain.meta.targets import coverage_standard_errors

    assert coverage_standard_errors(0) is None
    errors = coverage_standard_errors(120)
    assert errors == {"80": 0.0365, "90": 0.0274}
    rng = np.random.default_rng(0)
    for level, nominal in (("80", 0.8), ("90", 0.9)):
        measured = rng.binomial(120, nominal, size=20_000) / 120  # a perfectly calibrated interval, 120 projects
        assert np.std(measured) == pytest.approx(errors[level], rel=0.03)
    assert coverage_standard_errors(3120)["80"] < errors["80"] / 5


def test_the_recommender_state_round_trips_to_the_same_ranking(trained):
    from maestro.domain.meta.history import features
    from maestro.ml.recommend import ArtifactRecommender, learn_recommender, observed_relevance

    history, _, _ = trained
    ordered = sorted(history.projects, key=lambda p: (p.start_date, p.project_id))
    fitted = learn_recommender(history, ordered[:120], relevance=observed_relevance(ordered[:90]))
    restored = ArtifactRecommender.from_state(json.loads(json.dumps(fitted.recommender.state())))
    profile = features(ordered[130])
    assert restored.recommend(profile) == fitted.recommender.recommend(profile)


def test_observed_relevance_grades_what_successful_projects_used():
    from maestro.ml.recommend import observed_relevance

    history = generate_history(n_projects=40, n_artifacts=30, seed=3)
    projects = list(history.projects)
    grade = observed_relevance(projects)
    ranked = sorted(projects, key=lambda p: p.success_score)
    best, middle, worst = ranked[-1], ranked[len(ranked) // 2], ranked[0]
    assert grade(best) == {u.artifact_id: 2 for u in best.usages}
    assert grade(middle) == {u.artifact_id: 1 for u in middle.usages}
    assert grade(worst) == {}  # used by a project that went badly: no evidence of value


def test_the_request_path_of_predictions_imports_no_training_stack():
    modules = (
        "maestro.services.meta.predictions",
        "maestro.services.meta.recommendations",
        "maestro.services.meta.models",
        "maestro.services.meta.scoring",
        "maestro.domain.meta.serving",
        "maestro.ml.recommend",
        "maestro.repositories.online_features",
        "functions.predictions",
        "functions.models",
    )
    assert modules_loaded_by(modules, ("sklearn", "mlflow", "feast", "pandas", "torch", "scipy")) == ""


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_every_point_lies_within_its_own_80_and_90_percent_intervals(trained, target):
    """The point (an ensemble) and the bands (conformalised quantiles) come from different models: without
    enclose_point the cost point sat below its own 80% band for some projects."""
    from maestro.domain.meta.serving import ServedTarget

    _, table, models = trained
    model, onnx_bytes, manifest = models[target]
    for predicted in (model.predict(table.X), ServedTarget.load(onnx_bytes, manifest).predict(table.X)):
        point, intervals = predicted
        (low80, high80), (low90, high90) = intervals["80"], intervals["90"]
        assert np.all(low80 <= point) and np.all(point <= high80)
        assert np.all(low90 <= low80) and np.all(high80 <= high90)


def test_enclose_point_widens_only_where_the_point_or_a_narrower_band_lies_outside():
    from maestro.domain.meta.serving import enclose_point

    point = np.array([5.0, 1.0, 9.0])
    bands = {
        "80": (np.array([4.0, 2.0, 3.0]), np.array([6.0, 3.0, 8.0])),
        "90": (np.array([3.0, 2.5, 2.0]), np.array([7.0, 4.0, 8.5])),
    }
    out = enclose_point(point, bands)
    assert out["80"][0].tolist() == [4.0, 1.0, 3.0] and out["80"][1].tolist() == [6.0, 3.0, 9.0]
    assert out["90"][0].tolist() == [3.0, 1.0, 2.0] and out["90"][1].tolist() == [7.0, 4.0, 9.0]


@pytest.mark.parametrize("usages_recorded", [True, False], ids=["usages-recorded", "no-usage-recorded"])
def test_a_ranking_the_learned_blend_scores_all_zero_says_how_it_is_ordered(trained, monkeypatch, usages_recorded):
    """A history in which no artifact usage was recorded (an import without usages) gives every artifact a blended
    score of 0; the list is then ordered by content similarity, and the answer must say so (seen on the console's
    plan page: a column of zeros read as broken)."""
    import dataclasses
    from types import SimpleNamespace

    from maestro.domain.meta.history import features
    from maestro.ml.recommend import ArtifactRecommender, BlendWeights
    from maestro.services.meta import recommendations

    history, _, _ = trained
    projects = sorted(history.projects, key=lambda p: (p.start_date, p.project_id))[:120]
    if not usages_recorded:
        projects = [dataclasses.replace(p, usages=()) for p in projects]
    weights = BlendWeights(impact=0.0, similarity=0.0, neighbours=20)  # what the retrain learns with no usages
    recommender = ArtifactRecommender(history, projects, weights)
    state = {"weights": dataclasses.asdict(weights), "similarity_source": "token_overlap"}
    monkeypatch.setattr(
        recommendations.champion_cache,
        "recommender",
        lambda _t: ((recommender, state), SimpleNamespace(model_version="1")),
    )
    library = {
        a.artifact_id: SimpleNamespace(
            artifact_id=a.artifact_id,
            name=a.name,
            type=a.artifact_type,
            description=a.description,
            deprecated=False,
            impact_score=50.0,
        )
        for a in history.artifacts
    }
    subject = SimpleNamespace(
        description=history.artifacts[0].description, used=set(), library=library, values=features(projects[-1])
    )
    part = recommendations._artifacts_part("ten_1", subject, 5)
    scores = [item["score"] for item in part["items"]]
    if usages_recorded:
        assert max(scores) > 0 and "note" not in part
    else:
        assert scores == [0.0] * 5
        assert "ordered by content similarity to the description" in part["note"]
        similarity = [item["components"]["similarity"] for item in part["items"]]
        assert similarity == sorted(similarity, reverse=True) and similarity[0] > 0  # ... and it is
