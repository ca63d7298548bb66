"""`chalice local`, as a library: the same LocalDevServer and gateway, with the gateway responses the deployed
API has (infra/gateway_responses.py) so an unknown route answers 404 problem+json locally as in AWS."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer, LocalGatewayException

from infra.gateway_responses import GATEWAY_RESPONSES

PROJECT_DIR = Path(__file__).resolve().parents[2]


class ProblemRequestHandler(ChaliceRequestHandler):
    def _send_error_response(self, error: LocalGatewayException) -> None:
        # Chalice's local gateway answers a missing route with 403 "Missing Authentication Token", as API
        # Gateway does by default; our deployed gateway maps that to 404 problem+json, and so do we.
        message = json.loads(error.body or b"{}").get("message", "")
        kind = "MISSING_AUTHENTICATION_TOKEN" if "Missing Authentication Token" in message else "DEFAULT_4XX"
        response = GATEWAY_RESPONSES[kind]
        body = response["template"].replace("$context.requestId", error.headers.get("x-amzn-RequestId", "local"))
        self._send_http_response(response["status"] if kind != "DEFAULT_4XX" else error.CODE,
                                 {"Content-Type": "application/problem+json"}, body)


def load_app(stage: str = "local") -> tuple[Any, Any]:
    """The Chalice app object and its stage config, loaded the way `chalice local` loads them."""
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return config.chalice_app, config


def create_api_server(app_obj: Any, config: Any, host: str = "127.0.0.1", port: int = 8000) -> LocalDevServer:
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=ProblemRequestHandler)
