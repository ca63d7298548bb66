"""The audit log in DynamoDB: one hash chain per tenant in `audit-events` (partition `tenant_id`, range `seq`).

Appending is optimistic: read the head, write seq = head + 1 with `attribute_not_exists(seq)`, and on a lost
race re-read and retry. The condition is what keeps concurrent appenders from forking the chain or silently
overwriting each other's events.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from maestro.domain.audit import GENESIS_HASH, AuditEntry, ChainVerification, build_link, canonical_time, verify_chain
from maestro.domain.errors import DependencyUnavailable, InvalidInput
from maestro.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from maestro.repositories.schema import AuditEvent, AuditHead
from maestro.repositories.tables import ensure_bound, is_condition_failure

# A filtered listing reads at most this many DynamoDB pages per request and may return a short page (with a
# cursor) rather than walk a large chain looking for rare matches.
MAX_PAGES_PER_LIST = 8
FILTERED_PAGE_SIZE = 200
CHAIN_PAGE_SIZE = 500
_BACKOFF_BASE_S = 0.005
_BACKOFF_CAP_S = 0.1


def append(tenant_id: str, entry: AuditEntry, *, now: datetime | None = None, max_attempts: int = 20) -> dict[str, Any]:
    """Appends `entry` as the tenant's next link and returns the stored link (`id` = event_id, ISO occurred_at).

    `changes` is redacted before it is hashed and stored. Raises DependencyUnavailable when `max_attempts`
    appends in a row lose the race for the next seq."""
    ensure_bound()
    event_id = str(uuid4())
    for attempt in range(max_attempts):
        head = _head(tenant_id)
        link = build_link(
            tenant_id,
            int(head.seq) + 1 if head else 1,
            head.hash if head else GENESIS_HASH,
            entry,
            event_id=event_id,
            occurred_at=now or datetime.now(UTC),
        )
        try:
            _to_model(link).save(condition=AuditEvent.seq.does_not_exist())
        except PutError as error:
            if not is_condition_failure(error):
                raise
            # Another appender took this seq: back off a little (jittered, so the losers spread out) and re-read.
            time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
            continue
        _raise_head(tenant_id, link["seq"])
        return {"id": event_id, **link}
    raise DependencyUnavailable("the audit log is busy; retry the request")


def list_events(
    tenant_id: str,
    *,
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """The tenant's events, newest first (descending seq), filtered by exact actor, exact action, resource
    (`resource_type`, or `resource_type:resource_id`) and time (`occurred_from` <= occurred_at < `occurred_to`).

    Pages hold at most `limit` items; a filtered page may be shorter (even empty) while `next_cursor` is set,
    because one request reads at most MAX_PAGES_PER_LIST DynamoDB pages. No `next_cursor` means the end."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    occurred_from, occurred_to = _utc(occurred_from), _utc(occurred_to)
    if occurred_from and occurred_to and occurred_from >= occurred_to:
        raise InvalidInput("`from` must be earlier than `to`", parameter="from")
    ensure_bound()
    start = _decode_cursor(tenant_id, cursor)
    condition = _filter(actor, action, resource, occurred_from, occurred_to)
    results = AuditEvent.query(
        tenant_id,
        filter_condition=condition,
        scan_index_forward=False,
        last_evaluated_key=start,
        page_size=limit if condition is None else max(limit, FILTERED_PAGE_SIZE),
    )
    items: list[dict[str, Any]] = []
    next_key: dict[str, Any] | None = None
    for pages_read, page in enumerate(results.page_iter, start=1):
        matches = [AuditEvent.from_raw_data(raw) for raw in page.get("Items", [])]
        wanted = limit - len(items)
        items.extend(_to_link(event) for event in matches[:wanted])
        if len(matches) > wanted:
            next_key = _key(tenant_id, items[-1]["seq"])  # stopped inside this page: resume after the last item
            break
        next_key = results.page_iter.last_evaluated_key
        if next_key is None or len(items) == limit or pages_read == MAX_PAGES_PER_LIST:
            break
    return Page(items=items, next_cursor=encode_cursor(next_key))


def read_chain(tenant_id: str) -> Iterator[dict[str, Any]]:
    """Every link of the tenant's chain in ascending seq order, read consistently page by page."""
    ensure_bound()
    for event in AuditEvent.query(tenant_id, consistent_read=True, scan_index_forward=True, page_size=CHAIN_PAGE_SIZE):
        yield _to_link(event)


def verify(tenant_id: str) -> ChainVerification:
    """Whether the tenant's chain is intact, and its first broken link if not (see verify_chain). The
    recorded head makes a deleted last event visible too."""
    ensure_bound()
    try:
        head_seq = int(AuditHead.get(tenant_id, consistent_read=True).head_seq)
    except DoesNotExist:
        head_seq = None
    return verify_chain(read_chain(tenant_id), expected_head_seq=head_seq)


def _raise_head(tenant_id: str, seq: int) -> None:
    """Record `seq` as the head unless a later append already did (the head only moves forward)."""
    try:
        AuditHead(tenant_id).update(
            actions=[AuditHead.head_seq.set(seq)],
            condition=AuditHead.head_seq.does_not_exist() | (AuditHead.head_seq < seq),
        )
    except UpdateError as error:
        if not is_condition_failure(error):
            raise


# ---------------------------------------------------------------- helpers
def _head(tenant_id: str) -> AuditEvent | None:
    return next(iter(AuditEvent.query(tenant_id, consistent_read=True, scan_index_forward=False, limit=1)), None)


def _to_model(link: dict[str, Any]) -> AuditEvent:
    fields = {name: link[name] for name in AuditEvent.get_attributes() if link.get(name) is not None}
    fields["occurred_at"] = datetime.fromisoformat(link["occurred_at"])
    return AuditEvent(**fields)


def _to_link(event: AuditEvent) -> dict[str, Any]:
    link = {name: getattr(event, name) for name in AuditEvent.get_attributes()}
    link["seq"] = int(event.seq)
    link["occurred_at"] = canonical_time(event.occurred_at)
    return {"id": event.event_id, **link}


def _key(tenant_id: str, seq: int) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "seq": {"N": str(seq)}}


def _decode_cursor(tenant_id: str, cursor: str | None) -> dict[str, Any] | None:
    start = decode_cursor(cursor, {"tenant_id": {"S": tenant_id}})
    # Beyond the partition check: a start key of any other shape would reach DynamoDB and come back as a 500.
    if start is not None:
        seq = start.get("seq")
        if set(start) != {"tenant_id", "seq"} or not isinstance(seq, dict) or not str(seq.get("N", "")).isdigit():
            raise InvalidInput("cursor is not a cursor this API issued", parameter="cursor")
    return start


def _utc(moment: datetime | None) -> datetime | None:
    # Naive datetimes are UTC, as pynamodb stores them.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _filter(
    actor: str | None,
    action: str | None,
    resource: str | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
):
    conditions = []
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if action:
        conditions.append(AuditEvent.action == action)
    if resource:
        resource_type, _, resource_id = resource.partition(":")
        conditions.append(AuditEvent.resource_type == resource_type)
        if resource_id:
            conditions.append(AuditEvent.resource_id == resource_id)
    if occurred_from:
        conditions.append(AuditEvent.occurred_at >= occurred_from)
    if occurred_to:
        conditions.append(AuditEvent.occurred_at < occurred_to)
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    return condition
