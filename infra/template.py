"""What the deployed platform needs beyond what `chalice package` creates, as a template to merge into
Chalice's SAM output (`chalice package --merge-template`).

Built from the template Chalice emits, so the merge names Chalice's own logical ids (APIHandler, RestAPI,
one function per event handler) and cannot drift from them. Everything is on demand: pay-per-request tables,
no provisioned concurrency, nothing running while idle.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from infra.gateway_responses import GATEWAY_RESPONSES
from infra.layers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from maestro.domain.artifact_versions import OBJECT_PREFIX as ARTIFACT_PREFIX
from maestro.http.problems import PROBLEM_CONTENT_TYPE
from maestro.ingestion.drops import INGEST_PREFIX, QUARANTINE_PREFIX, RESULTS_PREFIX
from maestro.repositories.search_index import SNAPSHOT_PREFIX as SEARCH_INDEX_PREFIX
from maestro.ingestion.events import process_metrics_pattern, process_metrics_queue
from maestro.repositories.schema import TABLE_MODELS, MaestroModel, table_definition
from maestro.secrets import REQUIRED_SECRETS
from maestro.settings import parse_origins

PROJECT_DIR = Path(__file__).resolve().parents[1]
APP_NAME = "maestro-ml"
METRICS_NAMESPACE = "MaestroML"
METRICS_SERVICE = "maestro"  # Powertools adds it as the `service` dimension of every platform metric
QUARANTINE_EXPIRY_DAYS = 30

CORE_LAYER = "CoreLayer"
CORE_LAYER_CONTENT_URI = "./layers/core.zip"  # relative to the packaged template, as CodeUri ./deployment.zip
# onnxruntime, tokenizers, maestro_embedding and the exported MiniLM (infra/embedding_layer.py). Deployed as a
# layer version of its own; the functions that embed text attach it beside the core layer.
EMBEDDING_LAYER = "EmbeddingLayer"
EMBEDDING_LAYER_CONTENT_URI = "./layers/embedding.zip"
ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_KEY = "ArtifactKey"
EVENT_BUS = "EventBus"
ALARM_TOPIC = "AlarmTopic"
DASHBOARD = "Dashboard"

# Event sources Lambda invokes asynchronously (so failures go to the function's dead-letter queue).
RULE_EVENT_TYPES = {"CloudWatchEvent", "EventBridgeRule", "Schedule"}
ASYNC_EVENT_TYPES = RULE_EVENT_TYPES | {"SNS"}

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
# transaction (conditional event rows plus day aggregates).
INGEST_TABLES: dict[str, tuple[str, ...]] = {
    "tenants": ("dynamodb:GetItem",),
    "projects": ("dynamodb:GetItem",),
    "metric-types": ("dynamodb:Query",),
    "process-metrics": ("dynamodb:PutItem", "dynamodb:ConditionCheckItem"),
    "metric-aggregates": ("dynamodb:UpdateItem",),
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
    "artifact-vectors": ("dynamodb:Query",),
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
    "maestro_authorizer": FunctionAccess(
        tables={"sessions": ("dynamodb:GetItem",), "api-keys": ("dynamodb:Query", "dynamodb:UpdateItem")}
    ),
    "ingest_object_created": FunctionAccess(
        tables=INGEST_TABLES, read_prefixes=(INGEST_PREFIX,), write_prefixes=(RESULTS_PREFIX, QUARANTINE_PREFIX)
    ),
    # SQS batches of EventBridge ProcessMetrics events (the queue's own permissions: sqs_source_resources).
    "ingest_process_metrics": FunctionAccess(tables=INGEST_TABLES),
    # maestro.services.artifact_versions: verify an upload (stream it, compare, decide once), count the
    # version and its bytes, audit the decision.
    "verify_artifact_upload": FunctionAccess(
        tables={
            "artifact-versions": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
            "tenants": ("dynamodb:UpdateItem",),
            "artifacts": ("dynamodb:UpdateItem",),
            "audit-events": ("dynamodb:Query", "dynamodb:PutItem"),
            "audit-heads": ("dynamodb:UpdateItem",),
        },
        read_prefixes=(ARTIFACT_PREFIX,),
        read_object_versions=True,
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
    # maestro.services.embeddings: the artifact (and its latest text-like version's content), its vector.
    # maestro.services.search_index: the tenant's index (its snapshot, the entries changed since) and a new
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
    # maestro.ml.retrain (container image): the tenant's whole history, the jobs, model records, the exported
    # graphs and recommender state, the Feast offline files and registry, the online tables, the embedding model.
    "retrain_meta_models_on_request": FunctionAccess(**RETRAIN_ACCESS),
    "retrain_meta_models_scheduled": FunctionAccess(**RETRAIN_ACCESS),
    # maestro.ml.feature_refresh (container image): running projects' rows, appended and materialised.
    "refresh_features_hourly": FunctionAccess(**RETRAIN_ACCESS),
}
CONTAINER_IMAGE_PARAMETER = "RetrainImageUri"
MLFLOW_URI_PARAMETER = "MlflowTrackingUri"
CONTAINER_MEMORY_MB = {  # the retrains get Lambda's maximum (6 vCPUs for the model search); the hourly refresh
    "retrain_meta_models_on_request": 10240,
    "retrain_meta_models_scheduled": 10240,
    "refresh_features_hourly": 2048,
}
CONTAINER_TIMEOUT_SECONDS = 900
# Custom authorizers deployed as REQUEST authorizers with no identity source and no cache, so a request that
# carries only X-Api-Key (no Authorization header) still reaches the function (maestro.http.authorizer).
REQUEST_AUTHORIZERS = {"maestro_authorizer"}

# The first value of each required secret, generated by Secrets Manager when the stack creates it (never a
# value from the repository). GenerateSecretString can only add a random string as a top-level key, so a
# secret shaped otherwise gets a seed secret holding the random string, and its value is composed around it
# by a dynamic reference that CloudFormation resolves at creation. SEED marks where the random string goes.
SEED = "<generated>"
SECRET_SHAPES: dict[str, Any] = {
    # maestro.domain.identity.tokens.SigningKeyRing.from_secret reads this shape.
    "jwt-signing-keys": {"active_kid": "generated-1", "keys": [{"kid": "generated-1", "secret": SEED}]},
}
GENERATED_SECRET = {
    "SecretStringTemplate": "{}",
    "GenerateStringKey": "secret",
    "PasswordLength": 64,
    "ExcludePunctuation": True,
}


class UndeclaredFunction(LookupError):
    """A Chalice function has no entry in FUNCTION_ACCESS (or an event source with no dead-letter wiring)."""


@dataclass(frozen=True)
class StageConfig:
    """One stage of .chalice/config.json: the names its resources get."""

    stage: str
    environment: dict[str, str]

    @property
    def table_prefix(self) -> str:
        return self.environment["MAESTRO_TABLE_PREFIX"]

    @property
    def artifact_bucket(self) -> str:
        return self.environment["MAESTRO_ARTIFACT_BUCKET"]

    @property
    def event_bus_name(self) -> str:
        return self.environment["MAESTRO_EVENT_BUS_NAME"]

    @property
    def secrets_prefix(self) -> str:
        return self.environment["MAESTRO_SECRETS_PREFIX"]

    @property
    def console_origin(self) -> str | None:
        """The web console's origin (the first of MAESTRO_CORS_ORIGINS), if the stage serves one."""
        origins = parse_origins(self.environment.get("MAESTRO_CORS_ORIGINS", ""))
        return origins[0] if origins else None

    @property
    def log_retention_days(self) -> int:
        return 90 if self.stage == "prod" else 14

    def resource_name(self, suffix: str) -> str:
        return f"{APP_NAME}-{self.stage}-{suffix}"


def load_stage_config(stage: str, config_path: Path = PROJECT_DIR / ".chalice" / "config.json") -> StageConfig:
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise KeyError(f"stage {stage!r} is not in {config_path}")
    environment = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    return StageConfig(stage, environment)


@dataclass(frozen=True)
class ChaliceFunction:
    """A function as `chalice package` emits it."""

    logical_id: str
    name: str  # Chalice's name: "api_handler" or the event handler's name
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def is_async(self) -> bool:
        return any(event.get("Type") in ASYNC_EVENT_TYPES for event in self.events.values())

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.logical_id}DeadLetterQueue"


def chalice_functions(chalice_template: dict[str, Any]) -> list[ChaliceFunction]:
    functions = []
    for logical_id, resource in chalice_template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        # Handlers are "app.app" (the API), "app.<event handler>" or "<module>.<authorizer>"; a container image
        # function (use_container_images) names the same handler as its image command.
        properties = resource["Properties"]
        handler = properties.get("Handler") or properties["ImageConfig"]["Command"][0]
        name = handler.rsplit(".", 1)[1]
        functions.append(
            ChaliceFunction(
                logical_id, "api_handler" if name == "app" else name, resource["Properties"].get("Events", {})
            )
        )
    return functions


def rest_apis(chalice_template: dict[str, Any]) -> list[str]:
    return [k for k, r in chalice_template["Resources"].items() if r["Type"] == "AWS::Serverless::Api"]


def table_logical_id(model: type[MaestroModel]) -> str:
    return "Table" + to_cfn_resource_name(model.logical_name)


def secret_logical_id(name: str) -> str:
    return "Secret" + to_cfn_resource_name(name)


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _retained(resource: dict[str, Any]) -> dict[str, Any]:
    # Stateful: deleting or replacing the stack must not delete the data.
    return {**resource, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


# ---------------------------------------------------------------- storage
def table_resources(stage: StageConfig) -> dict[str, Any]:
    return {
        table_logical_id(model): _retained(
            {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": f"{stage.table_prefix}-{model.logical_name}",
                    **table_definition(model),
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                },
            }
        )
        for model in TABLE_MODELS
    }


def bucket_resources(stage: StageConfig) -> dict[str, Any]:
    bucket_arn = _arn(ARTIFACT_BUCKET)
    return {
        ARTIFACT_KEY: _retained(
            {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "Description": f"{stage.resource_name('artifacts')}: encrypts the artifact bucket",
                    "EnableKeyRotation": True,
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                # The account administers the key; the functions' roles are granted use in IAM.
                                "Sid": "AccountAdministers",
                                "Effect": "Allow",
                                "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    },
                },
            }
        ),
        "ArtifactKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": f"alias/{stage.resource_name('artifacts')}",
                "TargetKeyId": {"Ref": ARTIFACT_KEY},
            },
        },
        ARTIFACT_BUCKET: _retained(
            {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": stage.artifact_bucket,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": _arn(ARTIFACT_KEY),
                                },
                                "BucketKeyEnabled": True,  # one KMS call per bucket key, not per object: cheaper
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Id": "expire-quarantine",
                                "Status": "Enabled",
                                "Prefix": QUARANTINE_PREFIX,
                                "ExpirationInDays": QUARANTINE_EXPIRY_DAYS,
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            },
                            {
                                "Id": "abort-incomplete-uploads",
                                "Status": "Enabled",
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                            },
                        ]
                    },
                    # Object-created events reach the ingest function through EventBridge (the default bus).
                    "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
                    **_console_upload_cors(stage),
                },
            }
        ),
        "ArtifactBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": ARTIFACT_BUCKET},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket_arn, _sub("${ArtifactBucket.Arn}/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def secret_resources(stage: StageConfig) -> dict[str, Any]:
    resources = {}
    for name in REQUIRED_SECRETS:
        logical_id = secret_logical_id(name)
        properties: dict[str, Any] = {
            "Name": f"{stage.secrets_prefix}/{name}",
            "Description": f"{APP_NAME} {stage.stage}: {name} (random at creation; rotate by writing a new value)",
        }
        shape = SECRET_SHAPES.get(name)
        if shape is None:
            properties["GenerateSecretString"] = GENERATED_SECRET
        else:
            seed = f"{logical_id}Seed"
            resources[seed] = _retained(
                {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {
                        "Name": f"{stage.secrets_prefix}/{name}-seed",
                        "Description": f"{APP_NAME} {stage.stage}: the random string {name} was first built from",
                        "GenerateSecretString": GENERATED_SECRET,
                    },
                }
            )
            key = GENERATED_SECRET["GenerateStringKey"]
            reference = f"{{{{resolve:secretsmanager:${{{seed}}}:SecretString:{key}}}}}"
            # Constant text: stack updates leave the value alone, so a rotated value is not written back.
            properties["SecretString"] = _sub(json.dumps(shape).replace(json.dumps(SEED), f'"{reference}"'))
        resources[logical_id] = _retained({"Type": "AWS::SecretsManager::Secret", "Properties": properties})
    return resources


# ---------------------------------------------------------------- functions
def _table_arns(logical_names: set[str]) -> list[Any]:
    arns: list[Any] = []
    known = {model.logical_name for model in TABLE_MODELS}
    if logical_names - known - {"*"}:
        raise UndeclaredFunction(f"FUNCTION_ACCESS names unknown tables: {sorted(logical_names - known - {'*'})}")
    for model in TABLE_MODELS:
        if "*" not in logical_names and model.logical_name not in logical_names:
            continue
        logical_id = table_logical_id(model)
        arns.append(_arn(logical_id))
        definition = table_definition(model)
        if definition.get("GlobalSecondaryIndexes") or definition.get("LocalSecondaryIndexes"):
            arns.append(_sub(f"${{{logical_id}.Arn}}/index/*"))
    return arns


def _object_arns(prefixes: tuple[str, ...]) -> list[Any]:
    return [_sub(f"${{{ARTIFACT_BUCKET}.Arn}}/{prefix}*") for prefix in prefixes]


def access_statements(function: ChaliceFunction, access: FunctionAccess, stage: StageConfig) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _arn(f"{function.logical_id}LogGroup"),
        },
        # X-Ray has no resource-level permissions; these two actions only write trace segments.
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]
    by_actions: dict[tuple[str, ...], set[str]] = {}
    for table, actions in access.tables.items():
        by_actions.setdefault(tuple(actions), set()).add(table)
    for number, (actions, tables) in enumerate(sorted(by_actions.items()), start=1):
        statements.append(
            {"Sid": f"Tables{number}", "Effect": "Allow", "Action": list(actions), "Resource": _table_arns(tables)}
        )
    if access.list_bucket:
        statements.append(
            {"Sid": "BucketHead", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": _arn(ARTIFACT_BUCKET)}
        )
    if access.read_prefixes:
        statements.append(
            {
                "Sid": "ObjectsRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"] if access.read_object_versions else "s3:GetObject",
                "Resource": _object_arns(access.read_prefixes),
            }
        )
    if access.write_prefixes:
        statements.append(
            {
                "Sid": "ObjectsWrite",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": _object_arns(access.write_prefixes),
            }
        )
    key_actions = (["kms:Decrypt"] if access.read_prefixes else []) + (
        ["kms:GenerateDataKey"] if access.write_prefixes else []
    )
    if key_actions:
        statements.append(
            {"Sid": "ArtifactKey", "Effect": "Allow", "Action": key_actions, "Resource": _arn(ARTIFACT_KEY)}
        )
    if access.all_stage_secrets:
        secrets: Any = _sub(
            f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}"
            f":secret:{stage.secrets_prefix}/*"
        )
    else:
        secrets = [{"Ref": secret_logical_id(name)} for name in REQUIRED_SECRETS]
    statements.append(
        {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets}
    )
    if access.feast_online:
        actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem"]
        if access.feast_online == "write":  # feast apply creates and describes its tables; materialise writes
            actions += [
                "dynamodb:CreateTable",
                "dynamodb:DescribeTable",
                "dynamodb:BatchWriteItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ]
        statements.append(
            {
                "Sid": "FeastOnline",
                "Effect": "Allow",
                "Action": actions,
                "Resource": _sub(
                    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}"
                    f":table/{stage.table_prefix}-feast-*"
                ),
            }
        )
    if access.put_events:
        statements.append(
            {
                "Sid": "PlatformEvents",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": _sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"),
            }
        )
    if function.is_async:
        statements.append(
            {
                "Sid": "DeadLetters",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": _arn(function.dead_letter_queue),
            }
        )
    return statements


def _rule_name(stage: StageConfig, function: ChaliceFunction, event_id: str) -> str:
    name = stage.resource_name(re.sub(r"[^A-Za-z0-9.-]+", "-", function.name))
    if len(function.events) > 1:
        name += "-" + event_id
    return name[:64]


def _named_resources(value: Any, names: dict[str, dict[str, str]]) -> Any:
    """`value` with every string naming one of this stack's resources replaced by a Ref to it."""
    if isinstance(value, dict):
        return {k: _named_resources(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_named_resources(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def _event_overrides(stage: StageConfig, function: ChaliceFunction) -> tuple[dict[str, Any], list[str]]:
    """The events rewired with a dead-letter queue for undeliverable events; returns (events, rule names)."""
    events, rule_names = {}, []
    stack_names = {stage.artifact_bucket: {"Ref": ARTIFACT_BUCKET}, stage.event_bus_name: {"Ref": EVENT_BUS}}
    for event_id, event in function.events.items():
        kind = event.get("Type")
        if kind not in ASYNC_EVENT_TYPES:
            raise UndeclaredFunction(f"{function.name}: no dead-letter wiring for {kind} events in infra/template.py")
        if kind not in RULE_EVENT_TYPES:
            continue
        properties = dict(event.get("Properties", {}))
        rule_name = _rule_name(stage, function, event_id)
        rule_names.append(rule_name)
        if kind == "Schedule":
            properties.update(Name=rule_name, DeadLetterConfig={"Arn": _arn(function.dead_letter_queue)})
        else:
            # EventBridgeRule is SAM's successor of CloudWatchEvent, with the same rule plus a target DLQ.
            kind = "EventBridgeRule"
            properties["Pattern"] = _named_resources(properties["Pattern"], stack_names)
            properties.update(RuleName=rule_name, DeadLetterConfig={"Arn": _arn(function.dead_letter_queue)})
        events[event_id] = {"Type": kind, "Properties": properties}
    return events, rule_names


def function_resources(function: ChaliceFunction, stage: StageConfig) -> dict[str, Any]:
    access = FUNCTION_ACCESS.get(function.name)
    if access is None:
        raise UndeclaredFunction(
            f"function {function.name} ({function.logical_id}) has no entry in "
            "infra/template.py FUNCTION_ACCESS: declare what it may touch"
        )
    log_group = f"{function.logical_id}LogGroup"
    role = f"{function.logical_id}Role"
    overrides: dict[str, Any] = {
        "Role": _arn(role),
        "Layers": [{"Ref": CORE_LAYER}] + ([{"Ref": EMBEDDING_LAYER}] if access.embedding_layer else []),
        "Tracing": "Active",
        "LoggingConfig": {"LogGroup": {"Ref": log_group}},
        "Environment": {
            "Variables": {
                "MAESTRO_ARTIFACT_BUCKET": {"Ref": ARTIFACT_BUCKET},
                "MAESTRO_EVENT_BUS_NAME": {"Ref": EVENT_BUS},
            }
        },
    }
    resources: dict[str, Any] = {
        log_group: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{stage.resource_name(function.name)}",
                "RetentionInDays": stage.log_retention_days,
            },
        },
        role: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": f"{function.name}-access",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": access_statements(function, access, stage),
                        },
                    }
                ],
            },
        },
        f"{function.logical_id}ErrorsAlarm": _lambda_alarm(function, "Errors"),
        f"{function.logical_id}ThrottlesAlarm": _lambda_alarm(function, "Throttles"),
    }
    if function.is_async:
        queue = function.dead_letter_queue
        events, rule_names = _event_overrides(stage, function)
        overrides["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": _arn(queue)}
        if events:
            overrides["Events"] = events
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        }
        if rule_names:
            resources[f"{queue}Policy"] = {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": queue}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "RuleDeadLetters",
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": _arn(queue),
                                "Condition": {
                                    "ArnEquals": {
                                        "aws:SourceArn": [
                                            _sub(
                                                f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{n}"
                                            )
                                            for n in rule_names
                                        ]
                                    }
                                },
                            }
                        ],
                    },
                },
            }
        resources[f"{queue}DepthAlarm"] = _alarm(
            f"{function.name}: events waiting in its dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            {"Fn::GetAtt": [queue, "QueueName"]},
            "Maximum",
        )
    sqs_events = {event_id: event for event_id, event in function.events.items() if event.get("Type") == "SQS"}
    if sqs_events:
        events, queue_resources = sqs_source_resources(function, stage, sqs_events)
        overrides.setdefault("Events", {}).update(events)
        resources.update(queue_resources)
        resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
            {
                "Sid": "ConsumeQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": [_arn(f"{function.logical_id}Queue")],
            }
        )
    resources[function.logical_id] = {"Properties": overrides}
    if sqs_events:
        resources[function.logical_id]["DependsOn"] = [f"{function.logical_id}Queue"]
    return resources


def queue_feeds(stage: StageConfig) -> dict[str, dict[str, Any]]:
    """Queues the stack creates for SQS-triggered functions, by name, with the EventBridge pattern feeding each."""
    return {process_metrics_queue(stage.table_prefix): process_metrics_pattern()}


def sqs_source_resources(
    function: ChaliceFunction, stage: StageConfig, sqs_events: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The queue an SQS function consumes (fed by an EventBridge rule), its dead-letter queue after 3 failed
    receives, and the event source reporting failures per record (ReportBatchItemFailures)."""
    feeds = queue_feeds(stage)
    queue, dead_letters, rule = (
        f"{function.logical_id}Queue",
        f"{function.logical_id}QueueDeadLetters",
        f"{function.logical_id}QueueRule",
    )
    events, resources = {}, {}
    for event_id, event in sqs_events.items():
        name = str(event["Properties"].get("Queue", "")).rsplit(":", 1)[-1]
        name = next((known for known in feeds if known in json.dumps(event["Properties"].get("Queue"))), name)
        if name not in feeds:
            raise UndeclaredFunction(f"{function.name}: no feeding rule for queue {name} in infra/template.py")
        # Chalice names the queue by ARN (Fn::Sub of its name); the queue below carries that name, and the
        # function depends on it so the event source mapping is created after the queue exists.
        events[event_id] = {"Type": "SQS", "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
        resources[dead_letters] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        }
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name,
                "SqsManagedSseEnabled": True,
                "VisibilityTimeout": 180,
                "RedrivePolicy": {"deadLetterTargetArn": _arn(dead_letters), "maxReceiveCount": 3},
            },
        }
        resources[rule] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": stage.resource_name(f"{function.name.replace('_', '-')}-feed")[:64],
                "EventPattern": feeds[name],
                "State": "ENABLED",
                "Targets": [{"Id": "queue", "Arn": _arn(queue)}],
            },
        }
        resources[f"{queue}Policy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": queue}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "RuleDelivers",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": _arn(queue),
                            "Condition": {"ArnEquals": {"aws:SourceArn": _arn(rule)}},
                        }
                    ],
                },
            },
        }
        resources[f"{dead_letters}DepthAlarm"] = _alarm(
            f"{function.name}: records that failed three times",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            {"Fn::GetAtt": [dead_letters, "QueueName"]},
            "Maximum",
        )
    return events, resources


# ---------------------------------------------------------------- monitoring
def _alarm(description: str, namespace: str, metric: str, dimension: str, value: Any, statistic: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": value}],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",  # idle is healthy
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _lambda_alarm(function: ChaliceFunction, metric: str) -> dict[str, Any]:
    return _alarm(
        f"{function.name}: {metric.lower()}", "AWS/Lambda", metric, "FunctionName", {"Ref": function.logical_id}, "Sum"
    )


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "metrics": metrics,
            "view": "timeSeries",
            "stacked": False,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": 300,
        },
    }


def dashboard_resource(stage: StageConfig, functions: list[ChaliceFunction]) -> dict[str, Any]:
    """The platform's own metrics (Powertools EMF, namespace MaestroML) beside its functions' and DLQs'."""
    platform = [METRICS_NAMESPACE]
    http = [[*platform, f"Http{n}xx", "service", METRICS_SERVICE] for n in (2, 4, 5)]
    drops = [[*platform, f"IngestDrops{s}", "service", METRICS_SERVICE] for s in ("Received", "Rejected")]
    by_function = [
        ["AWS/Lambda", "{metric}", "FunctionName", f"${{{f.logical_id}}}", {"label": f.name}] for f in functions
    ]
    queues = [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            f"${{{f.dead_letter_queue}.QueueName}}",
            {"label": f.name},
        ]
        for f in functions
        if f.is_async
    ]

    def per_function(metric: str) -> list[list[Any]]:
        return [[m if m != "{metric}" else metric for m in row] for row in by_function]

    widgets = [
        _widget("HTTP responses", http, 0, 0),
        _widget("Ingest drops", drops, 12, 0),
        _widget("Function duration (p95, ms)", per_function("Duration"), 0, 6, stat="p95"),
        _widget("Function errors", per_function("Errors"), 12, 6),
        _widget("Function throttles", per_function("Throttles"), 0, 12),
    ]
    if queues:
        widgets.append(_widget("Dead-letter queue depth", queues, 12, 12, stat="Maximum"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": stage.resource_name("platform"),
            "DashboardBody": _sub(json.dumps({"widgets": widgets}, separators=(",", ":"))),
        },
    }


def security_definitions(chalice_template: dict[str, Any], api: str) -> dict[str, Any]:
    """The custom authorizers of REQUEST_AUTHORIZERS switched from Chalice's TOKEN type to REQUEST."""
    definitions = chalice_template["Resources"][api]["Properties"]["DefinitionBody"].get("securityDefinitions", {})
    overrides = {}
    for name, definition in definitions.items():
        authorizer = definition.get("x-amazon-apigateway-authorizer")
        if name in REQUEST_AUTHORIZERS and authorizer:
            if "identitySource" in authorizer:  # the merge can add and replace keys, not remove them
                raise ValueError(f"{name}: Chalice emitted an identity source; REQUEST without one needs a change here")
            overrides[name] = {"x-amazon-apigateway-authorizer": {"type": "request", "authorizerResultTtlInSeconds": 0}}
    return overrides


def _console_upload_cors(stage: StageConfig) -> dict[str, Any]:
    """The console uploads and downloads versions with presigned URLs straight from the browser."""
    if not stage.console_origin:
        return {}
    return {
        "CorsConfiguration": {
            "CorsRules": [
                {
                    "AllowedOrigins": [stage.console_origin],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 600,
                }
            ]
        }
    }


def gateway_responses(cors_origin: str | None = None) -> dict[str, Any]:
    """API Gateway's own error answers as problem+json, in the API definition itself.

    Written into the OpenAPI body (x-amazon-apigateway-gateway-responses) rather than as separate
    AWS::ApiGateway::GatewayResponse resources: those take effect only after a new deployment of the stage,
    which SAM's deployment resource does not know to wait for; in the body they deploy with the API.
    """
    responses = {}
    for kind, response in GATEWAY_RESPONSES.items():
        entry: dict[str, Any] = {
            "responseParameters": {"gatewayresponse.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'"},
            "responseTemplates": {"application/json": response["template"]},
        }
        if cors_origin:  # the web console must be able to read a 401 to know it should refresh its token
            entry["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] = f"'{cors_origin}'"
        if response["status"] is not None:
            entry["statusCode"] = str(response["status"])
        responses[kind] = entry
    return responses


# ---------------------------------------------------------------- the merge template
def merge_template(
    chalice_template: dict[str, Any], stage: StageConfig, layer_content_uri: str = CORE_LAYER_CONTENT_URI
) -> dict[str, Any]:
    """The template `chalice package --merge-template` merges into `chalice_template` (Chalice's own output)."""
    functions = chalice_functions(chalice_template)
    resources: dict[str, Any] = {
        **table_resources(stage),
        **bucket_resources(stage),
        **secret_resources(stage),
        EVENT_BUS: {"Type": "AWS::Events::EventBus", "Properties": {"Name": stage.event_bus_name}},
        CORE_LAYER: {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": stage.resource_name("core"),
                "Description": "Maestro ML core: runtime dependencies and the maestro package",
                "ContentUri": layer_content_uri,
                "CompatibleRuntimes": [LAMBDA_RUNTIME],
                "CompatibleArchitectures": [LAMBDA_ARCHITECTURE],
                "RetentionPolicy": "Delete",  # superseded versions are not kept against the code-storage quota
            },
        },
        EMBEDDING_LAYER: {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": stage.resource_name("embedding"),
                "Description": "Maestro ML embeddings: MiniLM on onnxruntime, the model in /opt/embedding-model",
                "ContentUri": EMBEDDING_LAYER_CONTENT_URI,
                "CompatibleRuntimes": [LAMBDA_RUNTIME],
                "CompatibleArchitectures": [LAMBDA_ARCHITECTURE],
                "RetentionPolicy": "Delete",
            },
        },
        # Alarm notifications. Unencrypted on purpose: CloudWatch cannot publish to a topic under aws/sns.
        ALARM_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"{APP_NAME} {stage.stage} alarms"}},
        DASHBOARD: dashboard_resource(stage, functions),
    }
    for function in functions:
        resources.update(function_resources(function, stage))
    for api in rest_apis(chalice_template):
        body: dict[str, Any] = {"x-amazon-apigateway-gateway-responses": gateway_responses(stage.console_origin)}
        authorizers = security_definitions(chalice_template, api)
        if authorizers:
            body["securityDefinitions"] = authorizers
        resources[api] = {"Properties": {"DefinitionBody": body}}
    return {
        "Resources": resources,
        "Outputs": {
            "ArtifactBucketName": {"Value": {"Ref": ARTIFACT_BUCKET}},
            "EventBusName": {"Value": {"Ref": EVENT_BUS}},
            "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}},
            "DashboardName": {"Value": {"Ref": DASHBOARD}},
        },
    }


def container_image_functions(template: dict[str, Any]) -> list[ChaliceFunction]:
    return [f for f in chalice_functions(template) if FUNCTION_ACCESS.get(f.name, FunctionAccess()).container_image]


def use_container_images(template: dict[str, Any]) -> dict[str, Any]:
    """Turn the functions FUNCTION_ACCESS marks `container_image` into image functions with the same entry point
    (`app.<name>`, what Chalice's zip would have called). Runs on the merged template: a merge cannot remove the
    zip properties Chalice emitted."""
    parameters = template.setdefault("Parameters", {})
    functions = container_image_functions(template)
    if not functions:
        return template
    parameters[CONTAINER_IMAGE_PARAMETER] = {
        "Type": "String",
        "Description": "ECR image built from infra/retrain.Dockerfile (the training jobs)",
    }
    parameters[MLFLOW_URI_PARAMETER] = {
        "Type": "String",
        "Description": "MLflow tracking server and model registry the retrain job logs to",
    }
    for function in functions:
        properties = template["Resources"][function.logical_id]["Properties"]
        handler = properties.pop("Handler")
        for zip_only in ("CodeUri", "Runtime", "Layers"):
            properties.pop(zip_only, None)
        properties.update(
            {
                "PackageType": "Image",
                "ImageUri": {"Ref": CONTAINER_IMAGE_PARAMETER},
                "ImageConfig": {"Command": [handler]},
                "MemorySize": CONTAINER_MEMORY_MB[function.name],
                "Timeout": CONTAINER_TIMEOUT_SECONDS,
                "EphemeralStorage": {"Size": 10240},
            }
        )
        properties.setdefault("Environment", {}).setdefault("Variables", {})["MAESTRO_MLFLOW_TRACKING_URI"] = {
            "Ref": MLFLOW_URI_PARAMETER
        }
    return template


def check_merged(template: dict[str, Any], stage: StageConfig) -> list[str]:
    """What is wrong with a merged template (empty when nothing): each function carries the core layer and its
    own role, and each async function its dead-letter queue."""
    problems = []
    resources = template["Resources"]
    images = {f.logical_id for f in container_image_functions(template)}
    for function in chalice_functions(template):
        properties = resources[function.logical_id]["Properties"]
        if function.logical_id in images:
            if properties.get("PackageType") != "Image" or "CodeUri" in properties:
                problems.append(f"{function.logical_id}: must be a container image (use_container_images)")
            elif properties["ImageConfig"]["Command"] != [f"app.{function.name}"]:
                problems.append(f"{function.logical_id}: image entry point is not app.{function.name}")
            continue
        if properties.get("Runtime") != LAMBDA_RUNTIME:
            problems.append(
                f"{function.logical_id}: runtime {properties.get('Runtime')}, the layer is built for "
                f"{LAMBDA_RUNTIME} (package with that Python)"
            )
        if {"Ref": CORE_LAYER} not in properties.get("Layers", []):
            problems.append(f"{function.logical_id}: core layer not attached")
        if properties.get("Role") != _arn(f"{function.logical_id}Role"):
            problems.append(f"{function.logical_id}: role is {properties.get('Role')!r}, not its own")
        if function.is_async and "DeadLetterQueue" not in properties:
            problems.append(f"{function.logical_id}: no dead-letter queue")
        if "ProvisionedConcurrencyConfig" in properties:
            problems.append(f"{function.logical_id}: provisioned concurrency is always on")
    if "DefaultRole" in resources:
        problems.append("Chalice's shared DefaultRole is still in the template")
    return problems
