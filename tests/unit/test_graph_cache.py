"""The serving function's graph cache (maestro.ml.onnx_graphs.GraphCache): least recently used out of memory and
out of /tmp within their byte budgets, a graph evicted from memory comes back from /tmp without S3, and bytes that
do not hash to the verified SHA-256 (from S3 or a tampered /tmp file) never run."""

import hashlib

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from maestro.ml.onnx_graphs import GraphCache, GraphIntegrityError


def _graph(weight: float) -> bytes:
    W = numpy_helper.from_array(np.full((2, 1), weight, dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[W],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


class S3:
    def __init__(self, graphs):
        self.graphs, self.fetches = graphs, []

    def fetch(self, sha256):
        def read():
            self.fetches.append(sha256)
            return self.graphs[sha256]

        return read


def _answer(graph):
    return graph.run({"X": np.ones((1, 2), dtype=np.float32)})["y"][0][0]


def test_least_recently_used_graphs_leave_memory_then_tmp_within_their_budgets(tmp_path):
    graphs = {hashlib.sha256(g).hexdigest(): g for g in (_graph(1), _graph(2), _graph(3))}
    (a, b, c), size = list(graphs), len(_graph(1))
    s3 = S3(graphs)
    cache = GraphCache(tmp_path, memory_budget=2 * size, tmp_budget=2 * size)

    assert _answer(cache.get(a, size, s3.fetch(a))) == 2.0 and cache.get(a, size, s3.fetch(a)).source == "s3"
    cache.get(b, size, s3.fetch(b))
    cache.get(a, size, s3.fetch(a))  # a is now the most recently used
    cache.get(c, size, s3.fetch(c))  # memory holds two graphs: b goes
    assert cache.in_memory() == [a, c]
    assert s3.fetches == [a, b, c]
    assert sorted(p.stem for p in tmp_path.glob("*.onnx")) == sorted([b, c])  # /tmp holds two files: a's went first

    again = cache.get(b, size, s3.fetch(b))  # from /tmp, not S3
    assert again.source == "tmp" and _answer(again) == 4.0 and s3.fetches == [a, b, c]


def test_bytes_that_do_not_hash_to_the_verified_sha256_never_run(tmp_path):
    good = _graph(1)
    sha = hashlib.sha256(good).hexdigest()
    cache = GraphCache(tmp_path, memory_budget=10**6, tmp_budget=10**6)
    with pytest.raises(GraphIntegrityError):
        cache.get(sha, len(good), lambda: _graph(9))  # S3 returned other bytes
    assert cache.in_memory() == [] and not list(tmp_path.glob("*.onnx"))

    cache.get(sha, len(good), lambda: good)
    (tmp_path / f"{sha}.onnx").write_bytes(_graph(9))  # someone edits the file in /tmp
    cache.forget(memory=True)
    fetched = []
    graph = cache.get(sha, len(good), lambda: fetched.append(1) or good)
    assert graph.source == "s3" and fetched == [1] and _answer(graph) == 2.0
