"""CORS for the web console, which is served from another origin than the API (S3 deployed, 127.0.0.1:8001 by
`make run`). The allowed origins come from settings (MAESTRO_CORS_ORIGINS, comma-separated, never `*` outside
the local stages). A request from any other origin gets no CORS headers, so the browser withholds the answer.

Three places answer a browser: the functions (cors_middleware), the preflight (API Gateway's OPTIONS methods that
Chalice generates from `cors_config`; locally infra/local/api_server.py), and the gateway's own error responses
(a 401 from the authorizer must be readable, or the console could not tell "refresh the token" from "offline")."""

from __future__ import annotations

from typing import Any

from maestro.settings import Settings, get_settings

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Api-Key", "X-Request-Id")
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-Id")
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_AGE_SECONDS = 600


def allowed_origin(origin: str | None, settings: Settings | None = None) -> str | None:
    """The origin to name in Access-Control-Allow-Origin, or None when this origin may not read answers."""
    if not origin:
        return None
    origins = (settings or get_settings()).cors_origin_list
    if origin in origins:
        return origin
    return origin if "*" in origins else None  # `*` is refused outside local stages (Settings)


def response_headers(origin: str | None, settings: Settings | None = None) -> dict[str, str]:
    allowed = allowed_origin(origin, settings)
    if allowed is None:
        return {}
    return {
        "Access-Control-Allow-Origin": allowed,
        "Access-Control-Expose-Headers": ",".join(EXPOSED_HEADERS),
        "Vary": "Origin",
    }


def preflight_headers(origin: str | None, settings: Settings | None = None) -> dict[str, str]:
    headers = response_headers(origin, settings)
    if headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": ",".join(ALLOWED_METHODS),
                "Access-Control-Allow-Headers": ",".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
        )
    return headers


def cors_config(settings: Settings | None = None) -> Any:
    """Chalice's CORSConfig for the deployed preflight (API Gateway mock OPTIONS methods), or None without origins.
    API Gateway's mock answers one static origin: the first configured one (a deployed stage has one console)."""
    from chalice import CORSConfig

    origins = (settings or get_settings()).cors_origin_list
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=MAX_AGE_SECONDS,
    )


def cors_middleware(event: Any, get_response: Any) -> Any:
    """HTTP middleware, registered outermost so every answer passes it (a 413 of the problem middleware too): name
    the caller's origin when it is allowed (more than one origin may be), and nothing otherwise. The CORS headers
    Chalice adds from `cors_config` (one static origin, for the deployed preflight) are replaced."""
    response = get_response(event)
    origin = (event.headers or {}).get("origin")
    kept = {k: v for k, v in (response.headers or {}).items() if not k.lower().startswith("access-control-")}
    response.headers = {**kept, **response_headers(origin)}
    return response
