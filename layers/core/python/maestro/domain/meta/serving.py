"""Serving an exported outcome model (maestro.ml.onnx_export) with onnxruntime and numpy: no scikit-learn, MLflow
or Feast on the request path. The arithmetic mirrors maestro.ml.training exactly (tested for parity):

* point = sum over ensemble members of weight x inverse_space(sum of the member's leaf outputs), clipped to the
  target's bounds;
* CV+ intervals: for each calibration project i, its fold's low quantile at x minus its conformity score, and its
  fold's high quantile plus it; the interval is the floor(a(n+1))-th smallest low and the ceil((1-a)(n+1))-th
  smallest high, transformed back from the interval space;
* contributions: occlusion against the training mean — for each feature, how much the point moves when that
  feature alone is set to its mean over the training projects (in the target's units; positive = this
  project's value raises the prediction).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MANIFEST_FORMAT = "maestro-meta-onnx/1"
# onnxruntime 1.16.3 (Lambda's layer) runs ai.onnx up to opset 19 and ai.onnx.ml up to 3.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
TOP_CONTRIBUTIONS = 5

_FORWARD: dict[str, Callable[[Any], np.ndarray]] = {"identity": lambda v: v, "log": np.log, "log1p": np.log1p}
_INVERSE: dict[str, Callable[[Any], np.ndarray]] = {"identity": lambda v: v, "log": np.exp, "log1p": np.expm1}


@dataclass
class ServedTarget:
    """One target's exported model, ready to predict."""

    manifest: dict[str, Any]
    session: Any  # onnxruntime.InferenceSession

    @classmethod
    def load(cls, onnx_bytes: bytes, manifest: Mapping[str, Any]) -> ServedTarget:
        import onnxruntime

        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"unknown model manifest format {manifest.get('format')!r}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request at a time per Lambda instance; no thread pool to warm
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        return cls(dict(manifest), session)

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["feature_names"])

    @property
    def version(self) -> str | None:
        return self.manifest.get("version")

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest["metrics"]

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        """One row [1, F] in the model's feature order."""
        return vector(self.feature_names, values)[None, :]

    def _outputs(self, X: np.ndarray) -> np.ndarray:
        """[N, leaves] of every leaf output, scaled as the manifest says."""
        raw = self.session.run(None, {"X": np.ascontiguousarray(X, dtype=np.float64)})
        return np.hstack(raw) * np.asarray(self.manifest["output_scale"], dtype=float)

    def _point(self, outputs: np.ndarray) -> np.ndarray:
        point = np.zeros(outputs.shape[0])
        for member in self.manifest["members"]:
            point += member["weight"] * _INVERSE[member["space"]](outputs[:, member["outputs"]].sum(axis=1))
        bounds = self.manifest.get("bounds")
        return np.clip(point, *bounds) if bounds else point

    def _interval(self, outputs: np.ndarray, level: str) -> tuple[np.ndarray, np.ndarray]:
        spec = self.manifest["intervals"]
        settings = spec["levels"][level]
        lo_q, hi_q = settings["quantiles"]
        fold_of = np.asarray(spec["fold_of"], dtype=int)
        scores = np.asarray(settings["scores"], dtype=float)[:, None]
        fold_lo = outputs[:, spec["quantile_outputs"][lo_q]].T  # [folds, N]
        fold_hi = outputs[:, spec["quantile_outputs"][hi_q]].T
        lows, highs = fold_lo[fold_of] - scores, fold_hi[fold_of] + scores
        n, alpha = len(fold_of), 1 - settings["coverage"]
        k_low, k_high = int(math.floor(alpha * (n + 1))), int(math.ceil((1 - alpha) * (n + 1)))
        low = np.partition(lows, k_low - 1, axis=0)[k_low - 1] if k_low >= 1 else np.full(lows.shape[1], -np.inf)
        high = np.partition(highs, k_high - 1, axis=0)[k_high - 1] if k_high <= n else np.full(lows.shape[1], np.inf)
        inverse = _INVERSE[spec["space"]]
        low, high = inverse(low), inverse(high)
        bounds = self.manifest.get("bounds")
        if bounds:
            low, high = np.clip(low, *bounds), np.clip(high, *bounds)
        return low, high

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """(point, {"80": (low, high), "90": (low, high)}) for every row of X, in the target's units; each interval
        holds the point and the 90% interval holds the 80% one (enclose_point)."""
        outputs = self._outputs(np.atleast_2d(X))
        point = self._point(outputs)
        return point, enclose_point(
            point, {level: self._interval(outputs, level) for level in self.manifest["intervals"]["levels"]}
        )

    def explain(self, x: Sequence[float], top: int = TOP_CONTRIBUTIONS) -> list[dict[str, Any]]:
        """The features that move this prediction most (occlusion against the training mean), largest first."""
        row = np.asarray(x, dtype=float)
        means = np.asarray(self.manifest["feature_means"], dtype=float)
        occluded = np.repeat(row[None, :], len(row), axis=0)
        occluded[np.arange(len(row)), np.arange(len(row))] = means
        points = self._point(self._outputs(np.vstack([row[None, :], occluded])))
        effect = points[0] - points[1:]
        order = np.argsort(-np.abs(effect), kind="stable")
        return [
            {
                "feature": self.feature_names[i],
                "value": round(float(row[i]), 4),
                "training_mean": round(float(means[i]), 4),
                "contribution": round(float(effect[i]), 4),
            }
            for i in order[:top]
            if effect[i] != 0
        ]


def enclose_point(
    point: np.ndarray, intervals: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each interval widened to hold the point, and each wider level to hold the narrower ones. The point (the
    ensemble's mean-like estimate) and the bands (conformalised quantiles) come from different models and can
    disagree at the edges; widening only ever raises coverage, and a point outside its own band reads as a
    contradiction. Shared by training (maestro.ml.training) and serving, so both report the same figures."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    low_so_far, high_so_far = point, point
    for level in sorted(intervals, key=float):
        low, high = intervals[level]
        low_so_far, high_so_far = np.minimum(low, low_so_far), np.maximum(high, high_so_far)
        out[level] = (low_so_far, high_so_far)
    return out


def vector(feature_names: Sequence[str], values: Mapping[str, float]) -> np.ndarray:
    """One feature row in the model's order; a feature the model knows but the caller lacks counts as 0, the way
    features() leaves a group it has no record for."""
    return np.array([float(values.get(name, 0.0) or 0.0) for name in feature_names], dtype=float)
