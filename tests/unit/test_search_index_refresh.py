"""When a warm reader reads the change log (maestro.services.search_index._refresh): when the tenant's change
counter moved, after a write by this process at once, otherwise at most every REFRESH_INTERVAL_S. The store is
replaced by fakes (no AWS)."""

from __future__ import annotations

import time

import pytest

from maestro.domain.search_index import TenantIndex
from maestro.repositories import search_index as store
from maestro.services import search_index


class FakeStore:
    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.calls: list[str] = []  # in order: "count" / "changes"

    def change_count(self, tenant_id: str) -> int:
        self.calls.append("count")
        return self.counters.get(tenant_id, 0)

    def changed_since(self, tenant_id: str, since_ms: int) -> list:
        self.calls.append("changes")
        return []

    @property
    def reads(self) -> int:
        return self.calls.count("changes")


@pytest.fixture
def fake(monkeypatch):
    fake = FakeStore()
    monkeypatch.setattr(store, "_local_writes", {})
    monkeypatch.setattr(store, "change_count", fake.change_count)
    monkeypatch.setattr(store, "changed_since", fake.changed_since)
    monkeypatch.setattr(search_index, "REFRESH_INTERVAL_S", 60.0)
    return fake


def _cached(read_at: float, change_count: int = 0) -> search_index._Cached:
    return search_index._Cached(TenantIndex(), "etag", store.now_ms(), read_at, change_count)


def test_no_read_while_the_counter_stands_without_a_local_write(fake):
    cached = _cached(time.monotonic())
    search_index._refresh("t1", cached)
    search_index._refresh("t1", cached)
    assert fake.reads == 0 and fake.calls == ["count", "count"]  # one counter read per search, nothing else


def test_a_moved_counter_is_read_at_once_and_only_once(fake):
    cached = _cached(time.monotonic())
    fake.counters["t1"] = 3  # another function wrote three changes
    search_index._refresh("t1", cached)
    assert fake.calls == ["count", "changes"]  # the counter before the changes: a later write moves it again
    assert cached.change_count == 3
    search_index._refresh("t1", cached)
    assert fake.reads == 1
    fake.counters["t2"] = 9  # another tenant's writes change nothing here
    search_index._refresh("t1", cached)
    assert fake.reads == 1


def test_a_write_by_this_process_is_read_at_once_even_if_its_counter_did_not_move(fake):
    cached = _cached(time.monotonic())
    store._local_writes["t1"] = time.monotonic()  # as note_written, with the counter's update lost
    search_index._refresh("t1", cached)
    assert fake.reads == 1
    search_index._refresh("t1", cached)  # read since: nothing new
    assert fake.reads == 1


def test_the_change_log_is_read_once_the_interval_has_passed_whatever_the_counter(fake):
    cached = _cached(time.monotonic() - 61.0)
    search_index._refresh("t1", cached)
    assert fake.reads == 1
    assert time.monotonic() - cached.read_at < 1.0  # the read moved the clock on


def test_an_index_loaded_by_another_caller_is_refreshed_at_its_first_search(fake, monkeypatch):
    # The local server's event thread can load the index (the compaction after a create) a moment before the
    # next create; the search that follows must read that create, not take the index as current.
    monkeypatch.setattr(search_index, "_cache", search_index.OrderedDict())
    monkeypatch.setattr(search_index, "load_index", lambda tenant_id: (TenantIndex(), "etag", store.now_ms()))
    search_index._cached("t1")  # as compact() does
    fake.counters["t1"] = 1  # then a create moves the counter
    with search_index.reading("t1"):
        pass
    assert fake.reads == 1
    monkeypatch.setattr(search_index, "_cache", search_index.OrderedDict())
    with search_index.reading("t1"):  # a search that loads the index itself needs no second read
        pass
    assert fake.reads == 1


def test_note_written_moves_the_counter_and_survives_a_failed_update(monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from maestro.repositories.schema import ArtifactVector

    updates: list[tuple] = []

    class Connection:
        def update_item(self, tenant_id, key, actions):
            updates.append((tenant_id, key))
            if tenant_id == "down":
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(store, "_local_writes", {})
    monkeypatch.setattr(store, "ensure_bound", lambda: None)
    monkeypatch.setattr(ArtifactVector, "_get_connection", classmethod(lambda cls: Connection()))
    store.note_written("t1")
    store.note_written("down")  # logged, not raised: the write it follows stands
    assert updates == [("t1", store.CHANGE_COUNTER_KEY), ("down", store.CHANGE_COUNTER_KEY)]
    assert store.last_written("t1") > float("-inf") and store.last_written("down") > float("-inf")
