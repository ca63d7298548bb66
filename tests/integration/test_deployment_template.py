"""The deployed template, as `python -m infra.package --stage dev` writes it: Chalice's SAM output merged with
infra/template/. Assertions on the synthesized template, no AWS involved."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra.gateway_responses import GATEWAY_RESPONSES
from infra.package import build_package
from infra.template import (
    ALARM_TOPIC,
    ARTIFACT_BUCKET,
    CORE_LAYER,
    chalice_functions,
    load_stage_config,
    secret_logical_id,
    table_logical_id,
)
from maestro.ingestion.drops import (
    IMPORT_PREFIX,
    IMPORT_RESULTS_PREFIX,
    INGEST_PREFIX,
    QUARANTINE_PREFIX,
    RESULTS_PREFIX,
)
from maestro.repositories.schema import TABLE_MODELS, table_definition
from maestro.secrets import REQUIRED_SECRETS
from tests.integration.conftest import PACKAGED_STAGE

pytestmark = pytest.mark.packaging

# Resource types billed per request or per GB stored, or not at all, while the platform is idle (the one
# fixed charge is the KMS key of the artifact bucket, about 1 USD a month).
ON_DEMAND_TYPES = {
    "AWS::Serverless::Function",
    "AWS::Serverless::Api",
    "AWS::Serverless::LayerVersion",
    "AWS::Lambda::Permission",
    "AWS::IAM::Role",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
}
# scikit-learn, MLflow and Feast: deployed as container images (infra/retrain.Dockerfile).
TRAINING_JOBS = {"retrain_meta_models_on_request", "retrain_meta_models_scheduled", "refresh_features_hourly"}
DATA_PLANE_SERVICES = ("dynamodb", "s3", "secretsmanager", "kms", "sqs", "sns", "events")


@pytest.fixture(scope="module")
def template(dev_package) -> dict[str, Any]:  # noqa: F811
    return dev_package.template


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def stage():
    return load_stage_config(PACKAGED_STAGE)


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in resources.items() if r["Type"] == kind}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield logical_id, statement
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in properties, f"{logical_id}: SAM policies bypass the per-function roles"


def _role_of(resources: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for owner, s in _role_statements(resources) if owner == role_id]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _as_list(s["Action"])}


def _tables_granted(statements: list[dict[str, Any]]) -> set[str]:
    return {
        r["Fn::GetAtt"][0]
        for s in statements
        if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))
        for r in _as_list(s["Resource"])
        if "Fn::GetAtt" in r
    }


def test_merged_template_passes_cfn_lint(dev_package):  # noqa: F811
    matches = lint_file(dev_package.template_path)
    # No error and no warning is tolerated: a warning that is right to ignore gets an inline reason here.
    assert [str(m) for m in matches] == []


def test_prod_template_passes_cfn_lint_too():
    # Stages differ only in names and sizes, but those reach the template: lint the other deployed stage too.
    build = build_package("prod")
    assert [str(m) for m in lint_file(build.template_path)] == []
    assert build.template["Resources"]["ArtifactBucket"]["Properties"]["BucketName"] == "maestro-prod-artifacts"


def test_every_table_is_deployed_exactly_as_the_schema_defines_it(resources, stage):
    tables = _of_type(resources, "AWS::DynamoDB::Table")
    assert set(tables) == {table_logical_id(model) for model in TABLE_MODELS}
    for model in TABLE_MODELS:
        table = tables[table_logical_id(model)]
        assert table["Properties"] == {
            "TableName": f"{stage.table_prefix}-{model.logical_name}",
            **table_definition(model),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_capacity_is_on_demand_and_nothing_is_always_on(resources, template):
    unvetted = {r["Type"] for r in resources.values()} - ON_DEMAND_TYPES
    assert not unvetted, f"check what these cost while idle, then add them to ON_DEMAND_TYPES: {unvetted}"
    for table in _of_type(resources, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    text = json.dumps(template)
    assert "ProvisionedThroughput" not in text
    assert "ProvisionedConcurrency" not in text
    assert "AutoPublishAlias" not in text  # aliases are where provisioned concurrency would hang


def test_artifact_bucket_is_private_encrypted_and_tls_only(resources, stage):
    bucket = resources[ARTIFACT_BUCKET]["Properties"]
    assert bucket["BucketName"] == stage.artifact_bucket
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["ArtifactKey", "Arn"]},
    }
    assert resources["ArtifactKey"]["Properties"]["EnableKeyRotation"] is True
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    quarantine = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == QUARANTINE_PREFIX]
    assert quarantine and quarantine[0]["Status"] == "Enabled" and quarantine[0]["ExpirationInDays"] > 0

    (policy,) = [
        r["Properties"]
        for r in _of_type(resources, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": ARTIFACT_BUCKET}
    ]
    denials = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denials, "no statement denies requests without TLS"
    assert denials[0]["Principal"] == "*" and denials[0]["Action"] == "s3:*"
    assert {json.dumps(r) for r in denials[0]["Resource"]} == {
        json.dumps({"Fn::GetAtt": [ARTIFACT_BUCKET, "Arn"]}),
        json.dumps({"Fn::Sub": "${ArtifactBucket.Arn}/*"}),
    }


def test_every_async_function_has_a_dead_letter_queue_and_alarms(resources, template):
    functions = chalice_functions(template)
    assert any(f.is_async for f in functions), "the ingest handler should be asynchronous"
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm").values()

    def alarmed(metric: str, value: Any) -> bool:
        return any(
            a["Properties"]["MetricName"] == metric
            and a["Properties"]["Dimensions"][0]["Value"] == value
            and a["Properties"]["AlarmActions"] == [{"Ref": ALARM_TOPIC}]
            for a in alarms
        )

    for function in functions:
        assert alarmed("Errors", {"Ref": function.logical_id}), function.logical_id
        assert alarmed("Throttles", {"Ref": function.logical_id}), function.logical_id
        if not function.is_async:
            continue
        properties = resources[function.logical_id]["Properties"]
        queue_arn = properties["DeadLetterQueue"]["TargetArn"]
        queue_id = queue_arn["Fn::GetAtt"][0]
        assert properties["DeadLetterQueue"]["Type"] == "SQS"
        assert resources[queue_id]["Type"] == "AWS::SQS::Queue"
        # Events EventBridge could not deliver land in the same queue as those the function failed on.
        for event in properties["Events"].values():
            assert event["Properties"]["DeadLetterConfig"] == {"Arn": queue_arn}
        assert alarmed("ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue_id, "QueueName"]}), queue_id
        assert {"Effect": "Allow", "Action": "sqs:SendMessage"}.items() <= next(
            s for s in _role_of(resources, function.logical_id) if s.get("Sid") == "DeadLetters"
        ).items()


def test_no_role_grants_data_access_on_every_resource(resources):
    statements = list(_role_statements(resources))
    assert statements
    for owner, statement in statements:
        actions = _as_list(statement["Action"])
        assert statement["Effect"] == "Allow"
        assert not any(a == "*" or a.endswith(":*") for a in actions), (owner, actions)
        wildcard = any(r == "*" or (isinstance(r, str) and r.endswith(":*")) for r in _as_list(statement["Resource"]))
        if wildcard:
            assert not any(a.split(":")[0] in DATA_PLANE_SERVICES for a in actions), (owner, statement)


def test_each_function_gets_only_what_it_uses(resources, template):
    roles = {}
    for function in chalice_functions(template):
        role_id = resources[function.logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role_id not in roles.values(), f"{function.logical_id} shares a role"
        roles[function.name] = role_id
    api = _role_of(resources, "APIHandler")
    ingest = _role_of(resources, "IngestObjectCreated")

    assert {a for a in _actions(api) if a.startswith("dynamodb:")} >= {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }
    assert "dynamodb:Scan" not in _actions(api)
    assert _tables_granted(api) == {table_logical_id(model) for model in TABLE_MODELS}

    authorizer = _role_of(resources, "MaestroAuthorizer")
    assert _tables_granted(authorizer) == {"TableSessions", "TableApiKeys", "TableUsers"}  # users: key owners
    assert not any(a.startswith(("s3:", "kms:")) for a in _actions(authorizer))
    assert "dynamodb:DeleteItem" not in _actions(authorizer)

    # The drop handler reads metric drops and project-import uploads, writes manifests, quarantine and import
    # states, stores events, and writes imported projects with their members, usages and audit: no deletes, no
    # scans, and only the tables of those two pipelines.
    assert _tables_granted(ingest) == {
        "TableTenants",
        "TableProjects",
        "TableMetricTypes",
        "TableProcessMetrics",
        "TableMetricAggregates",
        "TableMetricRollups",
        "TableTeamMembers",
        "TableArtifacts",
        "TableArtifactVersions",
        "TableArtifactUsages",
        "TableArtifactVectors",
        "TableUsers",
        "TableAuditEvents",
        "TableAuditHeads",
    }
    assert not {"dynamodb:DeleteItem", "dynamodb:Scan"} & _actions(ingest)
    objects = {
        a: sorted(r["Fn::Sub"] for s in ingest if a in _as_list(s["Action"]) for r in s["Resource"])
        for a in ("s3:GetObject", "s3:PutObject")
    }
    bucket = "${ArtifactBucket.Arn}/"
    assert objects == {
        "s3:GetObject": sorted(f"{bucket}{p}*" for p in (INGEST_PREFIX, IMPORT_PREFIX, IMPORT_RESULTS_PREFIX)),
        "s3:PutObject": sorted(f"{bucket}{p}*" for p in (RESULTS_PREFIX, QUARANTINE_PREFIX, IMPORT_RESULTS_PREFIX)),
    }
    batches = _role_of(resources, "IngestProcessMetrics")
    assert not any(a.startswith("s3:") for a in _actions(batches))
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= _actions(batches)
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "secretsmanager:GetSecretValue"} <= _actions(api)


def test_role_policies_fit_iam_inline_size_limit(resources):
    # IAM caps a role's inline policies at 10,240 characters once CloudFormation has resolved them; stand
    # every intrinsic in for the longest ARN it could become, so growth in tables fails here, not in deploy.
    arn = "arn:aws:dynamodb:ap-southeast-2:123456789012:table/maestro-prod-" + "x" * 40

    def resolved(value: Any) -> Any:
        if isinstance(value, dict):
            return arn if set(value) & {"Ref", "Fn::GetAtt", "Fn::Sub"} else {k: resolved(v) for k, v in value.items()}
        return [resolved(v) for v in value] if isinstance(value, list) else value

    for logical_id, role in _of_type(resources, "AWS::IAM::Role").items():
        size = sum(
            len(json.dumps(resolved(p["PolicyDocument"]), separators=(",", ":")))
            for p in role["Properties"]["Policies"]
        )
        assert size < 10_240, (logical_id, size)


def test_functions_carry_the_core_layer_and_name_the_real_resources(resources, template, stage):
    layer = resources[CORE_LAYER]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "./layers/core.zip"
    table_names = {r["Properties"]["TableName"] for r in _of_type(resources, "AWS::DynamoDB::Table").values()}
    import app

    for function in chalice_functions(template):
        properties = resources[function.logical_id]["Properties"]
        if function.name in TRAINING_JOBS:
            # A container image whose entry point is the very handler the local stack and the tests invoke.
            assert properties["PackageType"] == "Image" and "Layers" not in properties and "CodeUri" not in properties
            assert properties["ImageConfig"]["Command"] == [f"app.{function.name}"]
            assert callable(getattr(app, function.name))
            assert properties["Timeout"] == 900
            assert properties["MemorySize"] == (2048 if function.name == "refresh_features_hourly" else 10240)
            assert properties["Environment"]["Variables"]["MAESTRO_MLFLOW_TRACKING_URI"] == {"Ref": "MlflowTrackingUri"}
        else:
            # Every zip function carries the core layer; only the ones that embed text carry the embedding layer.
            # (and the ones that load model graphs: onnxruntime lives in the embedding layer)
            embeds = function.name in ("api_handler", "embed_artifacts", "serve_predictions", "verify_artifact_upload")
            assert properties["Layers"] == [{"Ref": CORE_LAYER}] + ([{"Ref": "EmbeddingLayer"}] if embeds else [])
        variables = properties["Environment"]["Variables"]
        assert variables["MAESTRO_STAGE"] == PACKAGED_STAGE
        assert variables["MAESTRO_ARTIFACT_BUCKET"] == {"Ref": ARTIFACT_BUCKET}
        assert variables["MAESTRO_EVENT_BUS_NAME"] == {"Ref": "EventBus"}
        assert {f"{variables['MAESTRO_TABLE_PREFIX']}-{m.logical_name}" for m in TABLE_MODELS} == table_names
        for name in REQUIRED_SECRETS:
            secret = resources[secret_logical_id(name)]["Properties"]
            assert secret["Name"] == f"{variables['MAESTRO_SECRETS_PREFIX']}/{name}"
    assert resources["EventBus"]["Properties"]["Name"] == stage.event_bus_name
    (event,) = resources["IngestObjectCreated"]["Properties"]["Events"].values()
    pattern = event["Properties"]["Pattern"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": ARTIFACT_BUCKET}]


def _first_value(resources: dict[str, Any], name: str) -> str:
    """The secret's value at creation, with each generated string stood in for by a 64-character one."""
    properties = resources[secret_logical_id(name)]["Properties"]
    if "GenerateSecretString" in properties:
        generation = properties["GenerateSecretString"]
        return json.dumps({**json.loads(generation["SecretStringTemplate"]), generation["GenerateStringKey"]: "s" * 64})
    text = properties["SecretString"]["Fn::Sub"]
    for seed, key in re.findall(r"\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString:(\w+)\}\}", text):
        generation = resources[seed]["Properties"]["GenerateSecretString"]
        assert generation["GenerateStringKey"] == key and generation["PasswordLength"] >= 32
        text = text.replace(f"{{{{resolve:secretsmanager:${{{seed}}}:SecretString:{key}}}}}", "s" * 64)
    assert "${" not in text and "{{" not in text, text
    return text


def test_secrets_get_random_values_that_the_platform_accepts(resources):
    from maestro.domain.identity.tokens import SigningKeyRing
    from maestro.secrets import LOCAL_ONLY_MARKER

    for name in REQUIRED_SECRETS:
        value = json.loads(_first_value(resources, name))  # nothing secret is written in the template itself
        assert LOCAL_ONLY_MARKER not in value
    SigningKeyRing.from_secret(json.loads(_first_value(resources, "jwt-signing-keys")))


def test_gateway_errors_answer_problem_json(resources):
    body = resources["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == set(GATEWAY_RESPONSES)
    for kind, response in GATEWAY_RESPONSES.items():
        deployed = responses[kind]
        assert deployed["responseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/problem+json'",
            **{f"gatewayresponse.header.{k}": f"'{v}'" for k, v in response.get("headers", {}).items()},
        }
        assert json.loads(deployed["responseTemplates"]["application/json"]) == json.loads(response["template"])
        assert deployed.get("statusCode") == (str(response["status"]) if response["status"] else None)


def test_authorizer_sees_requests_that_carry_only_an_api_key(resources):
    definitions = resources["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    authorizer = definitions["maestro_authorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert "identitySource" not in authorizer  # with one, API Gateway answers 401 itself when the header is absent
    assert authorizer["authorizerResultTtlInSeconds"] == 0


def test_dashboard_shows_the_platform_metrics(resources, template):
    (dashboard,) = _of_type(resources, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    metrics = [row for w in json.loads(body)["widgets"] for row in w["properties"]["metrics"]]
    shown = {(row[0], row[1]) for row in metrics}
    assert {("MaestroML", f"Http{n}xx") for n in (2, 4, 5)} <= shown
    assert {("MaestroML", "IngestDropsReceived"), ("MaestroML", "IngestDropsRejected")} <= shown
    assert {("AWS/Lambda", "Duration"), ("AWS/Lambda", "Errors")} <= shown
    # Every ${...} in the body names something Fn::Sub can resolve.
    for reference in re.findall(r"\$\{([^}]+)\}", body):
        assert reference.startswith("AWS::") or reference.split(".")[0] in resources, reference


def test_predictions_are_served_by_their_own_function(resources, template):
    """POST .../predict goes to ServePredictions (the app's serving route, with graphs in memory and /tmp); no
    other path does, and api_handler keeps the rest."""
    from infra.template.serving import SERVING_EPHEMERAL_MB, SERVING_MEMORY_MB

    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    targets = {
        (method, path): json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
        for path, operations in paths.items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
    }
    predict = ("post", "/v1/artifacts/{artifact_id}/versions/{version}/predict")
    assert "ServePredictions.Arn" in targets[predict]
    assert [key for key, uri in targets.items() if "ServePredictions" in uri] == [predict]
    assert "APIHandler.Arn" in targets[("get", "/v1/artifacts/{artifact_id}/versions/{version}")]
    serving = resources["ServePredictions"]["Properties"]
    assert serving["Handler"] == "app.serve_predictions"
    assert serving["MemorySize"] == SERVING_MEMORY_MB and serving["EphemeralStorage"] == {"Size": SERVING_EPHEMERAL_MB}
    permission = resources["ServePredictionsInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["FunctionName"] == {"Ref": "ServePredictions"}


def test_the_api_stage_is_throttled(resources, stage):
    """The gateway caps the whole API before any function runs (per-caller budgets come after, in the functions)."""
    from infra.template.api import STAGE_THROTTLING, stage_method_settings

    api = resources["RestAPI"]
    assert api["Type"] == "AWS::Serverless::Api"
    settings = api["Properties"]["MethodSettings"]
    assert settings == stage_method_settings(stage.stage)
    (rule,) = settings
    assert (rule["ResourcePath"], rule["HttpMethod"]) == ("/*", "*")
    assert 0 < rule["ThrottlingRateLimit"] <= rule["ThrottlingBurstLimit"] <= 5000
    assert stage_method_settings("prod")[0]["ThrottlingRateLimit"] == STAGE_THROTTLING["prod"][0]
