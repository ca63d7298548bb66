"""Client-side scikit-learn -> ONNX (maestro_client.onnx_convert): real estimators converted with skl2onnx, and the
parity check that keeps a graph which predicts differently from ever being uploaded."""

import json

import numpy as np
import onnxruntime
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from maestro_client import onnx_convert

FEATURES = ["tenure", "monthly_spend", "support_calls"]


def _data(rows=300, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal([24, 70, 2], [12, 25, 1.5], size=(rows, 3))
    return X, ((X[:, 0] < 20) | (X[:, 2] > 3)).astype(int), X[:, 1] * 0.3 + X[:, 0]


def test_a_classifier_pipeline_converts_with_labels_equal_and_probabilities_within_tolerance():
    X, y, _ = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    converted = onnx_convert.convert(model, FEATURES, X.tolist())
    assert converted.rows_checked == 300 and converted.max_abs_difference <= onnx_convert.PARITY_ATOL
    session = onnxruntime.InferenceSession(converted.onnx_bytes, providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["maestro.feature_names"]) == FEATURES
    label, probabilities = session.run(None, {"X": X.astype(np.float32)})
    assert (label == model.predict(X)).all()
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=onnx_convert.PARITY_ATOL)


def test_a_regressor_converts_within_tolerance():
    X, _, target = _data()
    model = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(X, target)
    converted = onnx_convert.convert(model, FEATURES, X.tolist())
    assert converted.max_abs_difference <= onnx_convert.PARITY_ATOL + onnx_convert.PARITY_RTOL * np.abs(target).max()


def test_a_step_skl2onnx_cannot_convert_is_refused_by_name():
    X, y, _ = _data()
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(np.abs(X), y)
    with pytest.raises(onnx_convert.ConversionError, match="cannot convert Pipeline"):
        onnx_convert.convert(model, FEATURES, np.abs(X).tolist())


def test_a_graph_that_predicts_otherwise_is_refused_before_upload(monkeypatch):
    X, y, _ = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    graph = onnx_convert.convert(model, FEATURES, X.tolist())
    assert graph.onnx_bytes
    flipped = model.predict(X)
    flipped[:5] = 1 - flipped[:5]
    monkeypatch.setattr(type(model), "predict", lambda self, rows: flipped)
    with pytest.raises(onnx_convert.ConversionError, match="labels 5 of 300 sample rows differently"):
        onnx_convert.convert(model, FEATURES, X.tolist())


def test_the_sample_must_be_numeric_with_a_header(tmp_path):
    good = tmp_path / "sample.csv"
    good.write_text("a,b\n1,2\n3.5,4\n")
    assert onnx_convert.read_sample(good) == (["a", "b"], [[1.0, 2.0], [3.5, 4.0]])
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,red\n")
    with pytest.raises(onnx_convert.ConversionError, match="only numeric columns"):
        onnx_convert.read_sample(text)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1\n")
    with pytest.raises(onnx_convert.ConversionError, match="1 values, the header names 2"):
        onnx_convert.read_sample(ragged)
