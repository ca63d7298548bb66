"""ONNX graphs served from the artifact library: reading a graph's signature, a least-recently-used cache of loaded
graphs in memory and of their files in /tmp (each bounded by a byte budget), and running a request. Imported only
where a graph is loaded (the serving route, the verification of a servable version): onnxruntime and numpy never
load with the app.

Every graph is checked against the SHA-256 its version was verified with, whether its bytes come from S3 or from
/tmp, so a serving function runs exactly the verified bytes or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from maestro.domain import model_serving as rules

FEATURE_NAMES_METADATA = "maestro.feature_names"  # written by `maestro artifacts push --to-onnx` (the SDK)
_NUMPY_TYPES = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "bool": np.bool_,
    "string": object,
}


class GraphIntegrityError(Exception):
    """The bytes found do not hash to the version's verified SHA-256."""


def _session(onnx_bytes: bytes) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one request at a time per Lambda instance (as maestro.domain.meta.serving)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])


def signature_of(session: onnxruntime.InferenceSession) -> dict[str, Any]:
    def describe(node) -> dict[str, Any]:
        shape = node.shape if isinstance(node.shape, list) else None
        return {
            "name": node.name,
            "type": rules.element_type(node.type),
            "shape": [rules.dimension(d) for d in shape] if shape is not None else None,
        }

    metadata = session.get_modelmeta().custom_metadata_map or {}
    feature_names = None
    if FEATURE_NAMES_METADATA in metadata:
        try:
            parsed = json.loads(metadata[FEATURE_NAMES_METADATA])
            feature_names = [str(n) for n in parsed] if isinstance(parsed, list) else None
        except ValueError:
            feature_names = None
    return {
        "inputs": [describe(i) for i in session.get_inputs()],
        "outputs": [describe(o) for o in session.get_outputs()],
        "feature_names": feature_names,
    }


def read_signature(onnx_bytes: bytes) -> dict[str, Any]:
    """The graph's inputs and outputs as a signature (maestro.domain.model_serving); raises if it cannot load."""
    return signature_of(_session(onnx_bytes))


def to_arrays(signature: dict, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
    types = {i["name"]: i["type"] for i in signature["inputs"]}
    return {name: np.asarray(value, dtype=_NUMPY_TYPES[types[name]]) for name, value in inputs.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):  # ZipMap outputs: {class: probability}
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class LoadedGraph:
    sha256: str
    size_bytes: int
    session: onnxruntime.InferenceSession
    source: str  # "s3" | "tmp": where this load found the bytes (the benchmark and the tests read it)

    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        names = [o.name for o in self.session.get_outputs()]
        return {name: _jsonable(value) for name, value in zip(names, self.session.run(names, arrays), strict=True)}


class GraphCache:
    """Loaded graphs by SHA-256, least recently used first out: in memory up to `memory_budget` bytes of graph
    files, and their files in `tmp_dir` up to `tmp_budget` bytes (a warm function that dropped a graph from memory
    reloads it from /tmp without S3)."""

    def __init__(self, tmp_dir: Path, memory_budget: int, tmp_budget: int) -> None:
        self.tmp_dir = tmp_dir
        self.memory_budget = memory_budget
        self.tmp_budget = tmp_budget
        self._memory: OrderedDict[str, LoadedGraph] = OrderedDict()
        self._files: OrderedDict[str, int] | None = None  # sha256 -> size, read from tmp_dir on first use
        self._lock = threading.Lock()

    def get(self, sha256: str, size_bytes: int, fetch: Callable[[], bytes]) -> LoadedGraph:
        """The graph whose bytes hash to `sha256`, loading it from /tmp or `fetch()` (S3) when not in memory."""
        with self._lock:
            graph = self._memory.get(sha256)
            if graph is not None:
                self._memory.move_to_end(sha256)
                return graph
            onnx_bytes, source = self._from_tmp(sha256), "tmp"
            if onnx_bytes is None:
                onnx_bytes, source = fetch(), "s3"
                if hashlib.sha256(onnx_bytes).hexdigest() != sha256:
                    raise GraphIntegrityError(f"the stored object does not hash to the verified sha256 {sha256}")
                self._to_tmp(sha256, onnx_bytes)
            graph = LoadedGraph(sha256, len(onnx_bytes), _session(onnx_bytes), source)
            self._memory[sha256] = graph
            while sum(g.size_bytes for g in self._memory.values()) > self.memory_budget and len(self._memory) > 1:
                self._memory.popitem(last=False)
            return graph

    def in_memory(self) -> list[str]:
        return list(self._memory)

    def forget(self, memory: bool = True, files: bool = False) -> None:
        """Drop cached graphs (tests and the benchmark's cold runs)."""
        with self._lock:
            if memory:
                self._memory.clear()
            if files:
                for sha256 in list(self._index()):
                    self._path(sha256).unlink(missing_ok=True)
                self._files = OrderedDict()

    # ------------------------------------------------------------ /tmp
    def _path(self, sha256: str) -> Path:
        return self.tmp_dir / f"{sha256}.onnx"

    def _index(self) -> OrderedDict[str, int]:
        if self._files is None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            found = sorted(self.tmp_dir.glob("*.onnx"), key=lambda p: p.stat().st_mtime)
            self._files = OrderedDict((p.stem, p.stat().st_size) for p in found)
        return self._files

    def _from_tmp(self, sha256: str) -> bytes | None:
        if sha256 not in self._index():
            return None
        path = self._path(sha256)
        try:
            onnx_bytes = path.read_bytes()
        except FileNotFoundError:
            self._index().pop(sha256, None)
            return None
        if hashlib.sha256(onnx_bytes).hexdigest() != sha256:  # a torn or tampered file: never run it
            path.unlink(missing_ok=True)
            self._index().pop(sha256, None)
            return None
        self._index().move_to_end(sha256)
        os.utime(path)
        return onnx_bytes

    def _to_tmp(self, sha256: str, onnx_bytes: bytes) -> None:
        if len(onnx_bytes) > self.tmp_budget:
            return
        files = self._index()
        while files and sum(files.values()) + len(onnx_bytes) > self.tmp_budget:
            oldest, _ = files.popitem(last=False)
            self._path(oldest).unlink(missing_ok=True)
        partial = self.tmp_dir / f".{sha256}.partial"
        partial.write_bytes(onnx_bytes)
        partial.replace(self._path(sha256))  # atomic: a reader sees the whole file or none
        files[sha256] = len(onnx_bytes)
