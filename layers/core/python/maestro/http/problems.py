"""RFC 9457 problem details: every 4xx/5xx body, and the one mapping from domain errors to status codes."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from chalice import Response

from maestro.domain import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://maestro-ml.dev/problems/"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.QuotaExceeded: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.ValidationFailed: 422,
    errors.RateLimited: 429,
    errors.DependencyUnavailable: 503,
}


def status_for(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def problem_body(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    problem_type: str | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (problem_type or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": title or phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    return Response(
        body=json.dumps(problem_body(status, title, detail, **extensions), default=str),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def response_for_domain_error(
    error: errors.DomainError, instance: str | None = None, retry_after_seconds: int | None = None
) -> Response:
    status = status_for(error)
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after_seconds)
    elif retry_after_seconds is not None:
        headers["Retry-After"] = str(retry_after_seconds)
    problem_type = type(error).__name__.replace("_", "-")
    # CamelCase class name -> kebab-case problem type, e.g. QuotaExceeded -> quota-exceeded
    problem_type = "".join("-" + c.lower() if c.isupper() else c for c in problem_type).lstrip("-")
    return problem_response(
        status,
        error.title,
        error.detail,
        headers=headers,
        problem_type=problem_type,
        instance=instance,
        **error.extensions,
    )
