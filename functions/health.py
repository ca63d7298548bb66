"""GET /v1/health: version and reachability of DynamoDB and S3 (no auth)."""

from typing import Literal

from chalice import Blueprint

from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response
from maestro.http.problems import problem_response
from maestro.http.routes import RouteKit
from maestro.http.schemas import ResponseModel
from maestro.services.health import storage_health

health_api = Blueprint(__name__)
routes = RouteKit(health_api)


class DependencyView(ResponseModel):
    ok: bool
    latency_ms: float
    detail: str | None = None


class HealthView(ResponseModel):
    status: Literal["ok", "degraded"]
    version: str
    dependencies: dict[str, DependencyView]


@routes.get("/v1/health", permission=PUBLIC, response=HealthView, errors=(503,))
def get_health(scope):
    """Version and reachability of DynamoDB and S3."""
    report = storage_health()
    if report.healthy:
        return json_response(report.to_body())
    return problem_response(
        503,
        "Dependency unavailable",
        f"unreachable: {', '.join(report.failing)}",
        problem_type="dependency-unavailable",
        version=report.version,
        dependencies=report.to_body()["dependencies"],
    )
