"""The audit log on DynamoDB (moto server): appends form one unbroken chain per tenant even under concurrent
writers, tampering with the table itself is caught and located, and listings filter and page correctly."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from maestro.domain.audit import GENESIS_HASH, AuditEntry
from maestro.domain.errors import InvalidInput

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def audit_log(local_stack):
    from maestro.repositories import audit_log

    return audit_log


@pytest.fixture
def table(dynamodb, audit_log):
    """Raw access to the audit table, for tests that tamper with the stored items themselves."""
    from maestro.repositories.schema import AuditEvent
    from maestro.repositories.tables import ensure_bound

    ensure_bound()
    name = AuditEvent.Meta.table_name

    class Table:
        def get(self, tenant_id, seq):
            return dynamodb.get_item(TableName=name, Key=self.key(tenant_id, seq), ConsistentRead=True)["Item"]

        def put(self, item):
            dynamodb.put_item(TableName=name, Item=item)

        def delete(self, tenant_id, seq):
            dynamodb.delete_item(TableName=name, Key=self.key(tenant_id, seq))

        @staticmethod
        def key(tenant_id, seq):
            return {"tenant_id": {"S": tenant_id}, "seq": {"N": str(seq)}}

    return Table()


def new_tenant() -> str:
    return f"tenant-{uuid4().hex}"


def entry(n: int, **overrides) -> AuditEntry:
    fields = dict(
        actor=f"user:u{n % 2}",
        action="project.update" if n % 3 else "auth.login",
        resource_type="project",
        resource_id=f"p{n}",
        outcome="success",
        source_ip="203.0.113.7",
        user_agent="pytest",
        request_id=f"req-{n}",
    )
    fields.update(overrides)
    return AuditEntry(**fields)


def append_many(audit_log, tenant_id: str, count: int) -> list[dict]:
    return [audit_log.append(tenant_id, entry(n), now=T0 + timedelta(minutes=n)) for n in range(1, count + 1)]


def test_appended_events_form_an_intact_chain(audit_log):
    tenant_id = new_tenant()
    stored = append_many(audit_log, tenant_id, 5)
    assert [link["seq"] for link in stored] == [1, 2, 3, 4, 5]
    assert stored[0]["prev_hash"] == GENESIS_HASH
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(stored, stored[1:], strict=False))
    assert stored[0]["id"] == stored[0]["event_id"] and stored[0]["occurred_at"] == "2025-03-01T12:01:00.000000+00:00"
    assert list(audit_log.read_chain(tenant_id)) == stored
    result = audit_log.verify(tenant_id)
    assert result.intact and result.checked == 5 and result.first_broken is None


def test_a_tenant_without_events_has_an_intact_empty_chain(audit_log):
    result = audit_log.verify(new_tenant())
    assert result.intact and result.checked == 0


def test_concurrent_appends_neither_fork_nor_lose_events(audit_log):
    tenant_id = new_tenant()
    audit_log.append(tenant_id, entry(0))  # warm the connection, so the figure below measures contention
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        stored = list(pool.map(lambda n: audit_log.append(tenant_id, entry(n)), range(1, 21)))
    elapsed = time.perf_counter() - started
    print(f"\n20 concurrent appends (8 threads): {elapsed * 1000:.0f} ms")
    assert sorted(link["seq"] for link in stored) == list(range(2, 22))
    chain = list(audit_log.read_chain(tenant_id))
    assert [link["seq"] for link in chain] == list(range(1, 22))
    assert {link["request_id"] for link in chain[1:]} == {f"req-{n}" for n in range(1, 21)}
    assert audit_log.verify(tenant_id).intact


def test_an_appender_with_a_stale_head_retries_instead_of_overwriting(audit_log, monkeypatch):
    """The attribute_not_exists(seq) condition, shown deterministically: the first read returns a stale head."""
    tenant_id = new_tenant()
    first, second = append_many(audit_log, tenant_id, 2)
    real_head, reads = audit_log._head, []

    def head_stale_once(t):
        reads.append(t)
        return None if len(reads) == 1 else real_head(t)  # None: "the chain is empty", so it tries seq 1 first

    monkeypatch.setattr(audit_log, "_head", head_stale_once)
    third = audit_log.append(tenant_id, entry(3))
    assert len(reads) == 2 and third["seq"] == 3 and third["prev_hash"] == second["hash"]
    assert [link["event_id"] for link in audit_log.read_chain(tenant_id)] == [
        first["event_id"],
        second["event_id"],
        third["event_id"],
    ]
    assert audit_log.verify(tenant_id).intact


def test_an_appender_that_keeps_losing_gives_up_as_unavailable(audit_log, monkeypatch):
    from maestro.domain.errors import DependencyUnavailable

    tenant_id = new_tenant()
    append_many(audit_log, tenant_id, 1)
    monkeypatch.setattr(audit_log, "_head", lambda t: None)  # always believes seq 1 is free
    with pytest.raises(DependencyUnavailable):
        audit_log.append(tenant_id, entry(2), max_attempts=3)
    assert [link["seq"] for link in audit_log.read_chain(tenant_id)] == [1]


def test_an_edited_event_is_reported_edited_at_its_seq(audit_log, table):
    tenant_id = new_tenant()
    stored = append_many(audit_log, tenant_id, 5)
    item = table.get(tenant_id, 3)
    item["outcome"] = {"S": "failure"}
    table.put(item)
    result = audit_log.verify(tenant_id)
    assert not result.intact
    assert result.first_broken == {"seq": 3, "event_id": stored[2]["event_id"], "problem": "edited"}


def test_a_deleted_event_is_reported_missing_at_the_next_seq(audit_log, table):
    tenant_id = new_tenant()
    stored = append_many(audit_log, tenant_id, 5)
    table.delete(tenant_id, 3)
    result = audit_log.verify(tenant_id)
    assert result.first_broken == {"seq": 4, "event_id": stored[3]["event_id"], "problem": "missing"}
    assert result.checked == 3


def test_a_deleted_last_event_is_reported_missing(audit_log, table):
    """The chain alone cannot show a deleted tail; the recorded head (audit-heads) does."""
    tenant_id = new_tenant()
    append_many(audit_log, tenant_id, 4)
    table.delete(tenant_id, 4)
    result = audit_log.verify(tenant_id)
    assert not result.intact
    assert result.first_broken["problem"] == "missing"
    assert result.first_broken["seq"] == 4


def test_swapped_events_are_reported_reordered(audit_log, table):
    tenant_id = new_tenant()
    stored = append_many(audit_log, tenant_id, 5)
    second, fourth = table.get(tenant_id, 2), table.get(tenant_id, 4)
    table.put({**fourth, **table.key(tenant_id, 2)})
    table.put({**second, **table.key(tenant_id, 4)})
    assert audit_log.verify(tenant_id).first_broken == {
        "seq": 2,
        "event_id": stored[3]["event_id"],
        "problem": "reordered",
    }


def test_appending_after_tampering_does_not_hide_it(audit_log, table):
    tenant_id = new_tenant()
    append_many(audit_log, tenant_id, 3)
    table.delete(tenant_id, 2)
    audit_log.append(tenant_id, entry(4))
    assert audit_log.verify(tenant_id).first_broken["seq"] == 3


def test_secrets_in_changes_are_stored_redacted(audit_log, table):
    tenant_id = new_tenant()
    changes = {
        "before": {"password": "old-pw", "name": "a"},
        "after": {"password": "new-pw", "name": "b", "keys": [{"api_key": "mml_k_s"}]},
    }
    stored = audit_log.append(tenant_id, entry(1, changes=changes))
    expected = {
        "before": {"password": "[redacted]", "name": "a"},
        "after": {"password": "[redacted]", "name": "b", "keys": [{"api_key": "[redacted]"}]},
    }
    assert stored["changes"] == expected
    raw = table.get(tenant_id, 1)["changes"]["S"]
    assert "old-pw" not in raw and "new-pw" not in raw and "mml_k_s" not in raw
    assert next(audit_log.read_chain(tenant_id))["changes"] == expected
    assert audit_log.verify(tenant_id).intact


def test_listing_filters_by_actor_action_resource_and_time(audit_log):
    tenant_id = new_tenant()
    stored = append_many(audit_log, tenant_id, 9)  # actors alternate u1/u0; every third action is auth.login

    def seqs(**filters):
        return [item["seq"] for item in audit_log.list_events(tenant_id, **filters).items]

    assert seqs() == [9, 8, 7, 6, 5, 4, 3, 2, 1]  # newest first
    assert seqs(actor="user:u0") == [8, 6, 4, 2]
    assert seqs(action="auth.login") == [9, 6, 3]
    assert seqs(actor="user:u0", action="auth.login") == [6]
    assert seqs(resource="project") == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert seqs(resource="project:p4") == [4]
    assert seqs(resource="artifact") == []
    assert seqs(occurred_from=T0 + timedelta(minutes=3), occurred_to=T0 + timedelta(minutes=6)) == [5, 4, 3]
    assert seqs(occurred_from=T0 + timedelta(minutes=8)) == [9, 8]
    assert seqs(occurred_to=(T0 + timedelta(minutes=2)).replace(tzinfo=None)) == [1]
    assert audit_log.list_events(tenant_id, actor="user:u1", limit=1).items[0]["id"] == stored[8]["event_id"]
    with pytest.raises(InvalidInput):
        audit_log.list_events(tenant_id, occurred_from=T0 + timedelta(minutes=5), occurred_to=T0)


def test_paging_through_all_events_with_the_cursor(audit_log):
    tenant_id = new_tenant()
    append_many(audit_log, tenant_id, 5)
    seen, cursor, pages = [], None, 0
    while True:
        page = audit_log.list_events(tenant_id, limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [item["seq"] for item in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1] and pages == 3


def test_paging_a_filtered_listing_returns_every_match_once(audit_log):
    tenant_id = new_tenant()
    append_many(audit_log, tenant_id, 9)
    seen, cursor = [], None
    while True:
        page = audit_log.list_events(tenant_id, actor="user:u1", limit=2, cursor=cursor)
        seen += [item["seq"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [9, 7, 5, 3, 1]


def test_a_cursor_from_another_tenant_is_rejected(audit_log):
    ours, theirs = new_tenant(), new_tenant()
    append_many(audit_log, theirs, 3)
    foreign = audit_log.list_events(theirs, limit=1).next_cursor
    assert foreign
    with pytest.raises(InvalidInput):
        audit_log.list_events(ours, cursor=foreign)


def test_a_cursor_with_a_forged_key_is_rejected(audit_log):
    from maestro.pagination import encode_cursor

    tenant_id = new_tenant()
    for forged in (
        {"tenant_id": {"S": tenant_id}},
        {"tenant_id": {"S": tenant_id}, "seq": {"S": "1"}},
        {"tenant_id": {"S": tenant_id}, "seq": {"N": "1"}, "actor": {"S": "x"}},
    ):
        with pytest.raises(InvalidInput):
            audit_log.list_events(tenant_id, cursor=encode_cursor(forged))
