"""Seed a tenant with a generated history (maestro.domain.meta.synthetic.generate_history): artifacts with versions
(content in the bucket, verified), projects with members, usages, git/CI/MLflow metric events with their day
aggregates and weekly rollups, and outcomes. Local stage and tests only: rows are batch-written straight into the tables in the
shapes the services write them (a year of history through the API would take hours on moto), then the impact
job runs as it would after those outcomes.

`python -m infra.local.demo_history --projects 300` seeds a new demo tenant on the running local stack and prints
its login.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from maestro.domain.analytics.rollups import rollups_of
from maestro.domain.artifacts import deprecation_record, name_claim
from maestro.domain.meta.history import History
from maestro.domain.meta.synthetic import generate_history
from maestro.domain.metrics import BUILT_IN_TYPES, MetricEvent, derive_event_id
from maestro.domain.projects import ProjectStatus, success_score
from maestro.repositories.metrics import aggregate_key, event_row, rollup_row
from maestro.repositories.projects import class_key, status_key
from maestro.repositories.schema import (
    Artifact,
    ArtifactUsage,
    ArtifactVector,
    ArtifactVersion,
    MetricAggregate,
    MetricRollup,
    NameClaim,
    ProcessMetric,
    Project,
    TeamMember,
    Tenant,
    child_key,
)
from maestro.repositories.tables import ensure_bound
from maestro.repositories.usage import usage_key

Progress = Callable[[str], None]
SOURCE = "demo-generator"


def _batch(model: type, items: list, progress: Progress, label: str) -> None:
    started = time.perf_counter()
    with model.batch_write() as batch:
        for index, item in enumerate(items, 1):
            batch.save(item)
            if index % 5000 == 0:
                progress(f"  {label}: {index}/{len(items)}")
    progress(f"  {label}: {len(items)} rows in {time.perf_counter() - started:.1f} s")


def seed_history(
    tenant_id: str,
    history: History,
    *,
    actor: str = "usr_demo",
    progress: Progress = print,
    request_embeddings: bool = False,
) -> dict[str, int]:
    """Write the history into the tenant (which must exist); returns row counts. With `request_embeddings`, the
    artifacts are embedded as the API's backfill does it (an EmbeddingBackfillRequested event to the embedding
    function) as soon as they and their versions are written, so semantic search, matching and recommendation
    similarity see them."""
    from maestro.aws_clients import client
    from maestro.settings import get_settings

    ensure_bound()
    settings = get_settings()
    s3 = client("s3")
    now = history.now
    artifacts, claims, versions = [], [], []
    usage_counts: dict[str, int] = defaultdict(int)
    for project in history.projects:
        for artifact_id in {u.artifact_id for u in project.usages}:
            usage_counts[artifact_id] += 1
    progress(f"seeding {len(history.artifacts)} artifacts and their versions")
    for spec in history.artifacts:
        latest = spec.versions[-1][0]
        deprecated = (
            deprecation_record("superseded (generated history)", None, spec.deprecated_at, actor)
            if spec.deprecated_at and spec.deprecated_at <= now
            else None
        )
        artifacts.append(
            Artifact(
                tenant_id,
                spec.artifact_id,
                name=spec.name,
                type=spec.artifact_type,
                type_name=f"{spec.artifact_type}#{spec.name.casefold()}",
                description=spec.description,
                tags=[spec.home_class or "generic"],
                metadata={"generated": True},
                owner=actor,
                usage_count=usage_counts[spec.artifact_id],
                version_count=len(spec.versions),
                latest_version=latest,
                deprecated=deprecated,
                created_at=spec.created_at,
                updated_at=spec.versions[-1][1],
            )
        )
        claims.append(NameClaim(tenant_id, name_claim(spec.artifact_type, spec.name), owner_id=spec.artifact_id))
        for version, released in spec.versions:
            body = f"# {spec.name} {version}\n\n{spec.description}\n".encode()
            key = f"artifacts/{tenant_id}/{spec.artifact_id}/{version}"
            put = s3.put_object(Bucket=settings.artifact_bucket, Key=key, Body=body, ContentType="text/markdown")
            versions.append(
                ArtifactVersion(
                    child_key(tenant_id, spec.artifact_id),
                    version,
                    status="ready",
                    description=f"{spec.name} {version}",
                    size_bytes=len(body),
                    sha256=hashlib.sha256(body).hexdigest(),
                    content_type="text/markdown",
                    s3_key=key,
                    s3_version_id=put.get("VersionId"),
                    integrity="intact",
                    created_by=actor,
                    created_at=released,
                    verified_at=released,
                )
            )
    _batch(Artifact, artifacts, progress, "artifacts")
    # Their search-index entries, as the API's create writes them (vectors follow from the embed function).
    from maestro.repositories.search_index import entry_of, now_ms
    from maestro.services.artifact_views import artifact_view

    stamp = now_ms()
    entries = [
        ArtifactVector(
            tenant_id,
            artifact.artifact_id,
            entry=entry_of(artifact_view(artifact)),
            record_revision=int(artifact.revision),
            usage_count=int(artifact.usage_count or 0),
            impact_score=float(artifact.impact_score or 0),
            deleted=False,
            updated_ms=stamp,
        )
        for artifact in artifacts
    ]
    _batch(ArtifactVector, entries, progress, "search-index entries")
    _batch(NameClaim, claims, progress, "name claims")
    _batch(ArtifactVersion, versions, progress, "artifact versions")
    if request_embeddings:
        from maestro.repositories import events
        from maestro.services.embeddings import EVENT_BACKFILL

        events.publish(events.SOURCE_REGISTRY, EVENT_BACKFILL, {"tenant_id": tenant_id})
        progress("embedding the artifacts (the embedding function's backfill)")

    projects, members, usages, metrics = [], [], [], []
    events: list[MetricEvent] = []
    aggregates: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    success = _stored_success(history)
    progress(f"seeding {len(history.projects)} projects with members, usages and metric events")
    for record in history.projects:
        done = record.end_date <= now
        status = ProjectStatus.COMPLETED.value if done else ProjectStatus.ACTIVE.value
        created = record.start_date
        outcome = None
        if done:
            outcome = {
                "model_performance": record.outcome.model_performance,
                "business_impact_usd": record.outcome.business_impact_usd,
                "duration_days": record.outcome.duration_days,
                "compute_cost_usd": record.outcome.compute_cost_usd,
                "completed_at": record.end_date.isoformat(),
                "success": success[record.project_id],
            }
        projects.append(
            Project(
                tenant_id,
                record.project_id,
                # the name carries the id's number (proj-0001 is "… project 0001"), so a user reading either finds the other
                name=f"{record.problem_class.replace('_', ' ')} project {record.project_id.removeprefix('proj-')}",
                description=record.description,
                problem_class=record.problem_class,
                complexity_score=record.complexity_score,
                team_size=record.team_size,
                status=status,
                status_key=status_key(status, created, record.project_id),
                problem_class_key=class_key(record.problem_class, created, record.project_id),
                start_date=record.start_date.date().isoformat(),
                features={},
                outcome=outcome,
                success_score=round(record.success_score, 2) if done else None,
                created_at=created,
                updated_at=record.end_date if done else created,
                version=1,
            )
        )  # a batch write does not set the optimistic-lock version as save() does
        for member in record.members:
            members.append(
                TeamMember(
                    child_key(tenant_id, record.project_id),
                    member.member_id,
                    user_id=None,
                    display_name=member.member_id,
                    role=member.role,
                    experience_level=member.experience,
                    contribution_hours=member.hours_per_week,
                    created_at=member.joined_at,
                )
            )
        for usage in record.usages:
            usages.append(
                ArtifactUsage(
                    child_key(tenant_id, usage.artifact_id),
                    usage_key(record.project_id, usage.version),
                    tenant_project=child_key(tenant_id, record.project_id),
                    artifact_version=usage.version,
                    context="planned" if usage.planned else None,
                    recorded_by=actor,
                    recorded_at=usage.recorded_at,
                )
            )
        for n, metric in enumerate(record.metrics):
            metadata: dict = {"author": metric.member_id} if metric.member_id else {}
            stored = [(metric.metric_type, metric.value)]
            if metric.metric_type == "pr_merge_hours":
                # a merge time is a merged PR: a source reports both (one pr_number), so the PR counts, the PR
                # chart and the merge-time median describe the same pull requests
                metadata = {"pr_number": n}
                stored.insert(0, ("pr_merged", 1.0))
            for metric_type, value in stored:
                event_id = derive_event_id(SOURCE, record.project_id, metric_type, metric.recorded_at, value, str(n))
                event = MetricEvent(
                    event_id,
                    record.project_id,
                    metric_type,
                    value,
                    BUILT_IN_TYPES[metric_type],
                    metric.recorded_at,
                    SOURCE,
                    metadata,
                )
                events.append(event)
                metrics.append(event_row(tenant_id, event, metric.recorded_at))
                bucket = aggregates[
                    (record.project_id, aggregate_key(metric_type, metric.recorded_at.date().isoformat()))
                ]
                bucket[0] += 1
                bucket[1] += value
    _batch(Project, projects, progress, "projects")
    _batch(TeamMember, members, progress, "members")
    _batch(ArtifactUsage, usages, progress, "usages")
    _batch(ProcessMetric, metrics, progress, "metric events")
    # The weekly rollups the analytics read, built by the ingestion's own builder (rollups_of) from the same events.
    _batch(MetricRollup, [rollup_row(tenant_id, r) for r in rollups_of(events)], progress, "weekly rollups")
    _batch(
        MetricAggregate,
        [MetricAggregate(child_key(tenant_id, p), key, count=c, total=t) for (p, key), (c, t) in aggregates.items()],
        progress,
        "day aggregates",
    )
    Tenant(tenant_id).update(
        actions=[Tenant.projects_count.add(len(projects)), Tenant.artifacts_count.add(len(artifacts))]
    )
    from maestro.services.impact import recalculate_tenant

    progress("computing artifact impact scores from the completed projects")
    recalculate_tenant(tenant_id)
    return {
        "artifacts": len(artifacts),
        "versions": len(versions),
        "projects": len(projects),
        "members": len(members),
        "usages": len(usages),
        "metric_events": len(metrics),
    }


def create_demo_tenant(
    *,
    projects: int = 300,
    artifacts: int = 80,
    seed: int = 7,
    progress: Progress = print,
    seed_history_now: bool = True,
) -> dict[str, Any]:
    """A new tenant with an admin whose login is returned, seeded with a generated history (or, with
    `seed_history_now=False`, ready for `seed_demo_history`)."""
    from maestro.services.context import RequestMeta
    from maestro.services.identity import create_tenant

    password = f"demo-{secrets.token_urlsafe(12)}"
    email = f"demo-{secrets.token_hex(4)}@maestro.local"
    admin = create_tenant("Maestro demo", email, password, "Demo Admin", RequestMeta(None, "demo-seed", None))
    demo = {
        "tenant_id": admin.tenant_id,
        "admin_id": admin.user_id,
        "email": email,
        "password": password,
        "generator": {"n_projects": projects, "n_artifacts": artifacts, "seed": seed},
        "counts": None,
    }
    if seed_history_now:
        seed_demo_history(demo, progress=progress)
    return demo


def _stored_success(history: History) -> dict[str, dict[str, Any]]:
    """Each project's success score as record_outcome stores it (score, components, weights, basis), scored as
    the generator scores it: against the projects that ended before it."""
    order = sorted(range(len(history.projects)), key=lambda i: (history.projects[i].end_date, i))
    stored, earlier = {}, []
    for i in order:
        project = history.projects[i]
        stored[project.project_id] = success_score(project.outcome, earlier).to_body()
        earlier.append(project.outcome)
    return stored


def seed_demo_history(demo: dict[str, Any], progress: Progress = print) -> dict[str, int]:
    started = time.perf_counter()
    demo["counts"] = seed_history(
        demo["tenant_id"],
        generate_history(**demo["generator"]),
        actor=demo["admin_id"],
        progress=progress,
        request_embeddings=True,
    )
    progress(f"demo tenant seeded in {time.perf_counter() - started:.1f} s: {demo['counts']}")
    return demo["counts"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--artifacts", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    demo = create_demo_tenant(projects=args.projects, artifacts=args.artifacts, seed=args.seed)
    print(f"demo login: tenant {demo['tenant_id']}  email {demo['email']}  password {demo['password']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
