"""Maestro ML: the Chalice app. Wiring only; every handler lives in functions/."""

from chalice import Chalice, Cron, Rate

from functions import artifact_versions, ingestion, jobs
from functions.api_keys import api_keys_api
from functions.artifact_aliases import artifact_aliases_api
from functions.artifact_versions import artifact_versions_api
from functions.artifacts import artifacts_api
from functions.audit import audit_api
from functions.auth import auth_api
from functions.authorizer import authorizer_api
from functions.health import health_api
from functions.metrics import metrics_api
from functions.models import models_api
from functions.openapi import openapi_api
from functions.predictions import predictions_api
from functions.projects import projects_api
from functions.serving import serving_api
from functions.tenant import tenant_api
from functions.users import users_api
from maestro.http.api import event_middleware, problem_middleware
from maestro.http.cors import cors_config, cors_middleware
from maestro.ingestion.events import process_metrics_queue
from maestro.settings import get_settings
from maestro.startup import assert_deployable

assert_deployable()

app = Chalice(app_name="maestro-ml")
app.api.cors = cors_config()  # before the blueprints: Chalice gives each route the API's CORS config as it registers
app.register_middleware(cors_middleware, "http")  # outermost: answers made by the problem middleware get CORS too
app.register_middleware(problem_middleware, "http")
for event_type in ("cloudwatch", "sqs", "scheduled"):
    app.register_middleware(event_middleware, event_type)
for blueprint in (
    authorizer_api,
    health_api,
    auth_api,
    users_api,
    api_keys_api,
    audit_api,
    tenant_api,
    projects_api,
    artifacts_api,
    metrics_api,
    artifact_versions_api,
    artifact_aliases_api,
    openapi_api,
    predictions_api,
    models_api,
    serving_api,
):
    app.register_blueprint(blueprint)


@app.on_cw_event(ingestion.object_created_pattern(), name="ingest_object_created")
def ingest_object_created(event):
    return ingestion.handle_object_created(event.to_dict())


@app.on_sqs_message(
    queue=process_metrics_queue(get_settings().table_prefix), batch_size=10, name="ingest_process_metrics"
)
def ingest_process_metrics(event):
    return ingestion.handle_process_metrics_batch(event.to_dict(), event.context)


@app.on_cw_event(jobs.OUTCOME_RECORDED_PATTERN, name="recalculate_impact_on_outcome")
def recalculate_impact_on_outcome(event):
    return jobs.recalculate_impact_for_event(event.to_dict())


@app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="recalculate_impact_nightly")
def recalculate_impact_nightly(event):
    return jobs.recalculate_impact_for_all_tenants()


@app.on_cw_event(artifact_versions.artifact_object_created_pattern(), name="verify_artifact_upload")
def verify_artifact_upload(event):
    return artifact_versions.handle_artifact_object_created(event.to_dict())


@app.schedule(Rate(1, unit=Rate.HOURS), name="sync_mlflow_hourly")
def sync_mlflow_hourly(event):
    return jobs.sync_mlflow_for_all_tenants()


@app.on_cw_event(jobs.EMBEDDING_PATTERN, name="embed_artifacts")
def embed_artifacts(event):
    return jobs.embed_for_event(event.to_dict())


@app.on_cw_event(jobs.OUTCOME_RECORDED_PATTERN, name="score_predictions_on_outcome")
def score_predictions_on_outcome(event):
    return jobs.score_predictions_for_event(event.to_dict())


# Container-image functions in AWS (infra/retrain.Dockerfile): scikit-learn, MLflow and Feast exceed the zip limit.
@app.on_cw_event(jobs.META_RETRAIN_PATTERN, name="retrain_meta_models_on_request")
def retrain_meta_models_on_request(event):
    return jobs.retrain_for_event(event.to_dict())


@app.schedule(get_settings().meta_retrain_schedule, name="retrain_meta_models_scheduled")
def retrain_meta_models_scheduled(event):
    return jobs.retrain_all_tenants()


@app.schedule(Rate(1, unit=Rate.HOURS), name="refresh_features_hourly")
def refresh_features_hourly(event):
    return jobs.refresh_features_for_all_tenants()


# POST /v1/artifacts/{id}/versions/{v}/predict in AWS: API Gateway's integration for that one path invokes this
# function (infra/template.py), which answers it through the same app, so graphs load only here (onnxruntime layer,
# more memory and /tmp) and never in api_handler.
@app.lambda_function(name="serve_predictions")
def serve_predictions(event, context):
    return app(event, context)
