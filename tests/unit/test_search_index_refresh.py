"""When a warm reader reads the change log (maestro.services.search_index._refresh): after a write by this process
at once, otherwise at most every REFRESH_INTERVAL_S. The store is replaced by counters (no AWS)."""

from __future__ import annotations

import time

import pytest

from maestro.domain.search_index import TenantIndex
from maestro.repositories import search_index as store
from maestro.services import search_index


@pytest.fixture
def change_log(monkeypatch):
    reads: list[int] = []
    monkeypatch.setattr(store, "_local_writes", {})
    monkeypatch.setattr(store, "changed_since", lambda tenant_id, since_ms: reads.append(since_ms) or [])
    monkeypatch.setattr(search_index, "REFRESH_INTERVAL_S", 60.0)
    return reads


def _cached(read_at: float) -> search_index._Cached:
    return search_index._Cached(TenantIndex(), "etag", synced_ms=store.now_ms(), read_at=read_at)


def test_no_read_within_the_interval_without_a_local_write(change_log):
    cached = _cached(time.monotonic())
    search_index._refresh("t1", cached)
    assert change_log == []


def test_a_write_by_this_process_is_read_at_once(change_log):
    cached = _cached(time.monotonic())
    store.note_written("t1")
    search_index._refresh("t1", cached)
    assert len(change_log) == 1
    search_index._refresh("t1", cached)  # read since: nothing new
    assert len(change_log) == 1
    store.note_written("t2")  # another tenant's write changes nothing here
    search_index._refresh("t1", cached)
    assert len(change_log) == 1


def test_other_writers_are_read_once_the_interval_has_passed(change_log, monkeypatch):
    cached = _cached(time.monotonic() - 61.0)
    search_index._refresh("t1", cached)
    assert len(change_log) == 1
    assert time.monotonic() - cached.read_at < 1.0  # the read moved the clock on
