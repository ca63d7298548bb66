"""/v1/models/meta: the outcome models' champions, live error and history; retraining on request."""

from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from maestro.http.api import json_response
from maestro.http.routes import RouteKit
from maestro.http.schemas import OpenResponseModel, ResponseModel
from maestro.services.meta import models

models_api = Blueprint(__name__)
routes = RouteKit(models_api, maestro_authorizer)


class JobView(ResponseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    detail: dict[str, Any]
    created_at: str
    updated_at: str


class TargetModelsView(ResponseModel):
    champion: dict[str, Any] | None
    history: list[dict[str, Any]]
    serves: str | None = Field(
        default=None,
        description="searched (it beat both baselines on the hold-out set) or baseline:<name>; null without a champion",
    )


class TrainingDataView(ResponseModel):
    projects: int
    used: int
    left_out: dict[Literal["no_outcome", "not_ended", "invalid", "without_features"], int]
    min_completed_projects: int
    counted_at: str


class MetaModelsView(OpenResponseModel):
    id: str
    basis: Literal["model", "prior"]
    min_completed_projects: int
    training_data: TrainingDataView | None = None
    targets: dict[Literal["success_score", "duration_days", "compute_cost_usd"], TargetModelsView]
    recommender: dict[str, Any] | None


@routes.get("/v1/models/meta", permission="models.read", response=MetaModelsView)
def get_meta_models(scope):
    """Each target's champion (hold-out and baseline figures, training date, data size, live error) and history."""
    return json_response(models.overview(scope.caller))


@routes.post(
    "/v1/models/meta/retrain", permission="models.retrain", audit="models.retrain", response=JobView, status=202
)
def retrain_meta_models(scope):
    """Queue a retrain of the tenant's outcome models and recommender; poll the job for its state."""
    return json_response(models.request_retrain(scope.caller, scope.meta), status=202)


@routes.get("/v1/models/meta/jobs/{job_id}", permission="models.read", response=JobView)
def get_retrain_job(scope, job_id):
    """A retrain job's state and progress."""
    return json_response(models.get_job(scope.caller, job_id))
