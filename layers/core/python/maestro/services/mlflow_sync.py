"""MLflow integration: a tenant's tracking server (URI, optional token in Secrets Manager, primary metric and
its direction) and the sync of each project's experiment into process metrics and an experiment summary.
Talks to MLflow's REST API with the standard library: request-time and sync functions never import mlflow."""

from __future__ import annotations

import base64
import json
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from maestro.domain.errors import DependencyUnavailable, InvalidInput, NotFound
from maestro.domain.identity.principals import Caller
from maestro.domain.mlflow_runs import Run, run_events, summarise
from maestro.outbound import OutboundClient
from maestro.repositories import identity as identity_store
from maestro.repositories import projects as project_store
from maestro.repositories.schema import Project, Tenant
from maestro.secrets import get_secret_text, put_secret_text
from maestro.services.context import RequestMeta, audit_as
from maestro.services.metrics_ingestion import ingest
from maestro.services.projects import require_project
from maestro.settings import get_settings

PAGE_SIZE = 1000
MAX_RUNS = 50_000


def _token_secret(tenant_id: str) -> str:
    return get_settings().secret_name(f"mlflow/{tenant_id}")


def _check_uri(uri: str) -> urllib.parse.SplitResult:
    """Outside local mode the tracking server must be https on a public address: the sync runs inside the
    platform's network, and a tenant must not point it at internal hosts. Checked here for early feedback and
    again by the outbound client at every request of every sync (the name may resolve elsewhere by then)."""
    try:
        parts, _addresses = OutboundClient.for_stage().check_url(uri, "tracking_uri")
    except ValueError:
        raise InvalidInput("tracking_uri must be an http(s) URL", field="tracking_uri") from None
    return parts


def _without_credentials(parts: urllib.parse.SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")).rstrip("/")


def configure(
    caller: Caller, tracking_uri: str, primary_metric: str | None, direction: str, token: str | None, meta: RequestMeta
) -> dict[str, Any]:
    """Credentials never stay in the URI: `user:password@` moves into Secrets Manager (sent as Basic auth), the
    stored, answered and audited tracking_uri carries none. Give either those or `token`, not both."""
    parts = _check_uri(tracking_uri)
    basic = None
    if parts.username is not None or parts.password is not None:
        if token is not None:
            raise InvalidInput("give the credentials either in tracking_uri or as token, not both", field="token")
        basic = f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
    config = {
        "tracking_uri": _without_credentials(parts),
        "primary_metric": primary_metric,
        "direction": direction,
        "has_token": token is not None or basic is not None,
        "auth": "basic" if basic is not None else "bearer",
    }
    secret = basic if basic is not None else token
    if secret is not None:
        put_secret_text(_token_secret(caller.tenant_id), secret)
    Tenant(caller.tenant_id).update(actions=[Tenant.mlflow.set(config)])
    audit_as(
        caller,
        "integration.mlflow",
        "tenant",
        caller.tenant_id,
        meta,
        changes={"after": {k: v for k, v in config.items()}},
    )
    return {"id": f"{caller.tenant_id}:mlflow", **config}


def _call(
    config: dict[str, Any], tenant_id: str, method: str, path: str, body: dict | None = None, query: dict | None = None
) -> dict[str, Any]:
    url = config["tracking_uri"] + path + ("?" + urllib.parse.urlencode(query) if query else "")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if config.get("has_token"):
        secret = get_secret_text(_token_secret(tenant_id))
        if config.get("auth") == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        else:
            headers["Authorization"] = f"Bearer {secret}"
    # Checked again at every request (redirects too), credentials dropped on a redirect elsewhere.
    response = OutboundClient.for_stage().request(
        method, url, headers=headers, body=json.dumps(body).encode() if body is not None else None
    )
    if response.status == 404:
        raise NotFound("the MLflow server has no such experiment")
    if response.status >= 300:
        raise DependencyUnavailable(f"the MLflow server answered {response.status}")
    try:
        return json.loads(response.body or b"{}")
    except (ValueError, RecursionError):
        raise DependencyUnavailable("the MLflow server's answer is not JSON") from None


def fetch_runs(config: dict[str, Any], tenant_id: str, experiment_name: str) -> list[Run]:
    found = _call(
        config, tenant_id, "GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": experiment_name}
    )
    experiment_id = found["experiment"]["experiment_id"]
    runs: list[Run] = []
    token = None
    while len(runs) < MAX_RUNS:
        page = _call(
            config,
            tenant_id,
            "POST",
            "/api/2.0/mlflow/runs/search",
            body={
                "experiment_ids": [experiment_id],
                "max_results": PAGE_SIZE,
                **({"page_token": token} if token else {}),
            },
        )
        runs += [Run.from_rest(raw) for raw in page.get("runs", [])]
        token = page.get("next_page_token")
        if not token:
            break
    return runs


def sync_project(tenant: Tenant, project: Project) -> dict[str, Any]:
    config = tenant.mlflow
    if not config:
        raise InvalidInput("connect an MLflow tracking server first: PUT /v1/integrations/mlflow")
    if not project.mlflow_experiment:
        raise InvalidInput("the project names no mlflow_experiment", field="mlflow_experiment")
    runs = fetch_runs(config, tenant.tenant_id, project.mlflow_experiment)
    raw = [event for run in runs for event in run_events(run, project.mlflow_experiment)]
    result = ingest(tenant.tenant_id, enumerate(raw), source="mlflow", project_id=project.project_id)
    summary = {
        **summarise(runs, config.get("primary_metric"), config.get("direction", "maximize")),
        "experiment": project.mlflow_experiment,
        "synced_at": datetime.now(UTC).isoformat(),
    }
    project_store.set_mlflow_summary(project, summary)
    return {
        "id": f"{project.project_id}:mlflow",
        "project_id": project.project_id,
        "summary": summary,
        "events": result.to_body(20),
    }


def sync(caller: Caller, project_id: str, meta: RequestMeta) -> dict[str, Any]:
    project = require_project(caller.tenant_id, project_id)
    tenant = identity_store.get_tenant(caller.tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    outcome = sync_project(tenant, project)
    audit_as(
        caller,
        "integration.mlflow_sync",
        "project",
        project_id,
        meta,
        changes={"after": {"runs": outcome["summary"]["runs"]}},
    )
    return outcome


def sync_all() -> list[dict[str, Any]]:
    """Every connected tenant's projects that name an experiment (the scheduled sync)."""
    from maestro.observability import logger
    from maestro.services.impact import all_tenant_ids

    results = []
    for tenant_id in all_tenant_ids():
        tenant = identity_store.get_tenant(tenant_id)
        if tenant is None or not tenant.mlflow:
            continue
        for project in project_store.list_projects(
            tenant_id, status="active", problem_class=None, limit=1000, cursor=None
        ).items:
            if not project.mlflow_experiment:
                continue
            try:
                results.append(sync_project(tenant, project))
            except Exception:  # one project's server trouble must not stop the others
                logger.exception("mlflow sync failed", extra={"tenant_id": tenant_id, "project_id": project.project_id})
    return results
