"""Ingestion entry points for asynchronous sources: S3 object-created events arriving through EventBridge."""

from __future__ import annotations

from maestro.ingestion.drops import IMPORT_PREFIX, INGEST_PREFIX
from maestro.observability import logger, metrics
from maestro.settings import get_settings


def object_created_pattern() -> dict:
    """The EventBridge pattern for metric drops and project-import uploads into this stage's bucket (also used to wire the local stack)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [get_settings().artifact_bucket]},
            "object": {"key": [{"prefix": INGEST_PREFIX}, {"prefix": IMPORT_PREFIX}]},
        },
    }


def handle_object_created(raw_event: dict) -> dict:
    # Imported here: every function shares app.py, and the API handler should not pay for event classes.
    from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

    from maestro.services.drop_ingestion import ingest_drop

    created = S3EventBridgeNotificationEvent(raw_event).detail.object
    if created.key.startswith(IMPORT_PREFIX):
        from maestro.services.project_import import process_import_upload

        status = process_import_upload(created.key)
        logger.info("project import upload handled", extra={k: status.get(k) for k in ("id", "state", "counts")})
        metrics.add_metric(name=f"ProjectImports{status['state'].capitalize()}", unit="Count", value=1)
        return status
    # AWS names the field "etag"; moto server sends "eTag". Read both so the local stack matches AWS.
    etag = created.etag or created.raw_event.get("eTag") or None
    manifest = ingest_drop(created.key, etag=etag)
    logger.info(
        "ingest drop handled",
        extra={k: manifest.get(k) for k in ("object_key", "status", "accepted", "duplicates", "rejected", "reason")},
    )
    metrics.add_metric(name=f"IngestDrops{manifest['status'].capitalize()}", unit="Count", value=1)
    return manifest


def handle_process_metrics_batch(raw_event: dict, context) -> dict:
    """SQS batch of EventBridge `ProcessMetrics` events: each record is ingested on its own, and only the
    records that failed are reported back (Powertools batch), so one bad record never fails the batch.
    A record whose events are individually invalid still succeeds: those events are counted as rejected
    (retrying the same bad data would not help); a record that cannot be read at all fails and is retried,
    then dead-lettered."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from maestro.services.metrics_ingestion import ingest_eventbridge_detail

    def record_handler(record) -> None:
        import json

        envelope = json.loads(record.body)
        result = ingest_eventbridge_detail(envelope.get("detail"), envelope.get("id"))
        logger.info("process metrics ingested", extra={"message_id": record.message_id, **result.to_body(5)})

    response = process_partial_response(
        event=raw_event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
