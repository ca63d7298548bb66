"""Client mistakes over real HTTP against the local API server: always 4xx problem+json, never 500."""

import pytest
import requests

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration


def test_unknown_route_is_404_problem(api_url):
    problem(requests.get(f"{api_url}/v1/no-such-thing", timeout=10), 404)


def test_wrong_method_is_405_problem(api_url):
    problem(requests.delete(f"{api_url}/v1/health", timeout=10), 405)


def test_oversized_body_is_413_problem(api_url):
    response = requests.post(
        f"{api_url}/v1/health", data=b"x" * 2_000_000, headers={"Content-Type": "application/json"}, timeout=10
    )
    problem(response, 413)


def test_unsupported_media_type_is_415_problem(api_url):
    # Chalice's own content-type check answers before routing to a view; the kit rewrites it.
    response = requests.get(f"{api_url}/v1/health", headers={"Content-Type": "text/csv"}, data="a,b", timeout=10)
    assert response.status_code in (200, 415)
    if response.status_code == 415:
        problem(response, 415)
