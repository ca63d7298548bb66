"""GitHub: connecting a repository to a project (its webhook secret kept in Secrets Manager, never returned),
and receiving webhooks: verify the signature, drop replayed deliveries, map the payload to metric events and
send them through the one ingestion pipeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PutError

from maestro.domain.errors import InvalidInput, Unauthenticated
from maestro.domain.identity.principals import Caller
from maestro.ingestion import github
from maestro.observability import metrics
from maestro.repositories.schema import NameClaim, RepositoryIntegration, child_key
from maestro.repositories.tables import ensure_bound, is_condition_failure
from maestro.secrets import get_secret_text, put_secret_text
from maestro.services.context import RequestMeta, audit_as, record_audit
from maestro.services.metrics_ingestion import ingest
from maestro.services.projects import require_project
from maestro.settings import get_settings


def _secret_name(tenant_id: str, project_id: str) -> str:
    return get_settings().secret_name(f"github-webhooks/{tenant_id}/{project_id}")


def connect_repository(
    caller: Caller, project_id: str, repository: str, webhook_secret: str, meta: RequestMeta
) -> dict[str, Any]:
    require_project(caller.tenant_id, project_id)
    name = _secret_name(caller.tenant_id, project_id)
    put_secret_text(name, webhook_secret)
    ensure_bound()
    now = datetime.now(UTC)
    RepositoryIntegration(
        repository.casefold(),
        child_key(caller.tenant_id, project_id),
        secret_name=name,
        created_by=caller.actor,
        created_at=now,
    ).save()
    audit_as(
        caller,
        "integration.github",
        "project",
        project_id,
        meta,
        changes={"after": {"repository": repository, "webhook_secret": "set"}},
    )
    return {
        "id": f"{project_id}:github",
        "project_id": project_id,
        "repository": repository,
        "webhook_secret_set": True,
        "webhook_url_path": "/v1/integrations/github/webhook",
    }


def _secret(name: str) -> bytes:
    return get_secret_text(name).encode()


def _first_delivery(tenant_id: str, delivery_id: str) -> bool:
    """Claim the delivery id for this tenant; False when it was seen before (a redelivery)."""
    try:
        NameClaim(tenant_id, f"github-delivery#{delivery_id}", owner_id=delivery_id).save(
            condition=NameClaim.claim.does_not_exist()
        )
        return True
    except PutError as error:
        if is_condition_failure(error):
            return False
        raise


def receive_webhook(headers: dict[str, str], body: bytes, meta: RequestMeta) -> tuple[int, dict[str, Any]]:
    """(status, body): 401 unless a connected project's secret verifies the signature; nothing is stored then."""
    headers = {k.lower(): v for k, v in headers.items()}
    signature = headers.get(github.SIGNATURE_HEADER.lower())
    delivery_id = headers.get(github.DELIVERY_HEADER.lower())
    event_name = headers.get(github.EVENT_HEADER.lower())
    if not signature:
        raise Unauthenticated(f"{github.SIGNATURE_HEADER} is required")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Unauthenticated("signature does not match") from None  # unsigned garbage: say nothing more
    repository = github.repository_full_name(payload)
    ensure_bound()
    integrations = list(RepositoryIntegration.query(repository.casefold())) if repository else []
    verified = [i for i in integrations if github.verify_signature(_secret(i.secret_name), body, signature)]
    if not verified:
        metrics.add_metric(name="GithubWebhookRejected", unit="Count", value=1)
        raise Unauthenticated("signature does not match any connected project")
    if not delivery_id or not event_name:
        raise InvalidInput(f"{github.DELIVERY_HEADER} and {github.EVENT_HEADER} are required")
    result = github.events_from_webhook(event_name, delivery_id, payload)
    outcomes = []
    for integration in verified:
        tenant_id, project_id = integration.tenant_project.split("#", 1)
        if not _first_delivery(tenant_id, delivery_id):
            outcomes.append({"project_id": project_id, "duplicate_delivery": True})
            continue
        if not result.handled:
            metrics.add_metric(name="GithubWebhookIgnored", unit="Count", value=1)
            outcomes.append({"project_id": project_id, "ignored": result.ignored_reason})
            continue
        ingested = ingest(tenant_id, enumerate(result.events), source=github.SOURCE, project_id=project_id)
        record_audit(
            tenant_id,
            actor=f"github:{repository}",
            action="metrics.github_webhook",
            resource_type="project",
            resource_id=project_id,
            outcome="success",
            meta=meta,
            changes={"after": {"event": event_name, "delivery": delivery_id, "accepted": ingested.accepted}},
        )
        outcomes.append({"project_id": project_id, **ingested.to_body(20)})
    status = 202 if not result.handled else 200
    return status, {
        "delivery_id": delivery_id,
        "event": event_name,
        "handled": result.handled,
        "ignored_reason": result.ignored_reason,
        "projects": outcomes,
    }
