"""`chalice local`, as a library: the same LocalDevServer and gateway, with what the deployed API Gateway
does differently from Chalice's default local emulation:
- the gateway responses of infra/gateway_responses.py (an unknown route answers 404 problem+json);
- a REQUEST-type authorizer event carrying every header (so `X-Api-Key` alone authenticates), and a Deny
  answered as 401 problem+json with the authorizer's reason;
- CORS for the web console's origin (maestro.http.cors): preflights answered from settings, and the gateway's
  own errors carrying Access-Control-Allow-Origin as the deployed gateway responses do."""

from __future__ import annotations

import json
import os
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
)

from infra.gateway_responses import GATEWAY_RESPONSES
from maestro.http.cors import preflight_headers, response_headers

PROJECT_DIR = Path(__file__).resolve().parents[2]


class AuthorizerDenied(LocalGatewayException):
    CODE = 401


class AuthorizerFailed(LocalGatewayException):
    CODE = 503


class RequestAuthorizer(LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except LocalGatewayException:
            raise
        except Exception:  # as API Gateway: an authorizer that raised is AUTHORIZER_FAILURE
            response = GATEWAY_RESPONSES["AUTHORIZER_FAILURE"]
            body = response["template"].replace("$context.requestId", str(uuid.uuid4()))
            raise AuthorizerFailed(
                {"Content-Type": "application/problem+json", **response["headers"]}, body.encode()
            ) from None

    def _prepare_authorizer_event(self, arn: str, lambda_event: dict, lambda_context: Any) -> dict:
        event = dict(lambda_event)
        event["type"] = "REQUEST"
        event["methodArn"] = arn
        return event

    def _check_can_invoke_view_function(self, arn: str, auth_result: dict) -> bool:
        if super()._check_can_invoke_view_function(arn, auth_result):
            return True
        reason = (auth_result.get("context") or {}).get("reason", "unauthorized")
        template = GATEWAY_RESPONSES["ACCESS_DENIED"]["template"].replace("$context.authorizer.reason", reason)
        template = template.replace("$context.requestId", str(uuid.uuid4()))
        raise AuthorizerDenied({"Content-Type": "application/problem+json"}, template.encode())


class ProblemRequestHandler(ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        self.local_gateway = LocalGateway(app_object, config)
        self.local_gateway._authorizer = RequestAuthorizer(app_object)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def do_OPTIONS(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        origin = self.headers.get("Origin")
        if origin is None or self.headers.get("Access-Control-Request-Method") is None:
            self._generic_handle()  # not a CORS preflight
            return
        headers = preflight_headers(origin)
        self._send_http_response(204 if headers else 403, headers, None)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        cors = response_headers(self.headers.get("Origin"))
        if isinstance(error, (AuthorizerDenied, AuthorizerFailed)):
            self._send_http_response(error.CODE, {**dict(error.headers), **cors}, error.body)
            return
        # Chalice's local gateway answers a missing route with 403 "Missing Authentication Token", as API
        # Gateway does by default; our deployed gateway maps that to 404 problem+json, and so do we.
        # With an Authorization header it answers "Authorization header requires 'Credential' parameter…" instead,
        # which API Gateway also types MISSING_AUTHENTICATION_TOKEN: an unknown route is 404 with or without a token.
        message = json.loads(error.body or b"{}").get("message", "")
        unknown_route = "Missing Authentication Token" in message or "Authorization header requires" in message
        kind = "MISSING_AUTHENTICATION_TOKEN" if unknown_route else "DEFAULT_4XX"
        response = GATEWAY_RESPONSES[kind]
        body = response["template"].replace("$context.requestId", error.headers.get("x-amzn-RequestId", "local"))
        self._send_http_response(
            response["status"] or error.CODE, {"Content-Type": "application/problem+json", **cors}, body
        )


def load_app(stage: str = "local") -> tuple[Any, Any]:
    """The Chalice app object and its stage config, loaded the way `chalice local` loads them."""
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return config.chalice_app, config


def create_api_server(app_obj: Any, config: Any, host: str = "127.0.0.1", port: int = 8000) -> LocalDevServer:
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=ProblemRequestHandler)
