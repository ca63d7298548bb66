"""/v1/artifacts/{id}/versions/{v|@alias}/predict and /serving: served ONNX model versions and their monitoring.

In AWS the predict route runs in its own function, `serve_predictions` (infra/template.py points API Gateway's
integration for that path at it): the same Chalice app with the onnxruntime layer, more memory and /tmp, so the
other functions never load a graph. onnxruntime and numpy are imported inside the use case, never with the app."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from maestro.domain import model_serving as serving_rules
from maestro.domain import serving_monitoring as monitoring_rules
from maestro.http.api import json_response
from maestro.http.requests import RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import OpenResponseModel, QueryModel, ResponseModel

serving_api = Blueprint(__name__)
routes = RouteKit(serving_api, maestro_authorizer)


class PredictIn(RequestModel):
    inputs: dict[str, Any] | None = Field(
        default=None, description="input name -> nested list, the first dimension the batch"
    )
    instances: list[Any] | None = Field(
        default=None,
        max_length=serving_rules.MAX_BATCH_ROWS,
        description=f"rows of a single-input model (at most {serving_rules.MAX_BATCH_ROWS})",
    )


class PredictionOut(ResponseModel):
    id: str
    artifact_id: str
    model_version: str = Field(description="the version that answered (what `@alias` resolved to)")
    outputs: dict[str, Any] = Field(description="output name -> nested list")
    latency_ms: float = Field(description="time in the serving use case, graph load included")


class ServingQuery(QueryModel):
    days: int = Field(
        default=monitoring_rules.DEFAULT_WINDOW_DAYS, ge=1, le=monitoring_rules.MAX_WINDOW_DAYS, description="window"
    )


class ServingView(OpenResponseModel):
    id: str
    artifact_id: str
    version: str
    window: dict[str, Any]
    requests: int
    errors: int
    latency_ms: dict[str, float | None] = Field(description="p50 and p95 over the window")
    inputs: dict[str, dict[str, Any]] = Field(description="per feature: count, mean, std, min, max, p05..p95")
    daily: list[dict[str, Any]]
    drift: dict[str, Any] = Field(
        description="method ks, alpha, reference, features {statistic, threshold, drifted}, drifted, reason"
    )


class ReferenceProfileIn(RequestModel):
    features: dict[str, list[float]] = Field(description="feature -> reference values (e.g. the training column)")


class ReferenceProfileView(ResponseModel):
    id: str
    artifact_id: str
    version: str
    features: dict[str, int] = Field(description="feature -> values kept as the reference sample")


@routes.post(
    "/v1/artifacts/{artifact_id}/versions/{version}/predict",
    permission="predict",
    body=PredictIn,
    response=PredictionOut,
    errors=(409,),
)
def predict(scope, artifact_id, version):
    """Run a served model version (or `@alias`) on `inputs` or `instances`, checked against its signature."""
    from maestro.services import model_serving

    body = scope.body()
    return json_response(model_serving.predict(scope.caller, artifact_id, version, body.inputs, body.instances))


@routes.get(
    "/v1/artifacts/{artifact_id}/versions/{version}/serving",
    permission="artifacts.read",
    query=ServingQuery,
    response=ServingView,
)
def get_serving(scope, artifact_id, version):
    """A served version's requests, errors, latency and input summaries per day, with input drift."""
    from maestro.services import serving_monitoring

    return json_response(serving_monitoring.serving_view(scope.caller, artifact_id, version, scope.params.days))


@routes.put(
    "/v1/artifacts/{artifact_id}/versions/{version}/serving/reference",
    permission="artifacts.write",
    audit="artifact.serving_reference_set",
    body=ReferenceProfileIn,
    response=ReferenceProfileView,
)
def set_reference_profile(scope, artifact_id, version):
    """Upload the reference profile drift is measured against (replaces one read from a lineage dataset)."""
    from maestro.services import serving_monitoring

    body = scope.body()
    return json_response(
        serving_monitoring.set_reference_profile(scope.caller, artifact_id, version, body.features, scope.meta)
    )
