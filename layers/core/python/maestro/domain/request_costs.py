"""What a request costs against its caller's throttling budget (maestro.services.request_throttling): 1 unit,
or the heavy cost (settings.throttle_heavy_cost) for routes that run models, rank the library or call out.
A test holds every entry to a served route."""

from __future__ import annotations

HEAVY_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/v1/match"),
        ("POST", "/v1/artifacts/search"),
        ("POST", "/v1/predictions"),
        ("POST", "/v1/recommendations"),
        ("GET", "/v1/projects/{project_id}/similar"),
        ("POST", "/v1/projects/{project_id}/integrations/mlflow/sync"),
        ("POST", "/v1/artifacts/embeddings/backfill"),
    }
)


def request_cost(method: str, path: str, heavy_cost: int) -> int:
    return heavy_cost if (method, path) in HEAVY_ROUTES else 1
