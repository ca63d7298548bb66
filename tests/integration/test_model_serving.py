"""Serving the library's ONNX models over HTTP on the local moto stack: a real scikit-learn pipeline converted with
skl2onnx and a graph built with onnx.helper are uploaded as model versions, their signatures read when they become
ready, `champion` set, and predictions through the API equal onnxruntime's own for the same inputs; moving
`champion` changes the answer within 10 s; wrong inputs are 422 naming the input; the viewer is 403 and another
tenant 404. Then the monitoring: rollups of requests, errors, latency and inputs, and drift flagged for exactly
the feature that was shifted."""

import hashlib
import time
import uuid

import numpy as np
import onnxruntime
import pytest

from tests.integration.conftest import declare_version, problem
from tests.integration.test_artifact_versions import _settled, _upload

pytestmark = pytest.mark.integration
ONNX = "application/onnx"
FEATURES = ["tenure", "monthly_spend", "support_calls", "discount"]


def _training_data(seed=7, rows=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[24.0, 70.0, 2.0, 0.1], scale=[12.0, 25.0, 1.5, 0.05], size=(rows, 4))
    y = ((X[:, 0] < 20) & (X[:, 1] > 60) | (X[:, 2] > 3)).astype(int)
    return X, y


def _sklearn_onnx() -> bytes:
    """A real pipeline (scaler + logistic regression) through skl2onnx, probabilities as a plain tensor."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _training_data()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    graph = to_onnx(
        pipeline, X[:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3}, options={"zipmap": False}
    )
    return graph.SerializeToString()


def _helper_onnx(weights) -> bytes:
    """A graph made another way: y = X @ W + 1 with onnx.helper, input X [N, 4] float32, output y [N, 1]."""
    from onnx import TensorProto, helper, numpy_helper

    W = numpy_helper.from_array(np.asarray(weights, dtype=np.float32).reshape(4, 1), name="W")
    B = numpy_helper.from_array(np.ones((1,), dtype=np.float32), name="B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]), helper.make_node("Add", ["XW", "B"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[W, B],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _push(client, artifact_id, data: bytes, version: str, content_type=ONNX, derived_from=None):
    declaration = {
        "version": version,
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": content_type,
        "derived_from": derived_from or [],
    }
    created = client.post(f"/v1/artifacts/{artifact_id}/versions", json=declaration)
    assert created.status_code == 201, created.text
    _upload(created.json(), data)
    view = _settled(
        client, artifact_id, version, timeout_s=60, until=lambda v: v["status"] != "pending" and v.get("signature")
    )
    assert view["status"] == "ready", view
    return view


def _model(client, name=None):
    created = client.post("/v1/artifacts", json={"name": name or f"churn {uuid.uuid4().hex[:8]}", "type": "model"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _local(onnx_bytes: bytes, X):
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {"X": np.asarray(X, dtype=np.float32)}), strict=True))


def test_pushed_onnx_models_serve_what_onnxruntime_computes_and_follow_the_champion(tenant, dispatcher):
    developer = tenant.client_for("developer")
    artifact_id = _model(developer)
    sklearn_graph, helper_graph = _sklearn_onnx(), _helper_onnx([0.5, -0.25, 2.0, 10.0])

    first = _push(developer, artifact_id, sklearn_graph, "1.0.0")
    assert first["signature"] == {
        "inputs": [{"name": "X", "type": "float32", "shape": [None, 4]}],
        "outputs": [
            {"name": "label", "type": "int64", "shape": [None]},
            {"name": "probabilities", "type": "float32", "shape": [None, 2]},
        ],
        "feature_names": None,
    }
    assert first["serving_problem"] is None
    second = _push(developer, artifact_id, helper_graph, "2.0.0")
    assert second["signature"]["outputs"] == [{"name": "y", "type": "float32", "shape": [None, 1]}]
    assert developer.get(f"/v1/artifacts/{artifact_id}/versions/2.0.0").json()["signature"] == second["signature"]

    X = _training_data(seed=99, rows=25)[0].astype(np.float32).tolist()
    assert developer.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"}).status_code == 201
    answer = developer.post(f"/v1/artifacts/{artifact_id}/versions/@champion/predict", json={"inputs": {"X": X}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == "1.0.0" and body["artifact_id"] == artifact_id and body["latency_ms"] > 0
    expected = _local(sklearn_graph, X)
    assert body["outputs"]["label"] == expected["label"].tolist()
    np.testing.assert_allclose(body["outputs"]["probabilities"], expected["probabilities"], rtol=1e-6, atol=1e-7)

    # `instances` for a single-input model; a pinned version answers the same as the alias.
    pinned = developer.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/predict", json={"instances": X[:3]})
    assert pinned.status_code == 200 and pinned.json()["outputs"]["label"] == expected["label"].tolist()[:3]

    # Moving champion changes the answer within 10 s, without a redeploy.
    moved_at = time.monotonic()
    assert developer.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "2.0.0"}).status_code == 200
    while True:
        body = developer.post(
            f"/v1/artifacts/{artifact_id}/versions/@champion/predict", json={"inputs": {"X": X}}
        ).json()
        if body["model_version"] == "2.0.0" or time.monotonic() - moved_at > 10:
            break
        time.sleep(0.2)
    assert body["model_version"] == "2.0.0", "champion's move was not served within 10 s"
    assert time.monotonic() - moved_at <= 10
    np.testing.assert_allclose(body["outputs"]["y"], _local(helper_graph, X)["y"], rtol=1e-6)

    # An API key of the developer role predicts; so does the admin; the viewer may not.
    assert tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/@champion/predict", json={"instances": X[:1]}).ok
    denied = problem(
        tenant.client_for("viewer").post(
            f"/v1/artifacts/{artifact_id}/versions/@champion/predict", json={"instances": X[:1]}
        ),
        403,
    )
    assert denied["permission"] == "predict"


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"inputs": {"features": [[1.0, 2.0, 3.0, 4.0]]}}, "inputs.features", "no input 'features'"),
        ({"inputs": {}}, "inputs.X", "missing input 'X'"),
        ({"inputs": {"X": [[1.0, 2.0, 3.0]]}}, "inputs.X", "dimension 1 must be 4"),
        ({"inputs": {"X": [1.0, 2.0, 3.0, 4.0]}}, "inputs.X", "expected 2 dimensions"),
        ({"inputs": {"X": [[1.0, 2.0, "three", 4.0]]}}, "inputs.X", "float32"),
        ({"inputs": {"X": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]]}}, "inputs.X", "ragged"),
        ({"inputs": {"X": [[1.0, 2.0, 3.0, 4.0]] * 1001}}, "inputs.X", "at most 1000"),
        ({}, "inputs", "exactly one"),
    ],
)
def test_wrong_inputs_are_422_naming_the_input(tenant, dispatcher, body, field, words):
    artifact_id = _model(tenant.admin)
    _push(tenant.admin, artifact_id, _helper_onnx([1, 1, 1, 1]), "1.0.0")
    refused = problem(tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/predict", json=body), 422)
    assert refused["errors"][0]["field"] == field
    assert words in refused["errors"][0]["message"], refused


def test_another_tenant_gets_404_and_unservable_versions_are_refused(new_tenant, dispatcher):
    owner, intruder = new_tenant(), new_tenant()
    artifact_id = _model(owner.admin)
    _push(owner.admin, artifact_id, _helper_onnx([1, 2, 3, 4]), "1.0.0")
    owner.admin.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})
    for path in ("/versions/@champion/predict", "/versions/1.0.0/predict"):
        problem(intruder.admin.post(f"/v1/artifacts/{artifact_id}{path}", json={"instances": [[1, 2, 3, 4]]}), 404)
    problem(intruder.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/serving"), 404)

    # Bytes that are not a graph: ready (they are what was declared) but not servable, and saying why.
    broken = _push(owner.admin, artifact_id, b"not an onnx graph", "1.1.0")
    assert broken["signature"] is None and "does not load" in broken["serving_problem"]
    refused = problem(
        owner.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.1.0/predict", json={"instances": [[1, 2, 3, 4]]}), 422
    )
    assert "cannot be served" in refused["detail"]
    # A notebook is not a model: not servable.
    notebook = owner.admin.post("/v1/artifacts", json={"name": "eda", "type": "notebook"}).json()["id"]
    _push_plain = owner.admin.post(
        f"/v1/artifacts/{notebook}/versions",
        json={"version": "1.0.0", "size_bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest(), "content_type": ONNX},
    )
    _upload(_push_plain.json(), b"abc")
    _settled(owner.admin, notebook, "1.0.0")
    refused = problem(
        owner.admin.post(f"/v1/artifacts/{notebook}/versions/1.0.0/predict", json={"instances": [1]}), 422
    )
    assert "not servable" in refused["detail"]


def test_a_graph_too_big_for_the_serving_budget_is_refused_at_alias_and_predict(tenant, dispatcher, monkeypatch):
    from maestro.domain import model_serving

    artifact_id = _model(tenant.admin)
    graph = _helper_onnx([1, 2, 3, 4])
    _push(tenant.admin, artifact_id, graph, "1.0.0")
    monkeypatch.setattr(model_serving, "MAX_GRAPH_BYTES", len(graph) - 1)
    from maestro.services import model_serving as service

    service.forget()
    refused = problem(tenant.admin.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"}), 422)
    assert "cannot be served" in refused["detail"] and str(len(graph) - 1) in refused["detail"]
    refused = problem(
        tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/predict", json={"instances": [[1, 2, 3, 4]]}),
        422,
    )
    assert "cannot be served" in refused["detail"]


def test_a_served_graph_is_loaded_only_from_the_verified_bytes(tenant, dispatcher, s3):
    from maestro.services import model_serving
    from maestro.settings import get_settings

    artifact_id = _model(tenant.admin)
    graph = _helper_onnx([1, 2, 3, 4])
    _push(tenant.admin, artifact_id, graph, "1.0.0")
    # Someone overwrites the object under the version's key: serving keeps to the verified object version.
    key = f"artifacts/{tenant.tenant_id}/{artifact_id}/1.0.0"
    s3.put_object(Bucket=get_settings().artifact_bucket, Key=key, Body=_helper_onnx([9, 9, 9, 9]))
    model_serving.forget()
    model_serving.graph_cache().forget(files=True)
    answer = tenant.admin.post(
        f"/v1/artifacts/{artifact_id}/versions/1.0.0/predict", json={"instances": [[1, 1, 1, 1]]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"]["y"] == [[11.0]]  # 1+2+3+4+1, not the overwritten 9s


# ---------------------------------------------------------------- monitoring
def _dataset_csv(X, y) -> bytes:
    lines = [",".join([*FEATURES, "target"])]
    lines += [",".join([*(f"{v:.6f}" for v in row), str(label)]) for row, label in zip(X, y, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def _serve_traffic(client, artifact_id, version, X, batch=60):
    for start in range(0, len(X), batch):
        rows = np.asarray(X[start : start + batch], dtype=np.float32).tolist()
        answer = client.post(f"/v1/artifacts/{artifact_id}/versions/{version}/predict", json={"inputs": {"X": rows}})
        assert answer.status_code == 200, answer.text


def test_rollups_count_requests_errors_latency_and_inputs_and_drift_flags_exactly_the_shifted_feature(
    tenant, dispatcher, monkeypatch
):
    from maestro.services import serving_monitoring

    monkeypatch.setattr(serving_monitoring, "STATS_FLUSH_SECONDS", 0.0)  # fold summaries in on every request
    client = tenant.client_for("developer")
    X_train, y_train = _training_data()
    dataset = client.post("/v1/artifacts", json={"name": f"churn rows {uuid.uuid4().hex[:6]}", "type": "dataset"})
    dataset_id = dataset.json()["id"]
    csv_bytes = _dataset_csv(X_train, y_train)
    created = declare_version(client, dataset_id, csv_bytes, "text/csv")
    _upload(created.json(), csv_bytes)
    assert _settled(client, dataset_id, "1.0.0")["status"] == "ready"

    artifact_id = _model(client)
    graph = _sklearn_onnx()
    lineage = [{"artifact_id": dataset_id, "version": "1.0.0"}]
    _push(client, artifact_id, graph, "1.0.0", derived_from=lineage)
    _push(client, artifact_id, graph, "1.1.0", derived_from=lineage)

    live = _training_data(seed=2024, rows=180)[0]
    _serve_traffic(client, artifact_id, "1.0.0", live)
    problem(client.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/predict", json={"inputs": {"x": [[1]]}}), 422)
    shifted = live.copy()
    shifted[:, 2] += 3.0  # support calls up by two standard deviations; every other feature as in training
    _serve_traffic(client, artifact_id, "1.1.0", shifted)

    served = client.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/serving", params={"days": 1})
    assert served.status_code == 200, served.text
    view = served.json()
    assert (view["requests"], view["errors"]) == (4, 1)
    assert len(view["daily"]) == 1 and view["daily"][0]["requests"] == 4
    assert 0 < view["latency_ms"]["p50"] <= view["latency_ms"]["p95"]
    assert sorted(view["inputs"]) == ["X[0]", "X[1]", "X[2]", "X[3]"]
    tenure = view["inputs"]["X[0]"]
    assert tenure["count"] == 180
    assert tenure["mean"] == pytest.approx(float(np.mean(live[:, 0].astype(np.float32))), rel=1e-4)
    assert tenure["std"] == pytest.approx(float(np.std(live[:, 0].astype(np.float32))), rel=1e-3)
    assert tenure["min"] <= tenure["p05"] <= tenure["p50"] <= tenure["p95"] <= tenure["max"]
    assert view["drift"]["reference"] == {"source": "dataset", "artifact_id": dataset_id, "version": "1.0.0"}
    assert view["drift"]["method"] == "ks" and view["drift"]["drifted"] == []
    assert set(view["drift"]["features"]) == {"X[0]", "X[1]", "X[2]", "X[3]"}

    drifting = client.get(f"/v1/artifacts/{artifact_id}/versions/1.1.0/serving").json()
    assert drifting["drift"]["drifted"] == ["X[2]"]
    flagged = drifting["drift"]["features"]["X[2]"]
    assert flagged["statistic"] > flagged["threshold"] and flagged["drifted"] is True
    assert all(not r["drifted"] for name, r in drifting["drift"]["features"].items() if name != "X[2]")

    # An uploaded profile replaces the dataset as the reference: against a profile whose tenure runs a year
    # longer, the unshifted traffic drifts in tenure only.
    profile = {f"X[{i}]": X_train[:, i].tolist() for i in range(4)}
    profile["X[0]"] = (X_train[:, 0] + 12).tolist()
    problem(
        tenant.client_for("viewer").put(
            f"/v1/artifacts/{artifact_id}/versions/1.0.0/serving/reference", json={"features": profile}
        ),
        403,
    )
    stored = client.put(f"/v1/artifacts/{artifact_id}/versions/1.0.0/serving/reference", json={"features": profile})
    assert stored.status_code == 200, stored.text
    assert stored.json()["features"] == {f"X[{i}]": 400 for i in range(4)}
    again = client.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0/serving").json()
    assert again["drift"]["reference"]["source"] == "profile"
    assert again["drift"]["drifted"] == ["X[0]"]
