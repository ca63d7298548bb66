"""The permission table: what each Chalice function may touch, turned into IAM statements by .functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from maestro.domain.artifact_versions import OBJECT_PREFIX as ARTIFACT_PREFIX
from maestro.ingestion.drops import (
    IMPORT_PREFIX,
    IMPORT_RESULTS_PREFIX,
    INGEST_PREFIX,
    QUARANTINE_PREFIX,
    RESULTS_PREFIX,
)
from maestro.repositories.search_index import SNAPSHOT_PREFIX as SEARCH_INDEX_PREFIX

TABLE_CRUD = (
    "dynamodb:DescribeTable",  # the health probe
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",  # TransactWriteItems needs the per-item actions, this one included
)


@dataclass(frozen=True)
class FunctionAccess:
    """What one function may touch. Each field becomes IAM statements scoped to this stack's resources."""

    # Table logical name (or "*" for every table) -> actions, granted on the table and its indexes.
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    list_bucket: bool = False  # HeadBucket is authorised by s3:ListBucket
    read_prefixes: tuple[str, ...] = ()  # "" is the whole bucket
    write_prefixes: tuple[str, ...] = ()
    all_stage_secrets: bool = False  # else only REQUIRED_SECRETS, which app.py reads at start-up
    put_events: bool = False  # events:PutEvents on the default bus (maestro.repositories.events)
    read_object_versions: bool = False  # s3:GetObjectVersion: presigned GETs pinned to a verified version
    embedding_layer: bool = False  # carries the MiniLM encoder (layers/embedding) beside the core layer
    # Feast's DynamoDB online tables (created by `feast apply`, named <table prefix>-feast-<view>): "read" for
    # request-time reads (maestro.repositories.online_features), "write" for the jobs that apply and materialise.
    feast_online: str | None = None
    # Deployed as a container image (infra/retrain.Dockerfile) with the same entry point: scikit-learn, MLflow and
    # Feast are far beyond the 250 MB zip limit.
    container_image: bool = False


# maestro.services.metrics_ingestion: the drop's tenant and project, custom types, and the exactly-once
# transaction (conditional event rows plus day aggregates and weekly rollups).
INGEST_TABLES: dict[str, tuple[str, ...]] = {
    "tenants": ("dynamodb:GetItem",),
    "projects": ("dynamodb:GetItem",),
    "metric-types": ("dynamodb:Query",),
    "process-metrics": ("dynamodb:PutItem", "dynamodb:ConditionCheckItem"),
    "metric-aggregates": ("dynamodb:UpdateItem",),
    "metric-rollups": ("dynamodb:UpdateItem",),
}
IMPACT_JOB_TABLES: dict[str, tuple[str, ...]] = {
    "projects": ("dynamodb:Query",),
    "artifact-usages": ("dynamodb:Query",),
    "artifacts": ("dynamodb:Query", "dynamodb:UpdateItem"),
    "artifact-vectors": ("dynamodb:UpdateItem",),  # the search index's impact column
}

META_JOB_TABLES: dict[str, tuple[str, ...]] = {
    "tenants": ("dynamodb:Scan", "dynamodb:GetItem"),
    "projects": ("dynamodb:Query", "dynamodb:GetItem"),
    "team-members": ("dynamodb:Query",),
    "artifact-usages": ("dynamodb:Query",),
    "process-metrics": ("dynamodb:Query",),
    "artifacts": ("dynamodb:Query",),
    "artifact-vectors": ("dynamodb:GetItem", "dynamodb:Query"),  # the search index's vectors (change counter, log)
    "jobs": ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"),
    "model-records": (
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ),
}
RETRAIN_ACCESS: dict[str, Any] = dict(
    tables=META_JOB_TABLES,
    list_bucket=True,
    read_prefixes=("meta-models/", "feast/", SEARCH_INDEX_PREFIX),  # the vectors come from the search index
    write_prefixes=("meta-models/", "feast/"),
    feast_online="write",
    container_image=True,
)

# The permission table: one entry per Chalice function name, kept to what the function's code calls (moto does
# not enforce IAM, so a call added without its permission fails only in AWS: update this with the code).
# A function missing here fails the build instead of silently getting someone else's permissions.
FUNCTION_ACCESS: dict[str, FunctionAccess] = {
    "api_handler": FunctionAccess(
        tables={"*": TABLE_CRUD},
        list_bucket=True,
        read_prefixes=("",),
        write_prefixes=("",),
        all_stage_secrets=True,
        put_events=True,
        read_object_versions=True,
        embedding_layer=True,  # query embeddings for semantic search
        feast_online="read",  # predictions read the online features
    ),
    # maestro.services.identity.authenticate: the session of a JWT, or the API key found by its id (and its
    # last-used time, touched at most once a minute); the signing keys come from REQUIRED_SECRETS.
    # users: an API key works only while its owner is active (maestro.services.identity._authenticate_api_key).
    "maestro_authorizer": FunctionAccess(
        tables={
            "sessions": ("dynamodb:GetItem",),
            "api-keys": ("dynamodb:Query", "dynamodb:UpdateItem"),
            "users": ("dynamodb:GetItem",),
        }
    ),
    # Metric drops (maestro.services.drop_ingestion) and project-import uploads (maestro.services.project_import:
    # projects and their counter, members, usages and their artifact counters, the library read once, the audit).
    "ingest_object_created": FunctionAccess(
        tables={
            **INGEST_TABLES,
            "tenants": ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"),
            "projects": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
            "team-members": ("dynamodb:PutItem",),
            "artifacts": ("dynamodb:Query", "dynamodb:UpdateItem"),
            # ConditionCheckItem: a usage is written only while its version is ready (one transaction).
            "artifact-versions": ("dynamodb:GetItem", "dynamodb:ConditionCheckItem"),
            "artifact-usages": ("dynamodb:PutItem",),
            "artifact-vectors": ("dynamodb:UpdateItem",),  # the search index's usage column, in the usage's transaction
            "users": ("dynamodb:GetItem",),
            "audit-events": ("dynamodb:Query", "dynamodb:PutItem"),
            "audit-heads": ("dynamodb:UpdateItem",),
        },
        read_prefixes=(INGEST_PREFIX, IMPORT_PREFIX, IMPORT_RESULTS_PREFIX),
        write_prefixes=(RESULTS_PREFIX, QUARANTINE_PREFIX, IMPORT_RESULTS_PREFIX),
        put_events=True,
    ),
    # SQS batches of EventBridge ProcessMetrics events (the queue's own permissions: sqs_source_resources).
    "ingest_process_metrics": FunctionAccess(tables=INGEST_TABLES),
    # maestro.services.artifact_versions: verify an upload (stream it, compare, decide once), count the
    # version and its bytes, audit the decision.
    # A servable model version's graph signature is read as it becomes ready (onnxruntime: the embedding layer).
    "verify_artifact_upload": FunctionAccess(
        tables={
            "artifact-versions": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
            "tenants": ("dynamodb:UpdateItem",),
            "artifacts": ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            "artifact-vectors": ("dynamodb:UpdateItem",),  # the index entry's version, as the counts changed
            "audit-events": ("dynamodb:Query", "dynamodb:PutItem"),
            "audit-heads": ("dynamodb:UpdateItem",),
        },
        read_prefixes=(ARTIFACT_PREFIX,),
        read_object_versions=True,
        embedding_layer=True,
    ),
    # maestro.services.model_serving, POST .../predict only (infra.template.serving): the artifact, `@alias`, the
    # ready version, its verified graph object version, the daily rollup; failures are audited (RouteKit).
    "serve_predictions": FunctionAccess(
        tables={
            "artifacts": ("dynamodb:GetItem",),
            "artifact-aliases": ("dynamodb:GetItem",),
            "artifact-versions": ("dynamodb:GetItem",),
            "serving-stats": ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            "audit-events": ("dynamodb:Query", "dynamodb:PutItem"),
            "audit-heads": ("dynamodb:UpdateItem",),
        },
        read_prefixes=(ARTIFACT_PREFIX,),
        read_object_versions=True,
        embedding_layer=True,  # onnxruntime and numpy
    ),
    # maestro.services.impact: completed projects (status index), the tenant's artifacts and their usages,
    # and the impact fields of each artifact.
    "recalculate_impact_on_outcome": FunctionAccess(tables=IMPACT_JOB_TABLES),
    # maestro.services.mlflow_sync: connected tenants, their active projects, the runs as metric events, the
    # experiment summary on the project, and each tenant's MLflow token secret.
    "sync_mlflow_hourly": FunctionAccess(
        tables={
            **INGEST_TABLES,
            "tenants": ("dynamodb:Scan", "dynamodb:GetItem"),
            "projects": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
        },
        all_stage_secrets=True,
    ),
    # maestro.services.embeddings: the artifact (and its latest text-like version's content), its index entry and
    # vector; maestro.services.search_index: the tenant's index (snapshot, entries changed since) and a new
    # snapshot when one is due.
    "embed_artifacts": FunctionAccess(
        tables={
            "artifacts": ("dynamodb:GetItem", "dynamodb:Query"),
            "artifact-versions": ("dynamodb:GetItem",),
            "artifact-vectors": ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"),
        },
        read_prefixes=(ARTIFACT_PREFIX, SEARCH_INDEX_PREFIX),
        write_prefixes=(SEARCH_INDEX_PREFIX,),
        read_object_versions=True,
        embedding_layer=True,
    ),
    # The nightly run also lists tenants (a Scan of the small tenants table, projected to the key).
    "recalculate_impact_nightly": FunctionAccess(tables={**IMPACT_JOB_TABLES, "tenants": ("dynamodb:Scan",)}),
    # maestro.services.meta.scoring: the project and its predictions, each scored once with the model version's
    # live counters in one transaction.
    "score_predictions_on_outcome": FunctionAccess(
        tables={
            "projects": ("dynamodb:GetItem",),
            "predictions": ("dynamodb:Query", "dynamodb:UpdateItem"),
            "model-records": ("dynamodb:UpdateItem",),
        }
    ),
    # maestro.jobs.retrain (container image): the tenant's whole history, the jobs, model records, the exported
    # graphs and recommender state, the Feast offline files and registry, the online tables, the embedding model.
    "retrain_meta_models_on_request": FunctionAccess(**RETRAIN_ACCESS),
    "retrain_meta_models_scheduled": FunctionAccess(**RETRAIN_ACCESS),
    # maestro.jobs.feature_refresh (container image): running projects' rows, appended and materialised.
    "refresh_features_hourly": FunctionAccess(**RETRAIN_ACCESS),
}
