"""What the deployed platform needs beyond what `chalice package` creates, as a template to merge into
Chalice's SAM output (`chalice package --merge-template`).

Built from the template Chalice emits, so the merge names Chalice's own logical ids (APIHandler, RestAPI,
one function per event handler) and cannot drift from them. Everything is on demand: pay-per-request tables,
no provisioned concurrency, nothing running while idle.

The parts, one module each: the stage and the functions Chalice emitted (.stage), the permission table
(.access), tables, bucket and secrets (.storage), per-function roles, queues and rules (.functions), alarms and
the dashboard (.monitoring), API Gateway authorizers and error answers (.api), and the merge itself (.merge).
"""

from infra.template.access import (
    FUNCTION_ACCESS,
    IMPACT_JOB_TABLES,
    INGEST_TABLES,
    META_JOB_TABLES,
    RETRAIN_ACCESS,
    TABLE_CRUD,
    FunctionAccess,
)
from infra.template.api import REQUEST_AUTHORIZERS, gateway_responses, security_definitions
from infra.template.functions import access_statements, function_resources, queue_feeds, sqs_source_resources
from infra.template.merge import (
    CONTAINER_IMAGE_PARAMETER,
    CONTAINER_MEMORY_MB,
    CONTAINER_TIMEOUT_SECONDS,
    MLFLOW_URI_PARAMETER,
    check_merged,
    container_image_functions,
    merge_template,
    use_container_images,
)
from infra.template.monitoring import METRICS_NAMESPACE, METRICS_SERVICE, dashboard_resource
from infra.template.stage import (
    ALARM_TOPIC,
    APP_NAME,
    ARTIFACT_BUCKET,
    ARTIFACT_KEY,
    ASYNC_EVENT_TYPES,
    CORE_LAYER,
    CORE_LAYER_CONTENT_URI,
    DASHBOARD,
    EMBEDDING_LAYER,
    EMBEDDING_LAYER_CONTENT_URI,
    EVENT_BUS,
    PROJECT_DIR,
    RULE_EVENT_TYPES,
    ChaliceFunction,
    StageConfig,
    UndeclaredFunction,
    chalice_functions,
    load_stage_config,
    rest_apis,
    secret_logical_id,
    table_logical_id,
)
from infra.template.storage import (
    GENERATED_SECRET,
    QUARANTINE_EXPIRY_DAYS,
    SECRET_SHAPES,
    SEED,
    bucket_resources,
    secret_resources,
    table_resources,
)

__all__ = [
    "ALARM_TOPIC",
    "APP_NAME",
    "ARTIFACT_BUCKET",
    "ARTIFACT_KEY",
    "ASYNC_EVENT_TYPES",
    "CONTAINER_IMAGE_PARAMETER",
    "CONTAINER_MEMORY_MB",
    "CONTAINER_TIMEOUT_SECONDS",
    "CORE_LAYER",
    "CORE_LAYER_CONTENT_URI",
    "ChaliceFunction",
    "DASHBOARD",
    "EMBEDDING_LAYER",
    "EMBEDDING_LAYER_CONTENT_URI",
    "EVENT_BUS",
    "FUNCTION_ACCESS",
    "FunctionAccess",
    "GENERATED_SECRET",
    "IMPACT_JOB_TABLES",
    "INGEST_TABLES",
    "META_JOB_TABLES",
    "METRICS_NAMESPACE",
    "METRICS_SERVICE",
    "MLFLOW_URI_PARAMETER",
    "PROJECT_DIR",
    "QUARANTINE_EXPIRY_DAYS",
    "REQUEST_AUTHORIZERS",
    "RETRAIN_ACCESS",
    "RULE_EVENT_TYPES",
    "SECRET_SHAPES",
    "SEED",
    "StageConfig",
    "TABLE_CRUD",
    "UndeclaredFunction",
    "access_statements",
    "bucket_resources",
    "chalice_functions",
    "check_merged",
    "container_image_functions",
    "dashboard_resource",
    "function_resources",
    "gateway_responses",
    "load_stage_config",
    "merge_template",
    "queue_feeds",
    "rest_apis",
    "secret_logical_id",
    "secret_resources",
    "security_definitions",
    "sqs_source_resources",
    "table_logical_id",
    "table_resources",
    "use_container_images",
]
