"""The impact job: recompute every artifact's impact score of a tenant from its completed projects and usages
(maestro.domain.impact), and store each score with how it was computed."""

from __future__ import annotations

import time
from collections.abc import Iterator

from maestro.observability import logger, metrics
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import projects as project_store
from maestro.repositories import usage as usage_store
from maestro.repositories.schema import Tenant
from maestro.repositories.tables import ensure_bound


def recalculate_tenant(tenant_id: str) -> dict:
    """Recompute and store the tenant's impact scores; returns counts and timing for the job's log."""
    from maestro.domain.impact import CompletedProject, Usage, compute_impact_scores  # numpy: job only

    started = time.perf_counter()
    projects = [
        CompletedProject(
            p.project_id, float(p.success_score), p.problem_class, float(p.complexity_score), float(p.team_size)
        )
        for p in project_store.completed_projects(tenant_id)
        if p.success_score is not None
    ]
    artifact_ids, usages = [], []
    for artifact in artifact_store.tenant_artifacts(tenant_id):
        artifact_ids.append(artifact.artifact_id)
        usages += [
            Usage(u.project_version.split("#", 1)[0], artifact.artifact_id)
            for u in usage_store.usages_of_artifact(tenant_id, artifact.artifact_id)
        ]
    scores = compute_impact_scores(projects, usages)
    for artifact_id in artifact_ids:
        score = scores.get(artifact_id)
        if score is None:
            from maestro.domain.impact import insufficient_data

            score = insufficient_data(artifact_id)
        artifact_store.set_impact(tenant_id, artifact_id, round(score.score, 2), score.to_body())
    summary = {
        "tenant_id": tenant_id,
        "artifacts": len(artifact_ids),
        "usages": len(usages),
        "completed_projects": len(projects),
        "seconds": round(time.perf_counter() - started, 3),
    }
    logger.info("impact recalculated", extra=summary)
    metrics.add_metric(name="ImpactRecalculations", unit="Count", value=1)
    return summary


def all_tenant_ids() -> Iterator[str]:
    """Every tenant, for the nightly run (a paginated scan of the small tenants table, never from a route)."""
    ensure_bound()
    for tenant in Tenant.scan(attributes_to_get=["tenant_id"]):
        yield tenant.tenant_id
