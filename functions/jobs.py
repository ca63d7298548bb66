"""Scheduled and event-driven jobs: artifact impact recalculation (on a recorded outcome, and nightly)."""
from __future__ import annotations

from maestro.observability import logger, metrics

OUTCOME_RECORDED_PATTERN = {"source": ["maestro.registry"], "detail-type": ["ProjectOutcomeRecorded"]}


def recalculate_impact_for_event(raw_event: dict) -> dict:
    from maestro.services.impact import recalculate_tenant

    summary = recalculate_tenant(raw_event["detail"]["tenant_id"])
    return summary


def recalculate_impact_for_all_tenants() -> list[dict]:
    from maestro.services.impact import all_tenant_ids, recalculate_tenant

    summaries = []
    for tenant_id in all_tenant_ids():
        try:
            summaries.append(recalculate_tenant(tenant_id))
        except Exception:  # one tenant's failure must not stop the others; it is logged and counted
            logger.exception("impact recalculation failed", extra={"tenant_id": tenant_id})
            metrics.add_metric(name="ImpactRecalculationFailed", unit="Count", value=1)
    return summaries


def sync_mlflow_for_all_tenants() -> list[dict]:
    from maestro.services.mlflow_sync import sync_all

    results = sync_all()
    metrics.add_metric(name="MlflowProjectsSynced", unit="Count", value=len(results))
    return results


EMBEDDING_PATTERN = {"source": ["maestro.registry"], "detail-type": ["ArtifactChanged", "EmbeddingBackfillRequested"]}


def embed_for_event(raw_event: dict) -> dict:
    from maestro.services.embeddings import EVENT_BACKFILL, backfill_tenant, embed_artifact

    detail = raw_event["detail"]
    if raw_event["detail-type"] == EVENT_BACKFILL:
        return backfill_tenant(detail["tenant_id"])
    outcome = embed_artifact(detail["tenant_id"], detail["artifact_id"])
    metrics.add_metric(name=f"Embeddings{outcome.capitalize()}", unit="Count", value=1)
    return {"artifact_id": detail["artifact_id"], "outcome": outcome}
