"""Query one page of a partition with the opaque cursor helpers (no route ever scans a table)."""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from maestro.domain.errors import InvalidInput
from maestro.pagination import Page, decode_cursor, encode_cursor
from maestro.repositories.tables import ensure_bound


def _key_names(model: type[Model], index: Any) -> set[str]:
    """The attributes of a LastEvaluatedKey: the table's keys, plus the index's when querying one."""
    names = {model._hash_key_attribute().attr_name}
    if model._range_key_attribute() is not None:
        names.add(model._range_key_attribute().attr_name)
    if index is not None:
        names |= {a.attr_name for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key}
    return names


def query_page(
    model: type[Model], hash_key: str, *, limit: int, cursor: str | None, index: Any = None, **query_kwargs: Any
) -> Page:
    """Up to `limit` items of the partition `hash_key` (of the table or of `index`), and the next cursor."""
    ensure_bound()
    hash_name = (index if index is not None else model)._hash_key_attribute().attr_name
    start = decode_cursor(cursor, {hash_name: {"S": hash_key}})
    if start is not None and set(start) != _key_names(model, index):
        # A start key of another shape would come back from DynamoDB as a ValidationException (a 500).
        raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    source = index if index is not None else model
    results = source.query(hash_key, limit=limit, last_evaluated_key=start, **query_kwargs)
    items = list(results)
    next_key = results.last_evaluated_key if len(items) >= limit else None
    return Page(items=items, next_cursor=encode_cursor(next_key))
