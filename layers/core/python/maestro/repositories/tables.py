"""Binds the pynamodb models to the configured stage once per execution environment."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from maestro.aws_clients import dynamodb_host
from maestro.repositories import schema
from maestro.settings import Settings, get_settings

ItemModel = TypeVar("ItemModel", bound=Model)

_bound_for: Settings | None = None
_lock = threading.Lock()


def ensure_bound(settings: Settings | None = None) -> None:
    global _bound_for
    settings = settings or get_settings()
    if _bound_for == settings:
        return
    with _lock:
        if _bound_for != settings:
            schema.bind_tables(settings, dynamodb_host(settings))
            _bound_for = settings


def get_item(model: type[ItemModel], hash_key: str, range_key: Any = None) -> ItemModel | None:
    """The item under these keys, read strongly consistent, or None when there is none."""
    ensure_bound()
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


_connections: dict = {}


def transaction_connection():
    """A pynamodb Connection bound to this stage's endpoint, for TransactWrite; one per execution environment
    (building its botocore client costs tens of milliseconds)."""
    from pynamodb.connection import Connection

    settings = get_settings()
    ensure_bound(settings)
    key = (settings.region, dynamodb_host(settings))
    if key not in _connections:
        _connections[key] = Connection(region=settings.region, host=key[1])
    return _connections[key]


def failed_conditions(error: Exception) -> list[int]:
    """Indexes of a cancelled transaction's operations whose condition failed, in the order pynamodb sends
    them: condition checks, then deletes, then puts, then updates (not the order they were added in)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return [i for i, reason in enumerate(reasons) if reason is not None and reason.code == "ConditionalCheckFailed"]


def transaction_conflicted(error: Exception) -> bool:
    """A cancelled transaction that collided with another in-flight write of the same item (DynamoDB's
    TransactionConflict): the same situation as a failed version condition, one step earlier."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(reason is not None and reason.code == "TransactionConflict" for reason in reasons)


def is_condition_failure(error: Exception) -> bool:
    """A single write refused by its condition (pynamodb PutError/UpdateError/DeleteError)."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def update_if(item: Model, actions: list[Any], condition: Any, **options: Any) -> bool:
    """Apply `actions` to `item` only where `condition` holds: True when written, False when the condition refused
    it (any other failure raises)."""
    try:
        item.update(actions=actions, condition=condition, **options)
        return True
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise
