"""Process metrics arriving as EventBridge custom events (`source: maestro.ingest`, `detail-type:
ProcessMetrics`, detail `{tenant_id, project_id, events[]}`). A rule sends them to an SQS queue so a Lambda
takes them in batches and reports failures per record."""

from __future__ import annotations

SOURCE = "maestro.ingest"
DETAIL_TYPE = "ProcessMetrics"


def process_metrics_pattern() -> dict:
    return {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}


def process_metrics_queue(resource_prefix: str) -> str:
    """The queue's name for a stage (its resource prefix, e.g. `maestro-dev`)."""
    return f"{resource_prefix}-process-metrics"
