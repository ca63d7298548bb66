"""/v1/metrics: process-metric events over HTTP (users or API keys), and the tenant's custom metric types."""

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field, SkipValidation

from functions.authorizer import maestro_authorizer
from maestro.domain.identity.permissions import PUBLIC
from maestro.domain.metrics import CUSTOM_TYPE_PATTERN, MAX_BATCH
from maestro.http.api import json_response
from maestro.http.requests import ContentType, RequestModel, UtcDatetime, refuse_larger_batches
from maestro.http.routes import RouteKit
from maestro.http.schemas import OpenResponseModel, QueryModel, ResponseModel, as_page
from maestro.services.context import audit_as

metrics_api = Blueprint(__name__)
routes = RouteKit(metrics_api, maestro_authorizer)


class CustomTypeIn(RequestModel):
    metric_type: str = Field(pattern=CUSTOM_TYPE_PATTERN.pattern)
    unit: Literal["count", "lines", "seconds", "hours", "ratio", "usd", "percent", "bytes", "score"]
    description: str = Field(default="", max_length=1_000)


class MetricsBatchIn(RequestModel):
    """A batch of at least one metric event and at most MAX_BATCH; a larger batch is 413 (split it), not 422."""

    # Each event is judged by the ingestion pipeline, which rejects a bad one by its index (207): the model
    # passes the items on as sent, while the document shows the object an event is.
    events: list[SkipValidation[dict[str, Any]]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="metric events (docs/metrics.md): project_id, metric_type, "
        "value, timestamp, optional unit, source, metadata",
    )

    _at_most = refuse_larger_batches("events", MAX_BATCH)


class RejectedEvent(ResponseModel):
    index: int
    reason: str


class IngestResultView(ResponseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]
    rejected_count: int


class MetricTypeView(ResponseModel):
    id: str
    metric_type: str
    unit: str
    built_in: bool
    description: str | None = None


class DropUpload(ResponseModel):
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_in: int


class DropUploadView(ResponseModel):
    id: str
    key: str
    result_key: str
    upload: DropUpload


class GithubIntegrationView(ResponseModel):
    id: str
    project_id: str
    repository: str
    webhook_secret_set: bool
    webhook_url_path: str


class WebhookView(ResponseModel):
    delivery_id: str
    event: str
    handled: bool
    ignored_reason: str | None
    projects: list[dict[str, Any]]


class PeriodQuery(QueryModel):
    from_: UtcDatetime | None = Field(
        default=None,
        alias="from",
        description="ISO 8601 with zone; default the project's start (or its first event, if earlier)",
    )
    to: UtcDatetime | None = Field(
        default=None, description="ISO 8601 with zone; default the project's end (completed_at, or now while it runs)"
    )


class SeriesQuery(PeriodQuery):
    type: str = Field(description="a built-in or registered metric type")
    bucket: Literal["day", "week", "month"] | None = Field(
        default=None,
        description="the finest bucket wanted (default day); a long period coarsens it to keep ≤ 400 points",
    )


class FromTo(ResponseModel):
    from_: datetime = Field(alias="from")
    to: datetime


class StartEnd(ResponseModel):
    start: datetime
    end: datetime
    weeks: float


class SeriesPoint(ResponseModel):
    start: datetime
    count: int
    sum: float
    mean: float | None
    min: float | None
    max: float | None


class TimeSeriesView(ResponseModel):
    id: str
    project_id: str
    metric_type: str
    unit: str | None
    bucket: Literal["day", "week", "month"]
    points: list[SeriesPoint]


class MetricSummaryView(ResponseModel):
    id: str
    project_id: str
    period: FromTo
    types: dict[str, dict[str, Any]] = Field(description="per type: latest, count, mean, p50, p90, trend")


class GitView(OpenResponseModel):
    id: str
    project_id: str
    period: StartEnd
    bucket: Literal["day", "week", "month"] = Field(description="the bucket of commit_series")
    commits: int
    active_contributors: int
    lines_added: float
    lines_deleted: float


class DoraView(OpenResponseModel):
    id: str
    project_id: str
    period: StartEnd
    scope: Literal["production", "all_environments"]
    deployment_frequency: dict[str, Any]
    lead_time_for_changes: dict[str, Any]
    change_failure_rate: dict[str, Any]
    time_to_restore: dict[str, Any]


class CiView(OpenResponseModel):
    id: str
    project_id: str
    period: StartEnd
    pipeline_runs: int
    success_rate: float | None
    tests: dict[str, Any]


class VelocityView(OpenResponseModel):
    id: str
    project_id: str
    period: FromTo
    features: dict[str, float]
    score: float | None
    basis: str
    history_size: int
    components: dict[str, dict[str, Any]]
    omitted: list[dict[str, str]]


class TeamAnalyticsView(OpenResponseModel):
    id: str
    project_id: str
    period: StartEnd
    contributors: list[dict[str, Any]]
    collaboration: list[dict[str, Any]]
    review_patterns: dict[str, Any]
    recommendations: list[dict[str, Any]]


class MlflowConfigView(ResponseModel):
    id: str
    tracking_uri: str
    primary_metric: str | None
    direction: Literal["maximize", "minimize"]
    has_token: bool
    auth: Literal["bearer", "basic"] = Field(
        description="how the stored credential is sent: a token as Bearer, or user:password from the URI as Basic"
    )


class MlflowSyncView(ResponseModel):
    id: str
    project_id: str
    summary: dict[str, Any]
    events: IngestResultView


@routes.post(
    "/v1/metrics",
    permission="metrics.write",
    audit="metrics.ingest",
    body=MetricsBatchIn,
    response=IngestResultView,
    status=(200, 207),
)
def post_metrics(scope):
    """200 when every event was stored or already known; 207 when some were rejected (each with its index)."""
    from maestro.services.metrics_ingestion import ingest

    result = ingest(scope.caller.tenant_id, enumerate(scope.body().events), source="api")
    audit_as(
        scope.caller,
        "metrics.ingest",
        "metrics",
        None,
        scope.meta,
        changes={
            "after": {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": result.rejected_count}
        },
    )
    return json_response(result.to_body(), status=207 if result.rejected else 200)


@routes.get("/v1/metric-types", permission="metrics.read", response=as_page(MetricTypeView))
def list_metric_types(scope):
    """Built-in metric types and the tenant's own (one page)."""
    from maestro.services.metric_types import list_metric_types as metric_types

    return json_response({"items": metric_types(scope.caller), "next_cursor": None})


@routes.post(
    "/v1/metric-types",
    permission="metrics.write",
    audit="metrics.register_type",
    body=CustomTypeIn,
    response=MetricTypeView,
    status=201,
)
def register_metric_type(scope):
    """Register a tenant metric type with its unit."""
    from maestro.services.metric_types import register_metric_type as register

    body = scope.body()
    return json_response(register(scope.caller, body.metric_type, body.unit, body.description, scope.meta), status=201)


class IngestUploadIn(RequestModel):
    file_name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    content_type: ContentType | None = Field(default=None, max_length=100)


@routes.post(
    "/v1/projects/{project_id}/ingest-uploads",
    permission="metrics.write",
    audit="metrics.drop_upload",
    body=IngestUploadIn,
    response=DropUploadView,
    status=201,
)
def create_ingest_upload(scope, project_id):
    """A presigned PUT into the project's drop zone; the upload is ingested when it lands."""
    from maestro.services.drop_ingestion import create_upload

    body = scope.body()
    return json_response(
        create_upload(scope.caller, project_id, body.file_name, body.content_type, scope.meta), status=201
    )


class IngestUploadStateView(ResponseModel):
    id: str
    project_id: str
    key: str
    state: Literal["awaiting_upload", "processing", "ingested", "rejected"]
    manifest: dict[str, Any] | None = Field(
        description="accepted, duplicates, rejected, first_errors (line and reason), format, started_at, finished_at"
    )


@routes.get(
    "/v1/projects/{project_id}/ingest-uploads/{upload_id}", permission="metrics.read", response=IngestUploadStateView
)
def get_ingest_upload(scope, project_id, upload_id):
    """A drop's state and, once ingested, its manifest."""
    from maestro.services.drop_ingestion import upload_status

    return json_response(upload_status(scope.caller, project_id, upload_id))


class GithubIntegrationIn(RequestModel):
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=200)
    webhook_secret: str = Field(min_length=16, max_length=512)


@routes.put(
    "/v1/projects/{project_id}/integrations/github",
    permission="integrations.manage",
    audit="integration.github",
    body=GithubIntegrationIn,
    response=GithubIntegrationView,
)
def connect_github(scope, project_id):
    """Connect a GitHub repository; its webhook secret goes to Secrets Manager and is never returned."""
    from maestro.services.github_integration import connect_repository

    body = scope.body()
    return json_response(connect_repository(scope.caller, project_id, body.repository, body.webhook_secret, scope.meta))


@routes.post(
    "/v1/integrations/github/webhook", permission=PUBLIC, response=WebhookView, status=(200, 202), errors=(401,)
)
def github_webhook(scope):
    """Authenticated by the X-Hub-Signature-256 of the connected project's secret, not by a token."""
    from maestro.services.github_integration import receive_webhook

    raw = scope.request.raw_body or b""
    status, body = receive_webhook(dict(scope.request.headers or {}), raw, scope.meta)
    return json_response(body, status=status)


def _period(scope, project_id):
    """The asked period; by default the project's whole life (start or first event -> end or now)."""
    from maestro.services.analytics import period

    return period(scope.caller, project_id, scope.params.from_, scope.params.to)


@routes.get("/v1/projects/{project_id}/metrics", permission="metrics.read", query=SeriesQuery, response=TimeSeriesView)
def project_metrics(scope, project_id):
    """One metric type per day, week or month over the period."""
    from maestro.services import analytics

    start, end = _period(scope, project_id)
    params = scope.params
    return json_response(analytics.time_series(scope.caller, project_id, params.type, start, end, params.bucket))


@routes.get(
    "/v1/projects/{project_id}/metrics/summary",
    permission="metrics.read",
    query=PeriodQuery,
    response=MetricSummaryView,
)
def project_metrics_summary(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.metric_summary(scope.caller, project_id, *_period(scope, project_id)))


@routes.get("/v1/projects/{project_id}/git", permission="metrics.read", query=PeriodQuery, response=GitView)
def project_git(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.git(scope.caller, project_id, *_period(scope, project_id)))


@routes.get("/v1/projects/{project_id}/dora", permission="metrics.read", query=PeriodQuery, response=DoraView)
def project_dora(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.dora(scope.caller, project_id, *_period(scope, project_id)))


@routes.get("/v1/projects/{project_id}/ci", permission="metrics.read", query=PeriodQuery, response=CiView)
def project_ci(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.ci(scope.caller, project_id, *_period(scope, project_id)))


@routes.get("/v1/projects/{project_id}/velocity", permission="metrics.read", query=PeriodQuery, response=VelocityView)
def project_velocity(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.velocity(scope.caller, project_id, *_period(scope, project_id)))


@routes.get(
    "/v1/projects/{project_id}/team-analytics", permission="metrics.read", query=PeriodQuery, response=TeamAnalyticsView
)
def project_team_analytics(scope, project_id):
    from maestro.services import analytics

    return json_response(analytics.team(scope.caller, project_id, *_period(scope, project_id)))


class MlflowIntegrationIn(RequestModel):
    tracking_uri: str = Field(min_length=8, max_length=500)
    primary_metric: str | None = Field(default=None, max_length=250)
    direction: Literal["maximize", "minimize"] = "maximize"
    token: str | None = Field(default=None, min_length=1, max_length=4_096)


@routes.put(
    "/v1/integrations/mlflow",
    permission="integrations.manage",
    audit="integration.mlflow",
    body=MlflowIntegrationIn,
    response=MlflowConfigView,
)
def connect_mlflow(scope):
    from maestro.services import mlflow_sync

    body = scope.body()
    return json_response(
        mlflow_sync.configure(
            scope.caller, body.tracking_uri, body.primary_metric, body.direction, body.token, scope.meta
        )
    )


@routes.post(
    "/v1/projects/{project_id}/integrations/mlflow/sync",
    permission="metrics.write",
    audit="integration.mlflow_sync",
    response=MlflowSyncView,
    errors=(503,),
)
def sync_mlflow(scope, project_id):
    from maestro.services import mlflow_sync

    return json_response(mlflow_sync.sync(scope.caller, project_id, scope.meta))
