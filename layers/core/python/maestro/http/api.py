"""Wiring every HTTP route shares: error mapping, body limits, correlation ids, JSON responses."""
from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Callable

from chalice import ChaliceViewError, Response
from chalice.app import MiddlewareHandler, Request

from maestro.domain.errors import DomainError, PayloadTooLarge
from maestro.http.problems import PROBLEM_CONTENT_TYPE, problem_body, problem_response, response_for_domain_error
from maestro.observability import logger, metrics
from maestro.settings import get_settings

JSON_CONTENT_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, default=str),
        status_code=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def _request_path(request: Request | None) -> str | None:
    if request is None:
        return None
    return request.context.get("path") or request.context.get("resourcePath")


def http_endpoint(current_request: Callable[[], Request | None]) -> Callable:
    """Decorator factory: turns domain errors and Chalice view errors into problem+json, never a stack trace.

    `current_request` is the blueprint's accessor, so the kit never needs the app object.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                return response_for_domain_error(error, instance=_request_path(current_request()))
            except ChaliceViewError as error:
                return problem_response(error.STATUS_CODE, detail=str(error).split(": ", 1)[-1])
            except Exception:  # a bug, not a client mistake: log it whole, answer without internals
                logger.exception("unhandled error in %s", view.__name__)
                return problem_response(500, detail="An internal error occurred; it has been logged.")

        return wrapper

    return decorate


def _body_size(event: Request) -> int:
    declared = event.headers.get("content-length") if event.headers else None
    if declared and declared.isdigit():
        return int(declared)
    return len(event.raw_body or b"")


def _as_problem(response: Response) -> Response:
    """Chalice's own error bodies ({"Code", "Message"}) become problem+json with the same status."""
    headers = response.headers or {}
    content_type = headers.get("Content-Type") or headers.get("content-type") or JSON_CONTENT_TYPE
    if response.status_code < 400 or content_type.startswith(PROBLEM_CONTENT_TYPE):
        return response
    body = response.body
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    detail = body.get("Message") if isinstance(body, dict) else None
    extra_headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return Response(
        body=json.dumps(problem_body(response.status_code, detail=detail)),
        status_code=response.status_code,
        headers={**extra_headers, "Content-Type": PROBLEM_CONTENT_TYPE},
    )


def problem_middleware(event: Request, get_response: MiddlewareHandler) -> Response:
    """HTTP middleware: correlation id, body-size limit, and problem+json for errors Chalice answers itself."""
    # API Gateway's request id; locally (no gateway) the caller's X-Request-Id or a fresh one.
    request_id = (event.context or {}).get("requestId") or (event.headers or {}).get("x-request-id") or str(uuid.uuid4())
    logger.set_correlation_id(request_id)
    limit = get_settings().max_body_bytes
    if _body_size(event) > limit:
        response = response_for_domain_error(PayloadTooLarge(f"request body exceeds {limit} bytes", limit_bytes=limit))
    else:
        response = _as_problem(get_response(event))
    response.headers = {**(response.headers or {}), "X-Request-Id": request_id}
    metrics.add_metric(name=f"Http{response.status_code // 100}xx", unit="Count", value=1)
    metrics.flush_metrics()
    return response
