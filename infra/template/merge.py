"""The merge template itself, the container-image variant of the retraining functions, and the checks on the
merged result."""

from __future__ import annotations

from typing import Any

from infra.layers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from infra.template import stage as template_stage
from infra.template.access import FUNCTION_ACCESS, FunctionAccess
from infra.template.api import gateway_responses, security_definitions, stage_method_settings
from infra.template.functions import function_resources
from infra.template.monitoring import dashboard_resource
from infra.template.serving import serving_paths, serving_resources
from infra.template.stage import ChaliceFunction, StageConfig, _arn, chalice_functions, rest_apis
from infra.template.storage import bucket_resources, secret_resources, table_resources

CONTAINER_IMAGE_PARAMETER = "RetrainImageUri"
MLFLOW_URI_PARAMETER = "MlflowTrackingUri"
CONTAINER_MEMORY_MB = {  # the retrains get Lambda's maximum (6 vCPUs for the model search); the hourly refresh
    "retrain_meta_models_on_request": 10240,
    "retrain_meta_models_scheduled": 10240,
    "refresh_features_hourly": 2048,
}
CONTAINER_TIMEOUT_SECONDS = 900


def merge_template(
    chalice_template: dict[str, Any], stage: StageConfig, layer_content_uri: str = template_stage.CORE_LAYER_CONTENT_URI
) -> dict[str, Any]:
    """The template `chalice package --merge-template` merges into `chalice_template` (Chalice's own output)."""
    functions = chalice_functions(chalice_template)
    resources: dict[str, Any] = {
        **table_resources(stage),
        **bucket_resources(stage),
        **secret_resources(stage),
        template_stage.EVENT_BUS: {"Type": "AWS::Events::EventBus", "Properties": {"Name": stage.event_bus_name}},
        template_stage.CORE_LAYER: {
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
        template_stage.EMBEDDING_LAYER: {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": stage.resource_name("embedding"),
                "Description": "Maestro ML embeddings: MiniLM on onnxruntime, the model in /opt/embedding-model",
                "ContentUri": template_stage.EMBEDDING_LAYER_CONTENT_URI,
                "CompatibleRuntimes": [LAMBDA_RUNTIME],
                "CompatibleArchitectures": [LAMBDA_ARCHITECTURE],
                "RetentionPolicy": "Delete",
            },
        },
        # Alarm notifications. Unencrypted on purpose: CloudWatch cannot publish to a topic under aws/sns.
        template_stage.ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": f"{template_stage.APP_NAME} {stage.stage} alarms"},
        },
        template_stage.DASHBOARD: dashboard_resource(stage, functions),
    }
    for function in functions:
        resources.update(function_resources(function, stage))
    by_name = {f.name: f for f in functions}
    for api in rest_apis(chalice_template):
        body: dict[str, Any] = {"x-amazon-apigateway-gateway-responses": gateway_responses(stage.console_origin)}
        body.update(serving_paths(by_name))
        for logical_id, resource in serving_resources(by_name, api).items():
            if logical_id in resources:  # the serving function: its size beside its role, layers and logs
                resources[logical_id]["Properties"].update(resource["Properties"])
            else:
                resources[logical_id] = resource
        authorizers = security_definitions(chalice_template, api)
        if authorizers:
            body["securityDefinitions"] = authorizers
        resources[api] = {"Properties": {"DefinitionBody": body, "MethodSettings": stage_method_settings(stage.stage)}}
    return {
        "Resources": resources,
        "Outputs": {
            "ArtifactBucketName": {"Value": {"Ref": template_stage.ARTIFACT_BUCKET}},
            "EventBusName": {"Value": {"Ref": template_stage.EVENT_BUS}},
            "AlarmTopicArn": {"Value": {"Ref": template_stage.ALARM_TOPIC}},
            "DashboardName": {"Value": {"Ref": template_stage.DASHBOARD}},
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
        if {"Ref": template_stage.CORE_LAYER} not in properties.get("Layers", []):
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
