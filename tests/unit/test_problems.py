import json

import pytest

from maestro.domain import errors
from maestro.http.problems import PROBLEM_CONTENT_TYPE, response_for_domain_error


@pytest.mark.parametrize(
    "error, status",
    [
        (errors.InvalidInput("x"), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.PermissionDenied("x"), 403),
        (errors.QuotaExceeded("x", quota="projects"), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.PreconditionFailed("x"), 412),
        (errors.PayloadTooLarge("x"), 413),
        (errors.ValidationFailed("x", errors=[]), 422),
        (errors.RateLimited("x", retry_after_seconds=60), 429),
        (errors.DependencyUnavailable("x"), 503),
    ],
)
def test_each_domain_error_maps_to_its_status_as_problem_json(error, status):
    response = response_for_domain_error(error, instance="/v1/things/1")
    body = json.loads(response.body)
    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert body["status"] == status
    assert body["detail"] == "x"
    assert body["instance"] == "/v1/things/1"
    assert body["type"].startswith("https://")


def test_rate_limited_carries_retry_after():
    response = response_for_domain_error(errors.RateLimited("slow down", retry_after_seconds=900))
    assert response.headers["Retry-After"] == "900"
    assert json.loads(response.body)["retry_after"] == 900


def test_extensions_are_included():
    body = json.loads(response_for_domain_error(errors.QuotaExceeded("full", quota="projects", limit=10)).body)
    assert body["quota"] == "projects" and body["limit"] == 10
    assert body["type"].endswith("/quota-exceeded")
