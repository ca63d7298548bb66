"""Opaque cursor pagination: one helper for every list.

A cursor is the DynamoDB LastEvaluatedKey, serialised and base64url-encoded. It is opaque to clients; on the
way back in it is checked to belong to the caller's own partition, so a forged cursor cannot read across
tenants (the partition key of every query is fixed by the caller anyway).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from maestro.domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

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


def decode_cursor(cursor: str | None, partition: dict[str, Any]) -> dict[str, Any] | None:
    """The start key for the next page; `partition` is the caller's own partition key, which it must carry."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor") from None
    if not isinstance(key, dict) or any(key.get(name) != value for name, value in partition.items()):
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    return key


def encode_offset_cursor(offset: int, fingerprint: str) -> str:
    """A cursor into a ranked result computed per request (search): the offset, bound to the query's fingerprint."""
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset_cursor(cursor: str | None, fingerprint: str) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor") from None
    if data.get("f") != fingerprint or offset < 0:
        raise InvalidInput("cursor belongs to a different query", parameter="cursor")
    return offset
