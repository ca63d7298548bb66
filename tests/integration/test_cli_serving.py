"""`maestro artifacts push model.pkl --to-onnx --sample sample.csv`, `maestro artifacts alias set|list|rm` and
`maestro artifacts pull NAME@champion`, each in its own process against the local API: the converted graph serves
what the scikit-learn model predicts (within the converter's stated tolerance)."""

from __future__ import annotations

import hashlib
import pickle
import uuid

import numpy as np
import pytest

from maestro_client import onnx_convert
from tests.integration.test_cli import OK, _json

pytestmark = pytest.mark.integration
FEATURES = ["tenure", "monthly_spend", "support_calls", "discount"]


def _fitted_model():
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    X = rng.normal([24, 70, 2, 0.1], [12, 25, 1.5, 0.05], size=(300, 4))
    y = ((X[:, 0] < 20) & (X[:, 1] > 60) | (X[:, 2] > 3)).astype(int)
    return make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=30, random_state=0)).fit(X, y), X


def test_push_to_onnx_serves_the_models_predictions_and_pull_by_alias(logged_in, dispatcher, tmp_path):
    run, tenant = logged_in
    model, X = _fitted_model()
    pickled = tmp_path / "churn.pkl"
    pickled.write_bytes(pickle.dumps(model))
    sample = tmp_path / "sample.csv"
    sample.write_text(",".join(FEATURES) + "\n" + "\n".join(",".join(f"{v:.5f}" for v in row) for row in X[:200]))
    name = f"churn-{uuid.uuid4().hex[:6]}"

    pushed = run(
        "artifacts", "push", str(pickled), "--to-onnx", "--sample", str(sample), "--type", "model",
        "--name", name, "--version", "1.0.0",
    )  # fmt: skip
    assert pushed.returncode == OK, pushed.stderr.decode()
    assert "parity on 200 rows" in pushed.stderr.decode()
    artifact_id = tenant.admin.get("/v1/artifacts", params={"type": "model", "limit": 100}).json()["items"]
    artifact_id = next(a["id"] for a in artifact_id if a["name"] == name)
    version = tenant.admin.get(f"/v1/artifacts/{artifact_id}/versions/1.0.0").json()
    assert version["content_type"] == "application/onnx"
    assert version["signature"]["feature_names"] == FEATURES
    assert [i["name"] for i in version["signature"]["inputs"]] == ["X"]

    assert run("artifacts", "alias", "set", name, "champion", "1.0.0", "--type", "model").returncode == OK
    listed = _json(run("artifacts", "alias", "list", artifact_id, "--json"))
    assert [(a["alias"], a["version"]) for a in listed["items"]] == [("champion", "1.0.0")]

    rows = X[200:260]
    answer = tenant.admin.post(
        f"/v1/artifacts/{artifact_id}/versions/@champion/predict", json={"inputs": {"X": rows.tolist()}}
    )
    assert answer.status_code == 200, answer.text
    outputs = answer.json()["outputs"]
    assert outputs["label"] == model.predict(rows).tolist()
    np.testing.assert_allclose(
        outputs["probabilities"],
        model.predict_proba(rows),
        rtol=onnx_convert.PARITY_RTOL,
        atol=onnx_convert.PARITY_ATOL,
    )

    out = tmp_path / "pulled.onnx"
    pulled = _json(run("artifacts", "pull", f"{name}@champion", "--type", "model", "-o", str(out), "--json"))
    assert pulled["version"] == "1.0.0" and hashlib.sha256(out.read_bytes()).hexdigest() == version["sha256"]

    assert run("artifacts", "alias", "rm", artifact_id, "champion").returncode == OK
    assert _json(run("artifacts", "alias", "list", artifact_id, "--json"))["items"] == []
    missing = run("artifacts", "pull", f"{name}@champion", "--type", "model", "-o", str(out))
    assert missing.returncode == 4, missing.stderr.decode()


def test_to_onnx_refuses_what_it_cannot_convert_and_uploads_nothing(logged_in, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    run, tenant = logged_in
    pickled = tmp_path / "custom.pkl"
    pickled.write_bytes(pickle.dumps(make_pipeline(FunctionTransformer(np.log1p)).fit(np.ones((3, 2)))))
    sample = tmp_path / "sample.csv"
    sample.write_text("a,b\n1,2\n")
    result = run(
        "artifacts", "push", str(pickled), "--to-onnx", "--sample", str(sample), "--type", "model", "--version", "1.0.0"
    )
    assert result.returncode == 6 and "cannot convert" in result.stderr.decode()
    assert tenant.admin.get("/v1/artifacts", params={"type": "model"}).json()["items"] == []
    no_sample = run("artifacts", "push", str(pickled), "--to-onnx", "--type", "model", "--version", "1.0.0")
    assert no_sample.returncode == 1 and "--sample" in no_sample.stderr.decode()
