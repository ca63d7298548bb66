"""The API's custom authorizer plumbing: a Chalice authorizer that reads `Authorization` or `X-Api-Key`, and
the Deny policy that carries the reason to the gateway's problem+json response."""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, ChaliceAuthorizer

DENY_REASON_KEY = "reason"


class HeaderAuthRequest(AuthRequest):
    def __init__(
        self,
        auth_type: str,
        token: str | None,
        method_arn: str,
        api_key: str | None = None,
        source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        super().__init__(auth_type, token, method_arn)  # type: ignore[arg-type]
        self.api_key = api_key
        self.source_ip = source_ip
        self.user_agent = user_agent


class HeaderAuthorizer(ChaliceAuthorizer):
    """Accepts TOKEN events (Authorization header) and REQUEST events (all headers). The deployed API uses a
    REQUEST authorizer with no identity source and no cache (infra/template/api.py), so requests that carry only
    `X-Api-Key` still reach it; the local gateway sends the same REQUEST event (infra/local/api_server.py)."""

    def _transform_event(self, event: dict[str, Any]) -> AuthRequest:
        if event.get("type") != "REQUEST":
            return HeaderAuthRequest(event["type"], event.get("authorizationToken"), event["methodArn"])
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        identity = (event.get("requestContext") or {}).get("identity") or {}
        return HeaderAuthRequest(
            "REQUEST",
            headers.get("authorization"),
            event["methodArn"],
            api_key=headers.get("x-api-key"),
            source_ip=identity.get("sourceIp"),
            user_agent=headers.get("user-agent"),
        )


def deny_policy(method_arn: str, reason: str) -> dict[str, Any]:
    """An explicit Deny; API Gateway answers ACCESS_DENIED, which our gateway response turns into 401 with
    `$context.authorizer.reason` as the problem's detail."""
    return {
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [method_arn]}],
        },
        "context": {DENY_REASON_KEY: reason},
    }
