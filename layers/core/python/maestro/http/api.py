"""Middleware (HTTP and event handlers) and JSON responses shared by every function (routes: maestro.http.routes)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice import Response
from chalice.app import MiddlewareHandler, Request

from maestro import strict_json
from maestro.domain.errors import PayloadTooLarge
from maestro.http.problems import PROBLEM_CONTENT_TYPE, problem_body, response_for_domain_error
from maestro.http.requests import client_request_id
from maestro.observability import logger, metrics, tracer
from maestro.settings import get_settings

JSON_CONTENT_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=strict_json.dumps(body),  # never NaN/Infinity, which is not JSON
        status_code=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def etag_response(body: dict[str, Any], status: int = 200, *, etag_field: str = "version") -> Response:
    """A JSON answer whose ETag is the record's counter (`etag_field`), the value If-Match sends back."""
    return json_response(body, status=status, headers={"ETag": f'"{body[etag_field]}"'})


def _body_size(event: Request) -> int:
    declared = event.headers.get("content-length") if event.headers else None
    if declared and declared.isdigit():
        return int(declared)
    return len(event.raw_body or b"")


def _as_problem(response: Response) -> Response:
    """Chalice's own error bodies ({"Code", "Message"}) become problem+json with the same status."""
    headers = response.headers or {}
    declared = headers.get("Content-Type") or headers.get("content-type") or JSON_CONTENT_TYPE
    content_type = declared if isinstance(declared, str) else ", ".join(declared)  # a multi-value header
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
    context: dict[str, Any] = event.context or {}
    request_id = (
        context.get("requestId")
        or client_request_id(event.headers.get("x-request-id") if event.headers else None)
        or str(uuid.uuid4())
    )
    if event.context is not None:
        event.context.setdefault("requestId", request_id)  # the audit log and the views read it from here
    logger.set_correlation_id(request_id)
    limit = get_settings().max_body_bytes
    route = f"{event.method} {context.get('resourcePath', '')}"
    if _body_size(event) > limit:
        response = response_for_domain_error(PayloadTooLarge(f"request body exceeds {limit} bytes", limit_bytes=limit))
    else:
        # One X-Ray subsegment per route (a no-op where tracing is disabled, as locally).
        with tracer.provider.in_subsegment(f"## {route}") as subsegment:
            response = _as_problem(get_response(event))
            # aws-xray-sdk's stub names numbers.Number, which the type check does not relate to int
            subsegment.put_annotation("status", response.status_code)  # type: ignore[arg-type]
    response.headers = {**(response.headers or {}), "X-Request-Id": request_id}
    metrics.add_metric(name=f"Http{response.status_code // 100}xx", unit="Count", value=1)
    metrics.flush_metrics()
    return response


def event_middleware(event: Any, get_response: MiddlewareHandler) -> Any:
    """Event handlers (EventBridge, SQS, schedules): a correlation id, an X-Ray subsegment, metrics flushed."""
    context = getattr(event, "context", None)
    logger.set_correlation_id(getattr(context, "aws_request_id", None))
    with tracer.provider.in_subsegment(f"## {type(event).__name__}"):
        result = get_response(event)
    metrics.flush_metrics()
    return result
