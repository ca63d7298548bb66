"""`Idempotency-Key` on POST: a retried request with the same key returns the first response and creates
nothing new. Powertools idempotency (DynamoDB-backed) does the bookkeeping; the key is scoped to the caller's
tenant and route, and reusing a key with a different body is refused (422), as is a retry that arrives while
the first attempt is still running (409). Only successful responses are remembered: a failed attempt may be
retried with the same key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice import Response

from maestro.domain.errors import Conflict, InvalidInput, ValidationFailed

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255

_persistence = None


class _NotRemembered(Exception):
    """Carries a failed response out of the idempotent call so Powertools forgets the attempt."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _store() -> Any:
    global _persistence
    if _persistence is None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from maestro.aws_clients import client
        from maestro.settings import get_settings

        _persistence = DynamoDBPersistenceLayer(
            table_name=get_settings().table_name("idempotency"), boto3_client=client("dynamodb")
        )
    return _persistence


def reset_idempotency_store() -> None:
    global _persistence
    _persistence = None


def run_idempotently(
    key: str, scope_id: str, body: bytes | str | None, produce: Callable[[], Response], lambda_context: Any = None
) -> Response:
    """Run `produce` once per (scope_id, key); later calls with the same key get the stored response."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", header="Idempotency-Key")
    config = IdempotencyConfig(
        event_key_jmespath="[scope, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)  # an in-progress record expires with the invocation
    executed = []

    @idempotent_function(data_keyword_argument="request", persistence_store=_store(), config=config)
    def remembered(request: dict) -> dict:
        executed.append(True)
        response = produce()
        if response.status_code >= 400:
            raise _NotRemembered(response)
        body_out = response.body if isinstance(response.body, str) else json.dumps(response.body, default=str)
        return {"status": response.status_code, "headers": dict(response.headers or {}), "body": body_out}

    raw = body.decode() if isinstance(body, bytes) else (body or "")
    try:
        stored = remembered(request={"scope": scope_id, "key": key, "body": raw})
    except _NotRemembered as failed:
        return failed.response
    except IdempotencyValidationError:
        raise ValidationFailed(
            "this Idempotency-Key was used with a different request body",
            errors=[
                {"field": "Idempotency-Key", "message": "reused with another body", "type": "idempotency_key_reused"}
            ],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from None
    return Response(
        body=stored["body"],
        status_code=stored["status"],
        headers={**stored["headers"], "Idempotent-Replayed": "false" if executed else "true"},
    )
