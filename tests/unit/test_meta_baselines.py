"""A searched model serves only when it beats both baselines on the hold-out set; otherwise the best baseline is
the model (trained, exported and served as such) and the metrics say so."""

import json

import numpy as np
import pytest

from maestro.domain.meta.history import FEATURE_NAMES


def _linear(seed: int, n: int = 140):
    """Outcomes that are a linear function of the features: the ridge baseline fits them almost exactly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURE_NAMES)))
    y = 50 + 8 * X[:, 0] - 5 * X[:, 1] + rng.normal(0, 0.5, size=n)
    return X, np.clip(y, 0, 100)


@pytest.fixture(scope="module")
def weak_search_model():
    """A search grid of one nearly constant model (a single shallow tree, tiny learning rate): it cannot beat the
    ridge baseline, which must then be what is trained, exported and served."""
    from maestro.ml import training

    X, y = _linear(3)
    weak = [training.Candidate("gradient_boosting", {"n_estimators": 1, "learning_rate": 0.01, "max_depth": 1})]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "candidates", lambda target: weak)
        model = training.train_target(X, y, FEATURE_NAMES, target="success_score", seed=0)
    return X, y, model


@pytest.fixture(scope="module")
def noise_model():
    from maestro.ml.training import train_target

    rng = np.random.default_rng(3)
    X = rng.normal(size=(140, len(FEATURE_NAMES)))
    return X, None, train_target(X, np.clip(60 + rng.normal(0, 1, 140), 0, 100), FEATURE_NAMES, target="success_score")


def test_the_served_model_is_never_worse_than_the_best_baseline_on_the_holdout(noise_model):
    _, _, model = noise_model
    metrics = model.metrics
    best = min(b["holdout_mae"] for b in metrics["baselines"].values())
    assert metrics["holdout"]["mae"] <= best + 1e-9
    if metrics["serving"]["model"] == "searched":
        assert metrics["holdout"]["mae"] < best
    else:
        assert metrics["serving"]["model"] in ("baseline:tenant_mean", "baseline:ridge")
        assert "does not beat" in metrics["serving"]["reason"]


def test_a_search_that_loses_to_a_baseline_serves_the_baseline_and_the_export_serves_it(weak_search_model):
    from maestro.domain.meta.serving import ServedTarget
    from maestro.ml.onnx_export import export_target

    X, _, model = weak_search_model
    assert model.metrics["serving"]["model"] == "baseline:ridge", model.metrics["serving"]
    name = model.metrics["serving"]["model"]
    assert model.metrics["holdout"]["mae"] == model.metrics["baselines"]["ridge"]["holdout_mae"]
    assert list(model.ensemble) == [name] and json.loads(json.dumps(model.to_dict()))["selected"][0]["name"] == name
    onnx_bytes, manifest = export_target(model, feature_means=X[model.train_index].mean(axis=0), version="1")
    served = ServedTarget.load(onnx_bytes, json.loads(json.dumps(manifest)))
    point, _ = served.predict(X[:20])
    expected, _ = model.predict(X[:20])
    assert np.allclose(point, expected, atol=1e-6)


def test_the_tenant_mean_baseline_exports_as_one_figure():
    from maestro.domain.meta.serving import ServedTarget
    from maestro.ml import training
    from maestro.ml.onnx_export import export_target

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, len(FEATURE_NAMES)))
    y = np.clip(40 + rng.normal(0, 0.01, 120), 0, 100)  # constant: the mean is the best there is
    never = [training.Candidate("gradient_boosting", {"n_estimators": 1, "learning_rate": 0.0, "max_depth": 1})]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "candidates", lambda target: never)
        patch.setattr(
            training,
            "baselines",
            lambda target: {"tenant_mean": training.Candidate("tenant_mean", {}), "ridge": never[0]},
        )
        model = training.train_target(X, y, FEATURE_NAMES, target="success_score", seed=0)
    assert model.metrics["serving"]["model"] == "baseline:tenant_mean", model.metrics["serving"]
    onnx_bytes, manifest = export_target(model, feature_means=X.mean(axis=0), version="1")
    point, _ = ServedTarget.load(onnx_bytes, manifest).predict(X[:5])
    assert np.allclose(point, y[model.train_index].mean(), atol=1e-6)
