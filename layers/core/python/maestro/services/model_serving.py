"""Serving model versions: the signature read when a servable version becomes ready, the size check an alias move
makes, and predictions. A warm serving function resolves `@alias` at most ALIAS_TTL_SECONDS old, keeps ready
version records (immutable) and loaded graphs (maestro.ml.onnx_graphs.GraphCache), and loads a graph only from the
S3 object version that was verified, checked against its SHA-256.

onnxruntime and numpy are imported inside the functions that need them: the app loads without them."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from maestro.domain import model_serving as rules
from maestro.domain.aliases import alias_of
from maestro.domain.artifacts import VersionStatus
from maestro.domain.errors import Conflict, NotFound, ValidationFailed
from maestro.domain.identity.principals import Caller
from maestro.observability import logger
from maestro.repositories import artifact_versions as version_store
from maestro.repositories.schema import ArtifactVersion, parent_id_of
from maestro.services.artifact_aliases import resolve_version
from maestro.services.artifacts import get_artifact_record

GRAPH_DIR = Path(tempfile.gettempdir()) / "maestro-graphs"
_lock = threading.Lock()
_aliases: dict[tuple[str, str, str], tuple[float, str]] = {}  # (tenant, artifact, alias) -> (read at, version)
_artifact_types: dict[tuple[str, str], tuple[float, str]] = {}  # (tenant, artifact) -> (read at, type)
_ready_versions: dict[tuple[str, str, str], ArtifactVersion] = {}  # ready + signed versions never change
_cache = None


def graph_cache():
    """This execution environment's graph cache (created on first use)."""
    global _cache
    if _cache is None:
        from maestro.ml.onnx_graphs import GraphCache

        _cache = GraphCache(GRAPH_DIR, rules.MEMORY_BUDGET_BYTES, rules.TMP_BUDGET_BYTES)
    return _cache


def forget() -> None:
    """Drop cached aliases, versions and in-memory graphs (tests, the benchmark's cold runs)."""
    with _lock:
        _aliases.clear()
        _artifact_types.clear()
        _ready_versions.clear()
    if _cache is not None:
        _cache.forget()


def _problem(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "message": message, "type": "value"}])


# ---------------------------------------------------------------- when a version becomes ready
def read_signature(tenant_id: str, artifact_type: str, record: ArtifactVersion) -> dict | None:
    """Read and store the graph signature of a servable version that just became ready (or why it cannot be
    served). Returns the signature, or None when the version is not servable."""
    if not rules.is_servable(artifact_type, record.content_type):
        return None
    artifact_id = parent_id_of(record.tenant_artifact)
    problem = rules.graph_size_problem(int(record.size_bytes))
    signature = None
    if problem is None:
        try:
            from maestro.ml.onnx_graphs import read_signature as graph_signature

            signature = graph_signature(_verified_bytes(record))
        except Exception as error:  # a broken graph is the uploader's problem, reported on the version
            problem = f"the graph does not load in onnxruntime: {str(error).splitlines()[0][:300]}"
    version_store.set_signature(tenant_id, artifact_id, record.version, signature, problem)
    logger.info("serving signature read", extra={"artifact_id": artifact_id, "problem": problem})
    return signature


def _verified_bytes(record: ArtifactVersion) -> bytes:
    """The verified object version's bytes (the caller checks the SHA-256 where it keeps them)."""
    from maestro.repositories import artifact_content

    return artifact_content.get_version_bytes(record.s3_key, record.s3_version_id)


# ---------------------------------------------------------------- predictions
def _resolve(tenant_id: str, artifact_id: str, reference: str) -> str:
    alias = alias_of(reference)
    if alias is None:
        return reference
    key = (tenant_id, artifact_id, alias)
    now = time.monotonic()
    with _lock:
        cached = _aliases.get(key)
    if cached is not None and now - cached[0] < rules.ALIAS_TTL_SECONDS:
        return cached[1]
    version = resolve_version(tenant_id, artifact_id, reference)
    with _lock:
        _aliases[key] = (now, version)
    return version


def _artifact_type(caller: Caller, artifact_id: str) -> str:
    """The artifact's type, read at most every ALIAS_TTL_SECONDS (a deleted artifact stops serving within that);
    NotFound for another tenant's or a missing artifact, as everywhere."""
    key = (caller.tenant_id, artifact_id)
    now = time.monotonic()
    with _lock:
        cached = _artifact_types.get(key)
    if cached is not None and now - cached[0] < rules.ALIAS_TTL_SECONDS:
        return cached[1]
    artifact_type = get_artifact_record(caller, artifact_id).type
    with _lock:
        _artifact_types[key] = (now, artifact_type)
    return artifact_type


def _servable_version(tenant_id: str, artifact_id: str, artifact_type: str, version: str) -> ArtifactVersion:
    key = (tenant_id, artifact_id, version)
    with _lock:
        cached = _ready_versions.get(key)
    if cached is not None:
        return cached
    record = version_store.get_version(tenant_id, artifact_id, version)
    if record is None:
        raise NotFound(f"version {version} of artifact {artifact_id} not found")
    if record.status != VersionStatus.READY.value:
        raise Conflict(f"version {version} is {record.status}; only ready versions serve", version_status=record.status)
    if not rules.is_servable(artifact_type, record.content_type):
        raise _problem(
            "version",
            f"version {version} is not servable: serving takes `model` artifacts whose content is an ONNX graph "
            f"(content type {' or '.join(sorted(rules.SERVABLE_CONTENT_TYPES))}), not a {artifact_type} of "
            f"{record.content_type}",
        )
    problem = rules.graph_size_problem(int(record.size_bytes)) or record.serving_problem
    if problem:
        raise _problem("version", f"version {version} cannot be served: {problem}")
    if not record.signature:
        raise Conflict(f"version {version}'s signature is still being read; try again in a moment")
    with _lock:
        _ready_versions[key] = record
    return record


def predict(
    caller: Caller, artifact_id: str, reference: str, inputs: dict | None, instances: list | None
) -> dict[str, Any]:
    """Run a served version (or `@alias`) on the request's inputs, checked against its signature first. Every
    request that names a servable version is counted in its daily rollup, failures as errors."""
    from maestro.services import serving_monitoring

    started = time.perf_counter()
    artifact_type = _artifact_type(caller, artifact_id)
    version = _resolve(caller.tenant_id, artifact_id, reference)
    record = _servable_version(caller.tenant_id, artifact_id, artifact_type, version)
    signature = record.signature
    counted = serving_monitoring.start_count(caller.tenant_id, artifact_id, version)  # written while the graph runs
    named: dict | None = None
    try:
        named = rules.request_inputs(signature, inputs, instances)
        rules.check_inputs(signature, named)
        outputs = _run(record, signature, named)
    except Exception:
        serving_monitoring.record_request(
            caller.tenant_id, artifact_id, version, signature, None, _ms(started), failed=True, counted=counted
        )
        raise
    latency_ms = _ms(started)
    serving_monitoring.record_request(
        caller.tenant_id, artifact_id, version, signature, named, latency_ms, counted=counted
    )
    return {
        "id": f"prq_{uuid.uuid4().hex}",
        "artifact_id": artifact_id,
        "model_version": version,
        "outputs": outputs,
        "latency_ms": round(latency_ms, 3),
    }


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _run(record: ArtifactVersion, signature: dict, named: dict) -> dict[str, Any]:
    from maestro.ml.onnx_graphs import GraphIntegrityError, to_arrays

    try:
        graph = graph_cache().get(record.sha256, int(record.size_bytes), lambda: _verified_bytes(record))
    except GraphIntegrityError as error:
        logger.error("served graph failed its checksum", extra={"sha256": record.sha256})
        raise Conflict(f"version {record.version} cannot be served: {error}") from None
    try:
        return graph.run(to_arrays(signature, named))
    except Exception as error:  # onnxruntime refused inputs that passed the signature (e.g. a value out of range)
        message = str(error).splitlines()[0][:300]
        raise ValidationFailed(
            f"the model refused the inputs: {message}",
            errors=[{"field": "inputs", "message": message, "type": "model"}],
        ) from None
