"""GET /v1/health: version and reachability of DynamoDB and S3 (no auth)."""
from chalice import Blueprint

from maestro.domain.health import check_health
from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response
from maestro.http.problems import problem_response
from maestro.http.routes import RouteKit
from maestro.repositories.health_probes import storage_probes

health_api = Blueprint(__name__)
routes = RouteKit(health_api)


@routes.route("/v1/health", methods=["GET"], permission=PUBLIC)
def get_health(scope):
    report = check_health(storage_probes())
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
