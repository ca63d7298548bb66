"""API Gateway responses for errors the gateway answers before any function runs, as problem+json.
Used by the deployed template (infra/template/api.py) and by the local API server alike."""

from __future__ import annotations

import json


def _template(status: int | None, title: str, detail: str, problem_type: str) -> str:
    body = {
        "type": f"https://maestro-ml.dev/problems/{problem_type}",
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": "$context.requestId",
    }
    # "status" is advisory in RFC 9457; the catch-all responses keep the gateway's own status code.
    return json.dumps({k: v for k, v in body.items() if v is not None})


GATEWAY_RESPONSES = {
    # API Gateway's answer for a route that does not exist.
    "MISSING_AUTHENTICATION_TOKEN": {
        "status": 404,
        "template": _template(404, "Not Found", "no such route or method", "not-found"),
    },
    "REQUEST_TOO_LARGE": {
        "status": 413,
        "template": _template(413, "Payload Too Large", "request body exceeds the gateway limit", "payload-too-large"),
    },
    "UNAUTHORIZED": {
        "status": 401,
        "template": _template(401, "Unauthorized", "missing or invalid credentials", "unauthenticated"),
    },
    # Our authorizer denies only unauthenticated requests (permissions are checked per route, as 403, in
    # the function), so a Deny is a 401 whose detail is the authorizer's reason.
    "ACCESS_DENIED": {
        "status": 401,
        "template": _template(401, "Unauthorized", "$context.authorizer.reason", "unauthenticated"),
    },
    # The authorizer itself failed (its DynamoDB reads throttled or timed out past the SDK retries): the
    # client's credentials were not judged, so it may retry; never a 500.
    "AUTHORIZER_FAILURE": {
        "status": 503,
        "template": _template(
            503, "Service Unavailable", "authentication is briefly unavailable; retry", "unavailable"
        ),
        "headers": {"Retry-After": "2"},
    },
    "THROTTLED": {
        "status": 429,
        "template": _template(429, "Too Many Requests", "request rate exceeded", "too-many-requests"),
    },
    "DEFAULT_4XX": {
        "status": None,  # keeps the gateway's own status
        "template": _template(None, "Request rejected", "the gateway rejected the request", "gateway-rejected"),
    },
    "DEFAULT_5XX": {
        "status": None,
        "template": _template(None, "Gateway error", "the platform could not answer; retry later", "gateway-error"),
    },
}
