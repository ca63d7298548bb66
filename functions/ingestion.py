"""Ingestion entry points for asynchronous sources: S3 object-created events arriving through EventBridge."""
from __future__ import annotations

from maestro.ingestion.drops import INGEST_PREFIX, receive_drop, result_key
from maestro.observability import logger, metrics
from maestro.repositories import object_store
from maestro.settings import get_settings


def object_created_pattern() -> dict:
    """The EventBridge pattern for drops into this stage's bucket (also used to wire the local stack)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [get_settings().artifact_bucket]},
            "object": {"key": [{"prefix": INGEST_PREFIX}]},
        },
    }


def handle_object_created(raw_event: dict) -> dict:
    # Imported here: every function shares app.py, and the API handler should not pay for event classes.
    from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

    event = S3EventBridgeNotificationEvent(raw_event)
    created = event.detail.object
    key = created.key
    # AWS names the field "etag"; moto server sends "eTag". Read both so the local stack matches AWS.
    etag = created.etag or created.raw_event.get("eTag") or None
    receipt = receive_drop(key, created.size or 0, etag)
    object_store.put_json(result_key(key), receipt.to_manifest())
    logger.info("ingest drop received", extra={"key": key, "status": receipt.status})
    metrics.add_metric(name=f"IngestDrops{receipt.status.capitalize()}", unit="Count", value=1)
    metrics.flush_metrics()
    return receipt.to_manifest()
