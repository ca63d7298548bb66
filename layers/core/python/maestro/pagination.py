"""Opaque cursor pagination: one helper for every list.

A cursor is the DynamoDB LastEvaluatedKey, serialised and base64url-encoded. It is opaque to clients; on the
way back in it is checked to belong to the caller's own partition, so a forged cursor cannot read across
tenants (the partition key of every query is fixed by the caller anyway).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from maestro.domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 4096
MAX_KEY_ATTRIBUTES = 4  # a table's and one index's hash and range keys
MAX_OFFSET = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_body(self, render=lambda item: item) -> dict[str, Any]:
        return {"items": [render(item) for item in self.items], "next_cursor": self.next_cursor, **self.extra}


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, sort_keys=True, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_json(cursor: str) -> Any:
    """The JSON inside a cursor, or InvalidInput: forged cursors get a 400, never a 500 (NaN/Infinity and
    nesting refused by the platform's JSON rules, too many digits or bad base64 alike)."""
    from maestro import strict_json

    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return strict_json.loads(base64.urlsafe_b64decode(padded.encode()), "cursor")
    except (binascii.Error, ValueError, InvalidInput):
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor") from None


def _is_key_value(value: Any) -> bool:
    """One DynamoDB key attribute as LastEvaluatedKey carries it: {"S": text} or {"N": number text}."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, text),) = value.items()
    if not isinstance(text, str) or len(text) > 2048:
        return False
    if kind == "S":
        return True
    if kind == "N":
        try:
            return math.isfinite(float(text))
        except ValueError:
            return False
    return False


def decode_cursor(cursor: str | None, partition: dict[str, Any]) -> dict[str, Any] | None:
    """The start key for the next page; `partition` is the caller's own partition key, which it must carry."""
    if cursor is None or cursor == "":
        return None
    key = _cursor_json(cursor)
    if (
        not isinstance(key, dict)
        or len(key) > MAX_KEY_ATTRIBUTES
        or any(key.get(name) != value for name, value in partition.items())
        or not all(isinstance(name, str) and _is_key_value(value) for name, value in key.items())
    ):
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    return key


def encode_offset_cursor(offset: int, fingerprint: str) -> str:
    """A cursor into a ranked result computed per request (search): the offset, bound to the query's fingerprint."""
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset_cursor(cursor: str | None, fingerprint: str) -> int:
    if not cursor:
        return 0
    data = _cursor_json(cursor)
    offset = data.get("o") if isinstance(data, dict) else None
    # Only an integer a result list can reach: 1e400 or Infinity would have overflowed int() into a 500.
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    if data.get("f") != fingerprint:
        raise InvalidInput("cursor belongs to a different query", parameter="cursor")
    return offset
