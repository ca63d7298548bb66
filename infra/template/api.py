"""API Gateway: REQUEST authorizers, the gateway's own error answers as problem+json, stage throttling."""

from __future__ import annotations

from typing import Any

from infra.gateway_responses import GATEWAY_RESPONSES
from maestro.http.problems import PROBLEM_CONTENT_TYPE

# Custom authorizers deployed as REQUEST authorizers with no identity source and no cache, so a request that
# carries only X-Api-Key (no Authorization header) still reaches the function (maestro.http.authorizer).
REQUEST_AUTHORIZERS = {"maestro_authorizer"}


# API Gateway stage throttling (requests per second steady, and burst), per stage: the cap in front of every
# Lambda, before the per-caller budgets (maestro.services.request_throttling) that need a function to run. The
# account-level default is 10,000 rps / 5,000 burst shared by every API in the region; these stay well below it.
STAGE_THROTTLING: dict[str, tuple[int, int]] = {"prod": (500, 1000)}
DEFAULT_STAGE_THROTTLING = (100, 200)


def stage_method_settings(stage: str) -> list[dict[str, Any]]:
    """SAM `MethodSettings` for the REST API's stage: one rule for every resource and method."""
    rate, burst = STAGE_THROTTLING.get(stage, DEFAULT_STAGE_THROTTLING)
    return [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}]


def security_definitions(chalice_template: dict[str, Any], api: str) -> dict[str, Any]:
    """The custom authorizers of REQUEST_AUTHORIZERS switched from Chalice's TOKEN type to REQUEST."""
    definitions = chalice_template["Resources"][api]["Properties"]["DefinitionBody"].get("securityDefinitions", {})
    overrides = {}
    for name, definition in definitions.items():
        authorizer = definition.get("x-amazon-apigateway-authorizer")
        if name in REQUEST_AUTHORIZERS and authorizer:
            if "identitySource" in authorizer:  # the merge can add and replace keys, not remove them
                raise ValueError(f"{name}: Chalice emitted an identity source; REQUEST without one needs a change here")
            overrides[name] = {"x-amazon-apigateway-authorizer": {"type": "request", "authorizerResultTtlInSeconds": 0}}
    return overrides


def gateway_responses(cors_origin: str | None = None) -> dict[str, Any]:
    """API Gateway's own error answers as problem+json, in the API definition itself.

    Written into the OpenAPI body (x-amazon-apigateway-gateway-responses) rather than as separate
    AWS::ApiGateway::GatewayResponse resources: those take effect only after a new deployment of the stage,
    which SAM's deployment resource does not know to wait for; in the body they deploy with the API.
    """
    responses = {}
    for kind, response in GATEWAY_RESPONSES.items():
        entry: dict[str, Any] = {
            "responseParameters": {"gatewayresponse.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'"},
            "responseTemplates": {"application/json": response["template"]},
        }
        for header, value in response.get("headers", {}).items():
            entry["responseParameters"][f"gatewayresponse.header.{header}"] = f"'{value}'"
        if cors_origin:  # the web console must be able to read a 401 to know it should refresh its token
            entry["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] = f"'{cors_origin}'"
        if response["status"] is not None:
            entry["statusCode"] = str(response["status"])
        responses[kind] = entry
    return responses
