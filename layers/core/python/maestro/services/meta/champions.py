"""The champion models a warm function serves: the pointers are re-read at most every CHAMPION_TTL_SECONDS, and
a graph is loaded from S3 only when its version changes, so a retrain reaches serving within that time and
without a redeploy."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from maestro.domain.meta.targets import RECOMMENDER, TARGET_NAMES
from maestro.repositories import meta_models

CHAMPION_TTL_SECONDS = 30.0
_lock = threading.Lock()
_pointers: dict[str, tuple[float, dict[str, Any]]] = {}
_loaded: dict[str, Any] = {}  # bundle key -> ServedTarget


@dataclass(frozen=True)
class Champion:
    target: str
    version: str
    model: Any  # maestro.domain.meta.serving.ServedTarget


def _served(bundle_key: str):
    from maestro.domain.meta.serving import ServedTarget  # onnxruntime: only when a model is served

    if bundle_key not in _loaded:
        onnx_bytes, manifest = meta_models.get_bundle(bundle_key)
        _loaded[bundle_key] = ServedTarget.load(onnx_bytes, manifest)
    return _loaded[bundle_key]


def _current_pointers(tenant_id: str) -> dict[str, Any]:
    """The tenant's champion pointers, re-read when older than the TTL; call with the lock held. When they change,
    graphs and recommenders no pointer names any more are dropped, so a warm function does not keep every
    superseded version."""
    now = time.monotonic()
    cached = _pointers.get(tenant_id)
    if cached is None or now - cached[0] > CHAMPION_TTL_SECONDS:
        cached = (now, meta_models.champions(tenant_id))
        _pointers[tenant_id] = cached
        named = {record.bundle_key for _, records in _pointers.values() for record in records.values()}
        for stale in set(_loaded) - named:
            del _loaded[stale]
    return cached[1]


def champions(tenant_id: str) -> dict[str, Champion]:
    """target -> the champion being served for this tenant (empty: no model trained yet)."""
    with _lock:
        return {
            target: Champion(target, record.model_version, _served(record.bundle_key))
            for target, record in _current_pointers(tenant_id).items()
            if record.bundle_key and target in TARGET_NAMES
        }


def recommender(tenant_id: str):
    """The tenant's fitted artifact recommender (maestro.ml.recommend.ArtifactRecommender) and its pointer record,
    or (None, None) before the first retrain."""
    from maestro.ml.recommend import ArtifactRecommender
    from maestro.repositories import object_store

    with _lock:
        record = _current_pointers(tenant_id).get(RECOMMENDER)
        if record is None or not record.bundle_key:
            return None, None
        if record.bundle_key not in _loaded:
            state = object_store.get_json(record.bundle_key)
            _loaded[record.bundle_key] = (ArtifactRecommender.from_state(state), state)
        return _loaded[record.bundle_key], record


def forget() -> None:
    """Drop every cached pointer and graph (tests; a retrain in the same process)."""
    with _lock:
        _pointers.clear()
        _loaded.clear()
