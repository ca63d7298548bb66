"""scikit-learn to ONNX on the client (`maestro artifacts push model.pkl --to-onnx --sample sample.csv`), with a parity
check before anything is uploaded. Needs the `onnx` extra: `pip install "maestro-client[onnx]"` (skl2onnx,
onnxruntime, scikit-learn, numpy); nothing here is imported unless a conversion is asked for.

Limits (skl2onnx's): the model must be a fitted scikit-learn estimator or Pipeline whose every step skl2onnx
converts (scalers, imputers, one-hot encoders, linear and tree models, ensembles, SVMs, k-NN, ...); custom
transformers and FunctionTransformer are refused. Inputs are one numeric float32 matrix `X` [N, F] whose columns
are the sample's header (kept in the graph as `maestro.feature_names`); string or mixed-type columns are not
supported. Classifiers give `label` and `probabilities` as plain tensors (no ZipMap).

Parity: on the sample's rows, labels must equal the estimator's `predict` exactly, and every numeric output must
match `predict` / `predict_proba` within PARITY_RTOL and PARITY_ATOL (ONNX runs in float32); otherwise nothing is
uploaded."""

from __future__ import annotations

import csv
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}  # what onnxruntime 1.16.3 (the platform's Lambda layer) runs
PARITY_RTOL = 1e-4
PARITY_ATOL = 1e-4
MAX_PARITY_ROWS = 10_000
FEATURE_NAMES_METADATA = "maestro.feature_names"


class ConversionError(Exception):
    """The model cannot be converted, or its ONNX form does not predict what it predicts."""


@dataclass(frozen=True)
class Converted:
    onnx_bytes: bytes
    feature_names: list[str]
    rows_checked: int
    max_abs_difference: float  # over every numeric output compared


def _require():
    try:
        import numpy
        import onnxruntime
        import skl2onnx
    except ImportError as error:
        raise ConversionError(
            f"--to-onnx needs the onnx extra ({error.name} is missing): pip install 'maestro-client[onnx]'"
        ) from None
    return numpy, onnxruntime, skl2onnx


def read_sample(path: Path) -> tuple[list[str], list[list[float]]]:
    """The sample CSV: a header of feature names, then numeric rows (the model's input columns, in order)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ConversionError(f"{path}: empty; the sample needs a header row of feature names")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ConversionError(f"{path}:{number}: {len(row)} values, the header names {len(header)}")
            try:
                rows.append([float(v) for v in row])
            except ValueError:
                raise ConversionError(f"{path}:{number}: only numeric columns are supported") from None
            if len(rows) >= MAX_PARITY_ROWS:
                break
    if not rows:
        raise ConversionError(f"{path}: no rows; the sample needs at least one")
    return header, rows


def load_model(path: Path) -> Any:
    """A pickled (or joblib-dumped) estimator. Unpickling runs code: load only your own files."""
    try:
        import joblib

        return joblib.load(path)
    except ImportError:
        with open(path, "rb") as handle:
            return pickle.load(handle)


def convert(model: Any, feature_names: list[str], rows: list[list[float]]) -> Converted:
    """The model as ONNX bytes, checked for parity on `rows` (raises ConversionError)."""
    np, onnxruntime, skl2onnx = _require()
    X = np.asarray(rows, dtype=np.float32)
    is_classifier = hasattr(model, "predict_proba") and hasattr(model, "classes_")
    try:
        options = {id(model): {"zipmap": False}} if is_classifier else None
        graph = skl2onnx.to_onnx(model, X[:1], target_opset=TARGET_OPSET, options=options)
    except Exception as error:
        raise ConversionError(f"skl2onnx cannot convert {type(model).__name__}: {error}") from None
    entry = graph.metadata_props.add()
    entry.key, entry.value = FEATURE_NAMES_METADATA, json.dumps(feature_names)
    onnx_bytes = graph.SerializeToString()

    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    outputs = dict(
        zip([o.name for o in session.get_outputs()], session.run(None, {session.get_inputs()[0].name: X}), strict=True)
    )
    expected = {"prediction": np.asarray(model.predict(X))}
    if is_classifier:
        expected["probabilities"] = np.asarray(model.predict_proba(X))
    worst = 0.0
    label = outputs.get("label", outputs.get("variable", next(iter(outputs.values()))))
    got = np.asarray(label).reshape(expected["prediction"].shape)
    if is_classifier:
        if not np.array_equal(got.astype(str), expected["prediction"].astype(str)):
            differ = int((got.astype(str) != expected["prediction"].astype(str)).sum())
            raise ConversionError(f"the ONNX model labels {differ} of {len(X)} sample rows differently")
        probabilities = np.asarray(outputs["probabilities"])
        worst = _compare(np, probabilities, expected["probabilities"], "probabilities", worst)
    else:
        worst = _compare(np, got.astype(float), expected["prediction"].astype(float), "predictions", worst)
    return Converted(onnx_bytes, list(feature_names), len(X), worst)


def _compare(np, got, want, what: str, worst: float) -> float:
    if got.shape != want.shape:
        raise ConversionError(f"the ONNX {what} have shape {got.shape}, the model's {want.shape}")
    difference = np.abs(got.astype(float) - want.astype(float))
    if not np.allclose(got, want, rtol=PARITY_RTOL, atol=PARITY_ATOL):
        raise ConversionError(
            f"the ONNX {what} differ from the model's by up to {difference.max():.3g} "
            f"(allowed: rtol {PARITY_RTOL}, atol {PARITY_ATOL})"
        )
    return max(worst, float(difference.max()) if difference.size else 0.0)
