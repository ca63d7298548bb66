"""/v1/predictions and /v1/recommendations: what the tenant's history predicts for a project or a plan."""

from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import Field, model_validator

from functions.authorizer import maestro_authorizer
from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass
from maestro.http.api import json_response
from maestro.http.requests import RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import OpenResponseModel, ResponseModel

predictions_api = Blueprint(__name__)
routes = RouteKit(predictions_api, maestro_authorizer)


class PlannedMember(RequestModel):
    role: MemberRole
    experience_level: ExperienceLevel
    hours_per_week: float | None = Field(default=None, ge=0, le=100)


class ProjectProfile(RequestModel):
    problem_class: ProblemClass
    complexity_score: float = Field(ge=1, le=10)
    team_size: int = Field(ge=1, le=500)
    description: str = Field(default="", max_length=10_000)
    members: list[PlannedMember] | None = Field(default=None, max_length=500)
    # Ids are keys: an empty one would reach DynamoDB as an empty key (a 500), so it is refused here.
    planned_artifacts: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=200
    )
    features: dict[str, float] | None = Field(default=None, max_length=200)


class ProjectOrProfile(RequestModel):
    project_id: str | None = Field(default=None, min_length=1, max_length=100)
    profile: ProjectProfile | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ProjectOrProfile":
        if (self.project_id is None) == (self.profile is None):
            raise ValueError("give exactly one of project_id and profile")
        return self


class RecommendationRequest(ProjectOrProfile):
    limit: int = Field(default=10, ge=1, le=50)


class Contribution(ResponseModel):
    feature: str
    value: float
    training_mean: float
    contribution: float


class TargetPrediction(OpenResponseModel):
    point: float | None
    intervals: dict[Literal["80", "90"], list[float] | None]
    model_version: str | None
    top_contributions: list[Contribution]
    basis: Literal["model", "prior"]


class PredictionView(OpenResponseModel):
    id: str
    project_id: str | None
    created_at: str
    basis: Literal["model", "prior"]
    features_source: str
    targets: dict[Literal["success_score", "duration_days", "compute_cost_usd"], TargetPrediction]
    imputed_features: list[str]


class RecommendedArtifact(ResponseModel):
    artifact_id: str
    name: str
    type: str
    score: float
    reasons: list[str]
    components: dict[str, float]


class RecommendationView(ResponseModel):
    id: str
    project_id: str | None
    created_at: str
    basis: Literal["model", "prior"]
    artifacts: list[RecommendedArtifact]
    artifact_ranking: dict[str, Any]
    team: dict[str, Any] | None
    team_note: str | None


def _profile(body: ProjectOrProfile) -> dict | None:
    return body.profile.model_dump(mode="json") if body.profile is not None else None


@routes.post(
    "/v1/predictions",
    permission="predictions.run",
    audit="prediction.create",
    body=ProjectOrProfile,
    response=PredictionView,
    errors=(404,),
)
def create_prediction(scope):
    """Predict success score, duration and cost with 80% and 90% intervals (stored; scored at the outcome)."""
    from maestro.services.meta import predictions  # numpy and the history module: only when predicting

    body = scope.body()
    return json_response(predictions.predict(scope.caller, body.project_id, _profile(body), scope.meta))


@routes.post(
    "/v1/recommendations",
    permission="predictions.run",
    body=RecommendationRequest,
    response=RecommendationView,
    errors=(404,),
)
def create_recommendations(scope):
    """Artifacts to reuse (learned blend, with reasons) and the team shape the models expect to do best."""
    from maestro.services.meta import recommendations  # numpy: only when recommending

    body = scope.body()
    return json_response(recommendations.recommend(scope.caller, body.project_id, _profile(body), body.limit))


class StoredPredictionView(PredictionView):
    scored: dict[str, Any] | None


@routes.get("/v1/predictions/{prediction_id}", permission="models.read", response=StoredPredictionView)
def get_prediction(scope, prediction_id):
    """A stored prediction and, once its project finished, how far off it was."""
    from maestro.services.meta import predictions

    return json_response(predictions.get_prediction(scope.caller, prediction_id))
