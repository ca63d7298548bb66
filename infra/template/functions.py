"""Per-function resources: scoped IAM roles, dead-letter queues, event rules and the SQS feeds of the ingestion
functions."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.template.access import FUNCTION_ACCESS, FunctionAccess
from infra.template.monitoring import _alarm, _lambda_alarm
from infra.template.stage import (
    ARTIFACT_BUCKET,
    ARTIFACT_KEY,
    ASYNC_EVENT_TYPES,
    CORE_LAYER,
    EMBEDDING_LAYER,
    EVENT_BUS,
    RULE_EVENT_TYPES,
    ChaliceFunction,
    StageConfig,
    UndeclaredFunction,
    _arn,
    _sub,
    secret_logical_id,
    table_logical_id,
)
from maestro.ingestion.events import process_metrics_pattern, process_metrics_queue
from maestro.repositories.schema import TABLE_MODELS, table_definition
from maestro.secrets import REQUIRED_SECRETS


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
            raise UndeclaredFunction(
                f"{function.name}: no dead-letter wiring for {kind} events in infra/template/functions.py"
            )
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


def _dead_letter_queue() -> dict[str, Any]:
    """A queue that keeps failed events for the longest SQS allows (14 days), encrypted."""
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
    }


def _queue_depth_alarm(description: str, queue: str) -> dict[str, Any]:
    """An alarm as soon as a message waits in `queue` (a dead-letter queue)."""
    return _alarm(
        description,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": [queue, "QueueName"]},
        "Maximum",
    )


def _events_may_send(queue: str, sid: str, source_arn: Any) -> dict[str, Any]:
    """The queue's policy: EventBridge may send to it, only on behalf of `source_arn` (one rule or a list)."""
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": sid,
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": _arn(queue),
                        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
                    }
                ],
            },
        },
    }


def function_resources(function: ChaliceFunction, stage: StageConfig) -> dict[str, Any]:
    access = FUNCTION_ACCESS.get(function.name)
    if access is None:
        raise UndeclaredFunction(
            f"function {function.name} ({function.logical_id}) has no entry in "
            "infra/template/access.py FUNCTION_ACCESS: declare what it may touch"
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
        resources[queue] = _dead_letter_queue()
        if rule_names:
            resources[f"{queue}Policy"] = _events_may_send(
                queue,
                "RuleDeadLetters",
                [
                    _sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{n}")
                    for n in rule_names
                ],
            )
        resources[f"{queue}DepthAlarm"] = _queue_depth_alarm(
            f"{function.name}: events waiting in its dead-letter queue", queue
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
            raise UndeclaredFunction(
                f"{function.name}: no feeding rule for queue {name} in infra/template/functions.py"
            )
        # Chalice names the queue by ARN (Fn::Sub of its name); the queue below carries that name, and the
        # function depends on it so the event source mapping is created after the queue exists.
        events[event_id] = {"Type": "SQS", "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
        resources[dead_letters] = _dead_letter_queue()
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
        resources[f"{queue}Policy"] = _events_may_send(queue, "RuleDelivers", _arn(rule))
        resources[f"{dead_letters}DepthAlarm"] = _queue_depth_alarm(
            f"{function.name}: records that failed three times", dead_letters
        )
    return events, resources
