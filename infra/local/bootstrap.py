"""Create everything the app needs on a local AWS endpoint (moto server): tables, bucket, bus, queues, rules,
secrets. Idempotent: running it twice changes nothing. Tables come from the pynamodb schema; event rules come
from the event handlers registered on the Chalice app, so the local wiring cannot drift from the code."""

from __future__ import annotations

import json
import secrets as token_source
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maestro.aws_clients import client
from maestro.repositories.schema import TABLE_MODELS, table_definition
from maestro.secrets import LOCAL_ONLY_MARKER, REQUIRED_SECRETS
from maestro.settings import Settings


@dataclass(frozen=True)
class EventRoute:
    """One Chalice event handler as the local stack wires it: rule -> SQS queue -> local dispatcher.
    `kind` "eventbridge": the handler gets each EventBridge event, as Lambda would from a rule.
    `kind` "sqs": the handler gets batches of SQS records (its own queue, named in its decorator)."""

    handler_name: str
    event_pattern: dict[str, Any]
    bus_name: str = "default"
    kind: str = "eventbridge"
    queue: str | None = None

    def queue_name(self, settings: Settings) -> str:
        return self.queue or f"{settings.table_prefix}-{self.handler_name.replace('_', '-')}"

    def rule_name(self, settings: Settings) -> str:
        return f"{settings.table_prefix}-{self.handler_name.replace('_', '-')}"


def event_routes(chalice_app: Any, settings: Settings) -> list[EventRoute]:
    """Every Chalice event handler the local stack can deliver to. SQS handlers are fed by the rule their
    queue has in the deployed template (QUEUE_FEEDS); scheduled handlers are invoked by tests directly."""
    from chalice.app import CloudWatchEventConfig, SQSEventConfig

    from maestro.ingestion.events import process_metrics_pattern, process_metrics_queue

    queue_feeds = {process_metrics_queue(settings.table_prefix): process_metrics_pattern()}
    routes = []
    for source in chalice_app.event_sources:
        if isinstance(source, CloudWatchEventConfig):
            routes.append(EventRoute(source.name, source.event_pattern))
        elif isinstance(source, SQSEventConfig) and source.queue in queue_feeds:
            routes.append(EventRoute(source.name, queue_feeds[source.queue], kind="sqs", queue=source.queue))
    return routes


def create_tables(settings: Settings) -> list[str]:
    dynamodb = client("dynamodb", settings)
    existing = set(dynamodb.list_tables()["TableNames"])
    created = []
    for model in TABLE_MODELS:
        name = settings.table_name(model.logical_name)
        definition = table_definition(model)
        ttl = definition.pop("TimeToLiveSpecification", None)
        if name not in existing:
            dynamodb.create_table(TableName=name, **definition)
            created.append(name)
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    return created


def create_bucket(settings: Settings) -> None:
    s3 = client("s3", settings)
    bucket = settings.artifact_bucket
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        kwargs = (
            {}
            if settings.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": settings.region}}
        )
        s3.create_bucket(Bucket=bucket, **kwargs)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    if settings.cors_origin_list:  # the web console PUTs and GETs versions through presigned URLs
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": settings.cors_origin_list,
                        "AllowedMethods": ["GET", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 600,
                    }
                ]
            },
        )


def create_event_bus(settings: Settings) -> None:
    events = client("events", settings)
    names = {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    if settings.event_bus_name not in names:
        events.create_event_bus(Name=settings.event_bus_name)


def _queue_url(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def wire_event_routes(settings: Settings, routes: Iterable[EventRoute]) -> dict[str, tuple[str, str]]:
    """For each handler: a queue (with a dead-letter queue) and a rule that targets it.
    Returns handler -> (queue URL, kind)."""
    sqs = client("sqs", settings)
    events = client("events", settings)
    urls = {}
    for route in routes:
        queue_name = route.queue_name(settings)
        dlq_url = _queue_url(sqs, queue_name + "-dlq", {})
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = _queue_url(
            sqs,
            queue_name,
            {
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = route.rule_name(settings)
        events.put_rule(
            Name=rule, EventPattern=json.dumps(route.event_pattern), EventBusName=route.bus_name, State="ENABLED"
        )
        events.put_targets(Rule=rule, EventBusName=route.bus_name, Targets=[{"Id": "local-dispatcher", "Arn": arn}])
        urls[route.handler_name] = (url, route.kind)
    return urls


def create_secrets(settings: Settings) -> list[str]:
    """Local-only secrets, generated fresh per local stack (never committed) and marked so prod refuses them."""
    manager = client("secretsmanager", settings)
    created = []
    values = {
        "jwt-signing-keys": {
            LOCAL_ONLY_MARKER: True,
            "active_kid": "local-1",
            "keys": [{"kid": "local-1", "secret": token_source.token_urlsafe(48)}],
        }
    }
    for name in REQUIRED_SECRETS:
        full_name = settings.secret_name(name)
        try:
            manager.describe_secret(SecretId=full_name)
        except manager.exceptions.ResourceNotFoundException:
            manager.create_secret(Name=full_name, SecretString=json.dumps(values[name]))
            created.append(full_name)
    return created


def bootstrap(settings: Settings, chalice_app: Any) -> dict[str, tuple[str, str]]:
    """Create every resource; returns the dispatcher's handler -> queue URL map."""
    if not settings.is_local:
        raise RuntimeError("the local bootstrap only runs for the local and test stages")
    create_tables(settings)
    create_bucket(settings)
    create_event_bus(settings)
    create_secrets(settings)
    return wire_event_routes(settings, event_routes(chalice_app, settings))
