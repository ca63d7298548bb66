"""Export a trained TargetModel (maestro.ml.training) to one ONNX graph plus a JSON manifest, so the request path
serves it with onnxruntime and numpy only (maestro.domain.meta.serving), never scikit-learn.

The chosen model is a weighted average of candidates, some wrapped in a target transform (log, log1p) or made of
parts (ridge + boosting on its residuals, a voting average): each fitted estimator is decomposed into leaf
estimators skl2onnx converts (pipelines of scaler + ridge, gradient boosting, random forests), every leaf becomes
one output of a single merged graph, and the manifest says how outputs combine: per member, the sum of its
leaves' outputs, the inverse transform of its space, then the weighted sum. The CV+ interval models (fold x
quantile gradient boosting) are outputs of the same graph; their calibration scores and folds go in the
manifest. Linear leaves run in double, trees in float32 as scikit-learn runs them (see _convert).
Batch-only: imports scikit-learn, skl2onnx and onnx.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from maestro.domain.meta.serving import MANIFEST_FORMAT, TARGET_OPSET
from maestro.ml.training import INTERVAL_LEVELS, TARGET_BOUNDS, RidgePlusBoosting, TargetModel, _quantile_pair


def _leaves(estimator: Any, path: str) -> tuple[str, list[tuple[str, Any]]]:
    """(space, [(leaf name, leaf estimator)]): the member's target space and the leaves whose outputs sum to it."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import VotingRegressor

    if isinstance(estimator, TransformedTargetRegressor):
        space = {np.log: "log", np.log1p: "log1p"}.get(estimator.func)
        if space is None:
            raise ValueError(f"unsupported target transform {estimator.func!r} in {path}")
        inner_space, leaves = _leaves(estimator.regressor_, path)
        if inner_space != "identity":
            raise ValueError(f"nested target transforms in {path}")
        return space, leaves
    if isinstance(estimator, RidgePlusBoosting):
        return "identity", [(f"{path}.linear", estimator.linear_), (f"{path}.boosting", estimator.boosting_)]
    if isinstance(estimator, VotingRegressor):
        # VotingRegressor averages its estimators with equal weights (none set in training.candidates)
        if estimator.weights is not None:
            raise ValueError(f"weighted voting is not exported ({path})")
        share = 1.0 / len(estimator.estimators_)
        return "identity", [(f"{path}.vote{i}", _Scaled(e, share)) for i, e in enumerate(estimator.estimators_)]
    return "identity", [(path, estimator)]


class _Scaled:
    """A leaf whose output is multiplied by a constant (a voting member's share)."""

    def __init__(self, estimator: Any, factor: float) -> None:
        self.estimator, self.factor = estimator, factor


def _is_tree_model(estimator: Any) -> bool:
    return hasattr(estimator, "estimators_") or hasattr(estimator, "tree_")


def _convert(estimator: Any, n_features: int):
    """Linear leaves in double. Tree leaves in float32, as scikit-learn itself evaluates trees (it casts X to
    float32 before comparing with thresholds): in double, a value equal to a training value can land on the other
    side of a split (measured: a random forest disagreed with scikit-learn on 5% of projects in double, on none in
    float32)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.dummy import DummyRegressor

    if isinstance(estimator, DummyRegressor):  # the tenant-mean baseline: a linear model of zero slope
        from sklearn.linear_model import LinearRegression

        constant = LinearRegression()
        constant.coef_ = np.zeros(n_features)
        constant.intercept_ = np.asarray(float(np.ravel(estimator.constant_)[0]))
        constant.n_features_in_ = n_features
        estimator = constant
    tensor_type = FloatTensorType if _is_tree_model(estimator) else DoubleTensorType
    return convert_sklearn(estimator, initial_types=[("X", tensor_type([None, n_features]))], target_opset=TARGET_OPSET)


def _merge(graphs: list[tuple[str, Any]], n_features: int):
    """One graph, input X (double, [N, F]), one output per named leaf graph ([N, 1] each)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Cast", ["X"], ["X_float"], to=TensorProto.FLOAT)]
    initializers, outputs = [], []
    for index, (_name, model) in enumerate(graphs):
        prefix = f"m{index}_"
        graph = onnx.compose.add_prefix(model, prefix).graph
        source = "X_float" if graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT else "X"
        for node in graph.node:
            node.input[:] = [source if i == f"{prefix}X" else i for i in node.input]
            nodes.append(node)
        initializers.extend(graph.initializer)
        produced = graph.output[0].name
        final = f"out_{index}"
        # some converters emit float32 outputs even for double inputs: every output is cast to double
        nodes.append(helper.make_node("Cast", [produced], [f"{prefix}double"], to=TensorProto.DOUBLE))
        nodes.append(helper.make_node("Reshape", [f"{prefix}double", f"{prefix}shape"], [final]))
        initializers.append(helper.make_tensor(f"{prefix}shape", TensorProto.INT64, [2], [-1, 1]))
        outputs.append(helper.make_tensor_value_info(final, TensorProto.DOUBLE, [None, 1]))
    graph = helper.make_graph(
        nodes,
        "maestro_meta_model",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, n_features])],
        outputs,
        initializer=initializers,
    )
    opsets: dict[str, int] = {}
    for _, model in graphs:
        for entry in model.opset_import:
            opsets[entry.domain] = max(opsets.get(entry.domain, 0), entry.version)
    merged = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()], producer_name="maestro-ml"
    )
    merged.ir_version = 8  # onnxruntime 1.16.3 (the Lambda layer) reads IR <= 9
    onnx.checker.check_model(merged)
    return merged


def export_target(
    model: TargetModel, *, feature_means: np.ndarray, version: str | None = None
) -> tuple[bytes, dict[str, Any]]:
    """(ONNX bytes, manifest) for one target's chosen model and its intervals."""
    n_features = len(model.feature_names)
    graphs: list[tuple[str, Any]] = []
    scale: list[float] = []
    members = []
    for member_index, ((fitted, weight), name) in enumerate(zip(model.estimator.members, model.ensemble, strict=False)):
        space, leaves = _leaves(fitted, f"member{member_index}")
        outputs = []
        for leaf_name, leaf in leaves:
            factor = leaf.factor if isinstance(leaf, _Scaled) else 1.0
            estimator = leaf.estimator if isinstance(leaf, _Scaled) else leaf
            outputs.append(len(graphs))
            graphs.append((leaf_name, _convert(estimator, n_features)))
            scale.append(factor)
        members.append({"name": name, "weight": float(weight), "space": space, "outputs": outputs})
    quantile_outputs: dict[str, list[int]] = {}
    for fold_index, fold in enumerate(model.intervals.fold_models):
        for quantile, estimator in fold.items():
            quantile_outputs.setdefault(str(quantile), []).append(len(graphs))
            graphs.append((f"fold{fold_index}.q{quantile}", _convert(estimator, n_features)))
            scale.append(1.0)
    merged = _merge(graphs, n_features)
    onnx_bytes = merged.SerializeToString()
    intervals = model.intervals
    manifest = {
        "format": MANIFEST_FORMAT,
        "target": model.target,
        "version": version,
        "feature_names": list(model.feature_names),
        "feature_means": [float(v) for v in feature_means],
        "output_scale": scale,
        "members": members,
        "bounds": list(TARGET_BOUNDS[model.target]) if model.target in TARGET_BOUNDS else None,
        "intervals": {
            "space": intervals.space,
            "fold_of": [int(v) for v in intervals.fold_of],
            "quantile_outputs": quantile_outputs,
            "levels": {
                level: {
                    "coverage": coverage,
                    "quantiles": [str(q) for q in _quantile_pair(coverage)],
                    "scores": [float(v) for v in intervals.scores[level]],
                }
                for level, coverage in INTERVAL_LEVELS.items()
            },
        },
        "metrics": model.metrics,
        "feature_importances": model.feature_importances,
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
    }
    json.dumps(manifest)  # fails here, at export, if anything is not JSON
    return onnx_bytes, manifest
