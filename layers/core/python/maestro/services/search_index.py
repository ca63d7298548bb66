"""The per-tenant search index at run time: loaded once per warm function (one snapshot read, then the changes
since it), refreshed from the changes since the newest one it holds (one strongly consistent Query) when the
tenant's change counter moved since the last read (every writer of entries adds to it after its write; reading it
is one GetItem per search), when this process wrote one of the tenant's entries, or every REFRESH_INTERVAL_S in
any case (a writer that failed to move the counter), and compacted into a new snapshot by the embed function,
which handles the ArtifactChanged events.

Why a change is never lost: every write to an entry sets its `updated_ms`; a reader re-reads from the moment its
previous read of the changes began minus REFRESH_OVERLAP_MS (writers' clocks and commit delays differ), and a
change is applied only when it is newer than what the index holds, so re-reading is harmless. A snapshot's
watermark is COMPACTION_OVERLAP_MS before the compaction began, and the compaction re-reads that window before
writing, so a write that was in flight while the snapshot was made is re-read by every reader that loads it.
Two compactions racing both write complete snapshots; whichever lands last is read, with its own watermark.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from maestro.observability import logger
from maestro.repositories import search_index as store

if TYPE_CHECKING:
    from maestro.domain.search_index import TenantIndex
    from maestro.repositories.schema import ArtifactVector

REFRESH_OVERLAP_MS = 2_000
REFRESH_INTERVAL_S = 10.0  # the change log is read at least this often even when the counter has not moved
COMPACTION_OVERLAP_MS = 60_000
SNAPSHOT_AFTER_CHANGES = 500  # the embed function writes a new snapshot once this many changes are pending
SNAPSHOT_MAX_AGE_S = 15 * 60  # ... or when its pending changes are older than this
RELOAD_CHECK_S = 60  # a warm reader with many pending changes looks for a newer snapshot at most this often
RELOAD_AFTER_CHANGES = 2_000
CACHED_TENANTS = 32


class _Cached:
    def __init__(self, index: TenantIndex, etag: str | None, synced_ms: int, read_at: float, change_count: int) -> None:
        self.index = index
        self.etag = etag
        self.synced_ms = synced_ms  # this reader's clock when its last read of the changes began
        self.read_at = read_at  # ... and the same moment on this process's monotonic clock
        self.change_count = change_count  # the tenant's change counter, read just before that read began
        self.loaded_at = time.monotonic()
        self.checked_at = self.loaded_at
        self.lock = threading.Lock()


_cache: OrderedDict[str, _Cached] = OrderedDict()
_cache_lock = threading.Lock()
_loading: dict[str, threading.Lock] = {}  # per tenant, while its first load runs


def apply_entry(index: TenantIndex, row: ArtifactVector) -> bool:
    """Apply one stored entry to an index; True when it changed the index."""
    from maestro.domain.search_index import make_doc

    version = int(row.updated_ms)
    if row.deleted:
        return index.remove(row.artifact_id, version)
    if not row.entry:  # a counter written before the artifact had an entry: nothing to index yet
        return False
    record = {**row.entry, "usage_count": row.usage_count or 0, "impact_score": row.impact_score}
    vector = None
    if row.vector:
        import numpy as np

        vector = np.frombuffer(row.vector, dtype="<f4")
    return index.upsert(make_doc(row.artifact_id, record, row.content_text or "", vector, version))


def _catch_up(tenant_id: str, index: TenantIndex, since_ms: int) -> int:
    applied = 0
    for row in store.changed_since(tenant_id, since_ms):
        applied += apply_entry(index, row)
    return applied


def load_index(tenant_id: str) -> tuple[TenantIndex, str | None, int]:
    """A cold load: the snapshot (one GET), then the entries changed since its watermark. Without a snapshot
    yet, every entry of the tenant (the first load after the index is introduced, until a snapshot exists).
    Returns the index, the snapshot's ETag and the time the read of the changes began."""
    from maestro.domain.search_index import TenantIndex

    stored = store.read_snapshot(tenant_id)
    try:
        index = TenantIndex.from_snapshot(stored[0]) if stored else TenantIndex()
    except ValueError as damaged:  # rebuilt from the entries; the next compaction replaces the object
        logger.error("search index snapshot unreadable", extra={"tenant_id": tenant_id, "error": str(damaged)})
        index, stored = TenantIndex(), None
    started = store.now_ms()
    _catch_up(tenant_id, index, index.watermark_ms if stored else -1)
    return index, stored[1] if stored else None, started


def _cached(tenant_id: str) -> tuple[_Cached, bool]:
    """The tenant's cached index, and whether this call loaded it (then it is current for this caller; one
    loaded earlier, by another request or by the compaction, may not be)."""
    with _cache_lock:
        cached = _cache.get(tenant_id)
        if cached is not None:
            _cache.move_to_end(tenant_id)
            return cached, False
        loading = _loading.setdefault(tenant_id, threading.Lock())
    with loading:  # threads arriving cold together share one load (the local server's handlers share a process)
        with _cache_lock:
            cached = _cache.get(tenant_id)
        if cached is not None:
            return cached, False
        read_at = time.monotonic()
        counted = store.change_count(tenant_id)
        index, etag, synced_ms = load_index(tenant_id)
        with _cache_lock:
            cached = _cache.setdefault(tenant_id, _Cached(index, etag, synced_ms, read_at, counted))
            while len(_cache) > CACHED_TENANTS:
                _cache.popitem(last=False)
            _loading.pop(tenant_id, None)
    return cached, True


def _refresh(tenant_id: str, cached: _Cached) -> None:
    """Read the changes since the last read when the tenant's change counter moved since it, when this process
    wrote one of the tenant's entries since, or when it began REFRESH_INTERVAL_S ago. The counter is read before
    the changes: a write the Query misses moved the counter after this read, so the next search reads it."""
    began = time.monotonic()
    counted = store.change_count(tenant_id)
    if (
        counted == cached.change_count
        and store.last_written(tenant_id) < cached.read_at
        and began - cached.read_at < REFRESH_INTERVAL_S
    ):
        return
    if cached.index.pending_changes >= RELOAD_AFTER_CHANGES and began - cached.checked_at > RELOAD_CHECK_S:
        cached.checked_at = began
        if store.read_snapshot(tenant_id, if_none_match=cached.etag) is not None:  # a newer snapshot exists
            cached.index, cached.etag, cached.synced_ms = load_index(tenant_id)
            cached.read_at, cached.change_count = began, counted
            return
    started = store.now_ms()
    # everything written before the last read began was seen then, but for writes still in flight at that moment
    _catch_up(tenant_id, cached.index, cached.synced_ms - REFRESH_OVERLAP_MS)
    cached.synced_ms, cached.read_at, cached.change_count = started, began, counted


# Artifact views as search shows them, each with the index version (entry `updated_ms`) it was read at. Every
# change to a field a view shows writes the artifact's entry after its record (maestro.repositories.search_index:
# edits, usages, impact, version counts, deletion), so a view whose version is still the index's is still the
# record's, and a search hydrates only the hits that changed.
VIEW_CACHE_SIZE = 20_000
_views: OrderedDict[tuple[str, str], tuple[int, dict[str, Any]]] = OrderedDict()
_views_lock = threading.Lock()


def known_views(tenant_id: str, versions: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The kept views of the given artifacts that are at the given index versions (shared: do not change them)."""
    found = {}
    with _views_lock:
        for artifact_id, version in versions.items():
            kept = _views.get((tenant_id, artifact_id))
            if kept is not None and kept[0] == version:
                _views.move_to_end((tenant_id, artifact_id))
                found[artifact_id] = kept[1]
    return found


def keep_views(tenant_id: str, versions: dict[str, int], views: dict[str, dict[str, Any]]) -> None:
    """Keep views just read from the records, each with the index version the search saw before reading it."""
    with _views_lock:
        for artifact_id, view in views.items():
            _views[(tenant_id, artifact_id)] = (versions[artifact_id], view)
            _views.move_to_end((tenant_id, artifact_id))
        while len(_views) > VIEW_CACHE_SIZE:
            _views.popitem(last=False)


@contextmanager
def reading(tenant_id: str) -> Iterator[TenantIndex]:
    """The tenant's index, loaded once per warm function and brought up to date, held for the caller's use
    (threads of one process take turns per tenant; a Lambda function serves one request at a time anyway)."""
    cached, loaded_now = _cached(tenant_id)
    with cached.lock:
        if not loaded_now:
            _refresh(tenant_id, cached)
        yield cached.index


def tenant_index(tenant_id: str) -> TenantIndex:
    """The tenant's index brought up to date (for single-threaded callers; `reading` holds it)."""
    with reading(tenant_id) as index:
        return index


def forget(tenant_id: str | None = None) -> None:
    """Drop cached indexes (all, or one tenant's): the next use loads from the snapshot again."""
    with _cache_lock:
        if tenant_id is None:
            _cache.clear()
        else:
            _cache.pop(tenant_id, None)
    with _views_lock:
        for key in [key for key in _views if tenant_id is None or key[0] == tenant_id]:
            del _views[key]


def compact(tenant_id: str, force: bool = False) -> bool:
    """Write a new snapshot of the tenant's index when one is due (none yet, SNAPSHOT_AFTER_CHANGES pending, or
    pending changes older than SNAPSHOT_MAX_AGE_S), or always with `force`. Returns True when written."""
    from maestro.domain.search_index import TenantIndex

    cached, _ = _cached(tenant_id)
    with cached.lock:
        _refresh(tenant_id, cached)
        index = cached.index
        due = (
            force
            or cached.etag is None
            or index.pending_changes >= SNAPSHOT_AFTER_CHANGES
            or (index.pending_changes and time.monotonic() - cached.loaded_at > SNAPSHOT_MAX_AGE_S)
        )
        if not due:
            return False
        started, began = store.now_ms(), time.monotonic()
        _catch_up(tenant_id, index, started - COMPACTION_OVERLAP_MS)  # writes that were slow to land
        compacted = TenantIndex(
            base=index.base,
            live=index.live.copy(),
            delta=dict(index.delta),
            removed=dict(index.removed),
            newest_ms=index.newest_ms,
            # a reader of this snapshot re-reads what was written in the minute before it was made
            watermark_ms=max(started - COMPACTION_OVERLAP_MS, 0),
            generation=index.generation + 1,
        )
        data = compacted.to_snapshot()
        cached.etag = store.write_snapshot(tenant_id, data)
        cached.index, cached.loaded_at, cached.synced_ms, cached.read_at = compacted, time.monotonic(), started, began
    logger.info(
        "search index snapshot written",
        extra={
            "tenant_id": tenant_id,
            "documents": compacted.size,
            "bytes": len(data),
            "generation": compacted.generation,
        },
    )
    return True


def snapshot_stats(tenant_id: str) -> dict[str, Any]:
    index = tenant_index(tenant_id)
    return {"documents": index.size, "pending_changes": index.pending_changes, "generation": index.generation}
