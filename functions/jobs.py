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
    from maestro.services.search_index import compact

    outcome = embed_artifact(detail["tenant_id"], detail["artifact_id"])
    metrics.add_metric(name=f"Embeddings{outcome.capitalize()}", unit="Count", value=1)
    # The same event keeps the tenant's search-index snapshot current (written when enough changes are pending).
    snapshot = compact(detail["tenant_id"])
    return {"artifact_id": detail["artifact_id"], "outcome": outcome, "snapshot_written": snapshot}


# ---------------------------------------------------------------- meta-learning
# The retrain and feature-refresh handlers need scikit-learn, MLflow and Feast (far beyond Lambda's 250 MB zip):
# infra/ deploys them as container-image functions with these same entry points (infra/retrain.Dockerfile).
META_RETRAIN_PATTERN = {"source": ["maestro.models"], "detail-type": ["MetaRetrainRequested"]}


def retrain_for_event(raw_event: dict) -> dict:
    from maestro.jobs.retrain import run_job

    detail = raw_event["detail"]
    result = run_job(detail["tenant_id"], detail["job_id"])
    metrics.add_metric(name="MetaRetrainRuns", unit="Count", value=1)
    return result


def retrain_all_tenants() -> list[dict]:
    """The scheduled retrain: a job per tenant (visible through GET /v1/models/meta/jobs/{id}), run here one
    after the other, skipping tenants whose outcomes have not changed since their champions were trained; one
    tenant's failure is recorded on its job and does not stop the others."""
    from maestro.jobs.retrain import run_job
    from maestro.services.impact import all_tenant_ids
    from maestro.services.meta.models import queue_retrain

    results = []
    for tenant_id in all_tenant_ids():
        job = queue_retrain(tenant_id, requested_by="schedule", publish=False)
        results.append({"tenant_id": tenant_id, **run_job(tenant_id, job.job_id, only_if_changed=True)})
    metrics.add_metric(name="MetaRetrainRuns", unit="Count", value=len(results))
    return results


def refresh_features_for_all_tenants() -> list[dict]:
    """Hourly: the feature rows of projects still inside their cut-off window (their early metrics are still
    arriving) and of those that just passed it, written to the offline store and materialised online.
    Hourly, not per ingestion event: each run imports Feast (~11 s), which a batch per hour amortises."""
    from maestro.jobs.feature_refresh import refresh
    from maestro.services.impact import all_tenant_ids

    results = refresh(all_tenant_ids())
    metrics.add_metric(name="FeatureRowsRefreshed", unit="Count", value=sum(r["rows"] for r in results))
    return results


def score_predictions_for_event(raw_event: dict) -> dict:
    from maestro.services.meta.scoring import score_project

    detail = raw_event["detail"]
    result = score_project(detail["tenant_id"], detail["project_id"])
    metrics.add_metric(name="PredictionsScored", unit="Count", value=result["scored"])
    return result
