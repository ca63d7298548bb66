"""The stage being deployed and the functions Chalice emitted: names, logical ids and the small CloudFormation
helpers every part of the merge template uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from maestro.repositories.schema import MaestroModel
from maestro.settings import parse_origins

PROJECT_DIR = Path(__file__).resolve().parents[2]
APP_NAME = "maestro-ml"

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


class UndeclaredFunction(LookupError):
    """A Chalice function has no entry in FUNCTION_ACCESS (or an event source with no dead-letter wiring)."""


def _environment_setting(name: str) -> property:
    """A StageConfig property that reads one required variable of the stage's environment."""
    return property(lambda config: config.environment[name], doc=f"the stage's {name}")


@dataclass(frozen=True)
class StageConfig:
    """One stage of .chalice/config.json: the names its resources get."""

    stage: str
    environment: dict[str, str]

    table_prefix = _environment_setting("MAESTRO_TABLE_PREFIX")
    artifact_bucket = _environment_setting("MAESTRO_ARTIFACT_BUCKET")
    event_bus_name = _environment_setting("MAESTRO_EVENT_BUS_NAME")
    secrets_prefix = _environment_setting("MAESTRO_SECRETS_PREFIX")

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
