"""Monitoring served versions: each prediction request is folded into its version's daily rollup, and
GET .../serving reads the window back with input drift against a reference (the dataset the version derives from
through lineage, or an uploaded profile)."""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain import serving_monitoring as rules
from maestro.domain.artifacts import VersionStatus
from maestro.domain.errors import InvalidInput, NotFound, ValidationFailed
from maestro.domain.identity.principals import Caller
from maestro.domain.model_serving import monitored_features
from maestro.observability import logger
from maestro.repositories import artifact_versions as version_store
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import serving_stats as store
from maestro.services.artifact_aliases import resolve_version
from maestro.services.artifacts import get_artifact_record
from maestro.services.context import RequestMeta, audit_as

MAX_REFERENCE_DATASET_BYTES = 50 * 1024**2  # a larger dataset needs an uploaded profile
# Requests and errors are counted by every request (one atomic update). The summaries (latency and input samples,
# feature counters) of a warm serving function are folded into the day's rollup at most this often, so a prediction
# does not pay a read and a conditional write; what an instance gathered in its last few seconds before Lambda
# retires it is lost from the summaries (never from the counts).
STATS_FLUSH_SECONDS = 5.0
# A request only keeps its latency and its monitored columns; they are summarised (sums, extremes, samples) a batch
# at a time, at the flush or when this many rows wait, instead of per request: per-request work no longer grows with
# the width of the input, and the buffer stays bounded (4,096 rows x 32 columns: 1 MB).
SUMMARISE_ROWS = 4096
_Plan = list[tuple[str, list[str], list[int]]]  # (input name, feature names, their columns) per summarised input
_rng = random.Random()
_np_rng: Any = None  # numpy's generator, made on the first request (numpy is not imported with the app)
_lock = threading.Lock()
# keyed by (tenant, artifact, version, day): stats summarised and waiting for the flush, and rows not summarised yet
_pending: dict[tuple[str, str, str, str], dict[str, Any]] = {}
_buffered: dict[tuple[str, str, str, str], _Buffered] = {}
_plans: dict[tuple[str, str, str], _Plan] = {}  # (tenant, artifact, version) -> its plan (versions never change)
_counting: ThreadPoolExecutor | None = None  # the threads that count requests while their graphs run (first use)
_last_flush = 0.0


class _Buffered:
    """A version-day's requests not summarised yet: latencies and, per input, the monitored columns of each request."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.latencies: list[float] = []
        self.blocks: dict[str, list[Any]] = {input_name: [] for input_name, _, _ in plan}
        self.rows = 0

    def add(self, latency_ms: float | None, blocks: dict[str, Any]) -> None:
        if latency_ms is not None:
            self.latencies.append(latency_ms)
        for input_name, block in blocks.items():
            self.blocks[input_name].append(block)
        self.rows += max((len(block) for block in blocks.values()), default=1)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _plan_of(signature: dict) -> _Plan:
    by_input: dict[str, tuple[list[str], list[int]]] = {}
    for feature, input_name, column in monitored_features(signature, rules.MAX_MONITORED_FEATURES):
        names, columns = by_input.setdefault(input_name, ([], []))
        names.append(feature)
        columns.append(0 if column is None else column)
    return [(input_name, names, columns) for input_name, (names, columns) in by_input.items()]


def _monitored_blocks(plan: _Plan, named: dict) -> dict[str, Any]:
    """Each summarised input's monitored columns as a rows x columns float array (one conversion per input)."""
    import numpy as np

    blocks = {}
    for input_name, _, columns in plan:
        array = np.asarray(named[input_name], dtype=float)
        matrix = array.reshape(-1, 1) if array.ndim == 1 else array.reshape(array.shape[0], -1)
        blocks[input_name] = matrix[:, columns]
    return blocks


def _summarise(buffered: _Buffered) -> dict[str, Any]:
    """The stats of the buffered requests: latencies and, per monitored feature, counters and a bounded sample."""
    import numpy as np

    global _np_rng
    if _np_rng is None:
        _np_rng = np.random.default_rng()
    latencies = buffered.latencies
    if len(latencies) > rules.SAMPLE_SIZE:
        latencies = _rng.sample(latencies, rules.SAMPLE_SIZE)
    stats: dict[str, Any] = {
        "latency_seen": len(buffered.latencies),
        "latency_sample": [round(latency, 3) for latency in latencies],
        "features": {},
    }
    for input_name, features, _ in buffered.plan:
        parts = buffered.blocks[input_name]
        if not parts:
            continue
        block = parts[0] if len(parts) == 1 else np.vstack(parts)
        for j, feature in enumerate(features):
            values = block[:, j]
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            sample = (
                values if values.size <= rules.SAMPLE_SIZE else _np_rng.choice(values, rules.SAMPLE_SIZE, replace=False)
            )
            stats["features"][feature] = {
                "n": int(values.size),
                "sum": float(values.sum()),
                "sumsq": float(np.square(values).sum()),
                "min": float(values.min()),
                "max": float(values.max()),
                "sample": [round(float(v), 6) for v in sample],
            }
    return stats


def start_count(tenant_id: str, artifact_id: str, version: str) -> Future:
    """Count a request in its day's rollup on a worker thread, so that the write overlaps the signature check and
    the graph run (onnxruntime releases the GIL) instead of adding to them; record_request waits for it, as the
    answer must not leave before it (a Lambda function is frozen once it has answered)."""
    global _counting
    if _counting is None:
        with _lock:
            if _counting is None:
                _counting = ThreadPoolExecutor(max_workers=4, thread_name_prefix="serving-count")
    return _counting.submit(store.count, tenant_id, artifact_id, version, _today(), False)


def record_request(
    tenant_id: str,
    artifact_id: str,
    version: str,
    signature: dict,
    named: dict | None,
    latency_ms: float,
    failed: bool = False,
    counted: Future | None = None,
) -> None:
    """Count one request (failed ones as errors, without their inputs or latency) and keep its latency and
    monitored inputs for the next summary; with `counted` (start_count's future) the request was counted already
    and only its error is added. Monitoring never fails a prediction: a storage error is logged and the answer
    still goes out."""
    day = _today()
    try:
        if counted is None:
            store.count(tenant_id, artifact_id, version, day, failed)
        else:
            counted.result()
            if failed:
                store.count(tenant_id, artifact_id, version, day, True, requests=0)
        if not failed:
            plan = _plans.get((tenant_id, artifact_id, version))
            if plan is None:
                plan = _plan_of(signature)
                with _lock:
                    if len(_plans) >= 1024:
                        _plans.clear()
                    _plans[(tenant_id, artifact_id, version)] = plan
            blocks = _monitored_blocks(plan, named) if named is not None else {}
            key = (tenant_id, artifact_id, version, day)
            with _lock:
                buffered = _buffered.get(key)
                if buffered is None:
                    buffered = _buffered[key] = _Buffered(plan)
                buffered.add(latency_ms, blocks)
                full = buffered.rows >= SUMMARISE_ROWS
            if full:
                _summarise_buffered()
        if time.monotonic() - _last_flush >= STATS_FLUSH_SECONDS:
            flush()
    except Exception:
        logger.exception("serving rollup not recorded", extra={"artifact_id": artifact_id, "version": version})


def _summarise_buffered() -> None:
    """Fold every buffered batch of requests into the pending stats."""
    with _lock:
        batches = dict(_buffered)
        _buffered.clear()
    for key, buffered in batches.items():
        stats = _summarise(buffered)
        with _lock:
            _pending[key] = rules.merge_stats(_pending.get(key) or {}, stats, _rng)


def flush() -> None:
    """Fold every pending summary into its day's rollup (what could not be written stays for the next flush)."""
    global _last_flush
    _summarise_buffered()
    with _lock:
        pending = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    for key, stats in pending.items():

        def folded(old: dict, stats: dict[str, Any] = stats) -> dict[str, Any]:
            return rules.merge_stats(old or {}, stats, _rng)

        written = store.merge_stats(*key, folded)
        if not written:
            with _lock:
                _pending[key] = rules.merge_stats(_pending.get(key) or {}, stats, _rng)


# ---------------------------------------------------------------- reading
def serving_view(caller: Caller, artifact_id: str, reference: str, days: int) -> dict[str, Any]:
    """The version's rollups over the last `days` days (today included), their totals, and drift per feature."""
    if not 1 <= days <= rules.MAX_WINDOW_DAYS:
        raise InvalidInput(f"days must be between 1 and {rules.MAX_WINDOW_DAYS}", parameter="days")
    get_artifact_record(caller, artifact_id)
    version = resolve_version(caller.tenant_id, artifact_id, reference)
    record = version_store.get_version(caller.tenant_id, artifact_id, version)
    if record is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found")
    last = datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    rows = store.days(caller.tenant_id, artifact_id, version, first.isoformat(), last.isoformat())
    total: dict[str, Any] = {}
    daily = []
    for row in rows:
        stats = row.stats or {}
        total = rules.merge_stats(total, stats, random.Random(0))
        daily.append(
            {
                "day": row.version_day.rsplit("#", 1)[1],
                "requests": int(row.requests),
                "errors": int(row.errors),
                "latency_ms": rules.latency(stats),
                "inputs": {name: rules.describe_feature(s) for name, s in (stats.get("features") or {}).items()},
            }
        )
    features = total.get("features") or {}
    return {
        "id": f"{artifact_id}:{version}",
        "artifact_id": artifact_id,
        "version": version,
        "window": {"from": first.isoformat(), "to": last.isoformat(), "days": days},
        "requests": sum(d["requests"] for d in daily),
        "errors": sum(d["errors"] for d in daily),
        "latency_ms": rules.latency(total),
        "inputs": {name: rules.describe_feature(s) for name, s in features.items()},
        "daily": daily,
        "drift": _drift(caller.tenant_id, artifact_id, record, {n: s["sample"] for n, s in features.items()}),
    }


def _drift(tenant_id: str, artifact_id: str, record, observed: dict[str, list[float]]) -> dict[str, Any]:
    reference = store.get_reference(tenant_id, artifact_id, record.version)
    reason = None
    if reference is None:
        reference, reason = _reference_from_lineage(tenant_id, artifact_id, record)
    base = {
        "method": "ks",
        "alpha": rules.KS_ALPHA,
        "reference": {k: v for k, v in (reference or {}).items() if k != "features"} or None,
    }
    if not reference:
        return {**base, "features": {}, "drifted": [], "reason": reason or "no reference: upload a profile"}
    by_feature = rules.drift(observed, reference["features"])
    return {
        **base,
        "features": by_feature,
        "drifted": sorted(name for name, result in by_feature.items() if result["drifted"]),
        "reason": None if by_feature else "no requests with monitored inputs in the window yet",
    }


def _reference_from_lineage(tenant_id: str, artifact_id: str, record) -> tuple[dict | None, str | None]:
    """The reference read from the first ready CSV `dataset` version the model version derives from, stored so it
    is read once."""
    if not record.signature:
        return None, "the version has no serving signature"
    features = [f for f, _, _ in monitored_features(record.signature, rules.MAX_MONITORED_FEATURES)]
    for parent in record.derived_from or []:
        artifact = artifact_store.get_artifact(tenant_id, parent["artifact_id"])
        if artifact is None or artifact.type != "dataset":
            continue
        dataset = version_store.get_version(tenant_id, parent["artifact_id"], parent["version"])
        if dataset is None or dataset.status != VersionStatus.READY.value:
            continue
        if "csv" not in dataset.content_type or int(dataset.size_bytes) > MAX_REFERENCE_DATASET_BYTES:
            return None, (
                f"dataset {parent['artifact_id']}@{parent['version']} is not a CSV of at most "
                f"{MAX_REFERENCE_DATASET_BYTES // 1024**2} MiB; upload a reference profile"
            )
        from maestro.repositories.artifact_content import get_version_bytes

        header, columns = _numeric_columns(get_version_bytes(dataset.s3_key, dataset.s3_version_id))
        samples, problem = rules.reference_from_table(header, columns, features, random.Random(dataset.sha256))
        if problem:
            return None, problem
        reference = {
            "source": "dataset",
            "artifact_id": parent["artifact_id"],
            "version": parent["version"],
            "features": samples,
        }
        store.put_reference(tenant_id, artifact_id, record.version, reference)
        return reference, None
    return None, "no reference: link a CSV dataset version through derived_from, or upload a profile"


def _numeric_columns(content: bytes) -> tuple[list[str], dict[str, list[float]]]:
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig", errors="replace")))
    header = next(reader, [])
    values: list[list[float]] = [[] for _ in header]
    numeric = [True] * len(header)
    for row in reader:
        for i, cell in enumerate(row[: len(header)]):
            if not numeric[i] or cell == "":
                continue
            try:
                values[i].append(float(cell))
            except ValueError:
                numeric[i] = False  # a non-numeric cell: the column is not a numeric feature
    return header, {name: v for name, v, ok in zip(header, values, numeric, strict=True) if ok and v}


def set_reference_profile(
    caller: Caller, artifact_id: str, reference: str, features: dict[str, list[float]], meta: RequestMeta
) -> dict[str, Any]:
    """Store an uploaded reference profile (feature -> values) for drift, replacing a dataset-derived one."""
    get_artifact_record(caller, artifact_id)
    version = resolve_version(caller.tenant_id, artifact_id, reference)
    if version_store.get_version(caller.tenant_id, artifact_id, version) is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found")
    errors = [
        {"field": f"features.{name}", "message": f"at most {rules.MAX_REFERENCE_VALUES} values", "type": "value"}
        for name, values in features.items()
        if len(values) > rules.MAX_REFERENCE_VALUES
    ]
    if errors or not features:
        raise ValidationFailed(
            "invalid reference profile",
            errors=errors or [{"field": "features", "message": "name at least one feature", "type": "value"}],
        )
    rng = random.Random(0)
    profile: dict[str, Any] = {
        "source": "profile",
        "uploaded_by": caller.actor,
        "features": {name: rules.reference_sample(values, rng) for name, values in features.items()},
    }
    store.put_reference(caller.tenant_id, artifact_id, version, profile)
    audit_as(
        caller,
        "artifact.serving_reference_set",
        "artifact",
        artifact_id,
        meta,
        changes={"after": {"version": version, "features": sorted(features)}},
    )
    return {
        "id": f"{artifact_id}:{version}",
        "artifact_id": artifact_id,
        "version": version,
        "features": {name: len(values) for name, values in profile["features"].items()},
    }
