"""GET /v1/health: version and reachability of DynamoDB and S3 (no auth)."""
from chalice import Blueprint

from maestro.domain.health import check_health
from maestro.http.api import http_endpoint, json_response
from maestro.http.problems import problem_response
from maestro.repositories.health_probes import storage_probes

health_api = Blueprint(__name__)
endpoint = http_endpoint(lambda: health_api.current_request)


@health_api.route("/v1/health", methods=["GET"])
@endpoint
def get_health():
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
