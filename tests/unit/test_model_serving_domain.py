"""The serving and monitoring rules without AWS: inputs checked against a signature, the features monitoring
summarises, the KS statistic (against scipy's) and its threshold, and bounded samples merged in proportion."""

import random
import time

import pytest
from scipy.stats import ks_2samp

from maestro.domain import model_serving as serving
from maestro.domain import serving_monitoring as monitoring
from maestro.domain.errors import ValidationFailed

SIGNATURE = {
    "inputs": [
        {"name": "X", "type": "float32", "shape": [None, 3]},
        {"name": "segment", "type": "int64", "shape": [None, 1]},
    ],
    "outputs": [{"name": "y", "type": "float32", "shape": [None, 1]}],
    "feature_names": None,
}


def _error(inputs):
    with pytest.raises(ValidationFailed) as caught:
        serving.check_inputs(SIGNATURE, inputs)
    return caught.value.extensions["errors"][0]


def test_inputs_that_match_the_signature_give_the_batch_size():
    assert serving.check_inputs(SIGNATURE, {"X": [[1, 2.5, 3]] * 4, "segment": [[1]] * 4}) == 4


@pytest.mark.parametrize(
    "inputs, field, words",
    [
        ({"X": [[1, 2, 3]]}, "inputs.segment", "missing input"),
        ({"X": [[1, 2, 3]], "segment": [[1]], "extra": [1]}, "inputs.extra", "no input 'extra'"),
        ({"X": [[1, 2, 3]], "segment": [[1.5]]}, "inputs.segment", "int64"),
        ({"X": [[1, 2, True]], "segment": [[1]]}, "inputs.X", "a boolean"),
        ({"X": [[1, 2, float("inf")]], "segment": [[1]]}, "inputs.X", "finite"),
        ({"X": [[1, 2]], "segment": [[1]]}, "inputs.X", "dimension 1 must be 3"),
        ({"X": [[1, 2, 3], [1, 2, 3]], "segment": [[1]]}, "inputs.segment", "1 rows, but another input has 2"),
        ({"X": [], "segment": [[1]]}, "inputs.X", "empty"),
    ],
)
def test_each_broken_input_is_named(inputs, field, words):
    error = _error(inputs)
    assert error["field"] == field and words in error["message"]


def test_instances_are_for_single_input_models():
    with pytest.raises(ValidationFailed, match="takes 2 inputs"):
        serving.request_inputs(SIGNATURE, None, [[1, 2, 3]])
    single = {"inputs": [{"name": "X", "type": "float32", "shape": [None, 3]}]}
    assert serving.request_inputs(single, None, [[1, 2, 3]]) == {"X": [[1, 2, 3]]}


def test_monitored_features_are_named_by_column_or_by_the_graphs_feature_names():
    assert [f for f, _, _ in serving.monitored_features(SIGNATURE, 32)] == ["X[0]", "X[1]", "X[2]", "segment"]
    named = {"inputs": [{"name": "X", "type": "float32", "shape": [None, 2]}], "feature_names": ["age", "spend"]}
    assert serving.monitored_features(named, 32) == [("age", "X", 0), ("spend", "X", 1)]
    image = {"inputs": [{"name": "pixels", "type": "float32", "shape": [None, 3, 8, 8]}]}
    assert serving.monitored_features(image, 32) == []


def test_graphs_over_the_budget_are_not_servable_and_content_types_decide_what_is():
    assert serving.graph_size_problem(serving.MAX_GRAPH_BYTES) is None
    assert "256 MiB" in serving.graph_size_problem(serving.MAX_GRAPH_BYTES + 1)
    assert serving.is_servable("model", "application/onnx")
    assert not serving.is_servable("dataset", "application/onnx")
    assert not serving.is_servable("model", "application/octet-stream")


def test_the_ks_statistic_is_scipys_and_the_threshold_shrinks_with_the_samples():
    rng = random.Random(4)
    a = [rng.gauss(0, 1) for _ in range(300)]
    b = [rng.gauss(0.3, 1) for _ in range(500)]
    assert monitoring.ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert monitoring.ks_threshold(100, 100) > monitoring.ks_threshold(1000, 1000)
    assert monitoring.ks_threshold(300, 500) == pytest.approx(1.628 * ((800) / (300 * 500)) ** 0.5, rel=1e-3)


def test_samples_merge_within_their_bound_in_proportion_to_what_each_side_saw():
    rng = random.Random(0)
    merged = monitoring.merge_samples([1.0] * 256, 9000, [2.0] * 256, 1000, 256, rng)
    assert len(merged) == 256 and merged.count(2.0) == round(256 * 1000 / 10000)
    assert monitoring.merge_samples([1.0], 1, [2.0], 1, 256, rng) == [1.0, 2.0]


def test_request_values_enter_a_full_sample_uniformly_one_request_at_a_time():
    """The per-request path (reservoir sampling): after 256 zeros then 3,000 requests of one value each, i, the
    sample is a uniform draw of all 3,256 values (share of the zeros and mean of the rest as expected)."""
    rng = random.Random(3)
    shares, means = [], []
    for _ in range(40):
        sample, seen = [0.0] * 256, 256
        for i in range(1, 3001):
            sample = monitoring.merge_samples(sample, seen, [float(i)], 1, 256, rng)
            seen += 1
        shares.append(sample.count(0.0) / 256)
        means.append(sum(v for v in sample if v) / max(1, sum(1 for v in sample if v)))
    assert sum(shares) / len(shares) == pytest.approx(256 / 3256, abs=0.01)
    assert sum(means) / len(means) == pytest.approx(1500.5, rel=0.02)


def test_a_feature_summary_keeps_exact_moments_across_merges():
    rng = random.Random(0)
    values = [float(v) for v in range(1, 1001)]
    left = {"n": 500, "sum": sum(values[:500]), "sumsq": sum(v * v for v in values[:500]), "min": 1.0, "max": 500.0,
            "sample": values[:256]}  # fmt: skip
    right = {"n": 500, "sum": sum(values[500:]), "sumsq": sum(v * v for v in values[500:]), "min": 501.0,
             "max": 1000.0, "sample": values[500:756]}  # fmt: skip
    described = monitoring.describe_feature(monitoring.merge_feature(left, right, rng))
    assert described["count"] == 1000 and described["mean"] == 500.5
    assert described["std"] == pytest.approx(288.6750, abs=1e-3)
    assert (described["min"], described["max"]) == (1.0, 1000.0)


def test_deeply_nested_inputs_are_refused_without_recursion():
    deep = 1.0
    for _ in range(5000):
        deep = [deep]
    error = _error({"X": deep, "segment": [[1]]})
    assert error["field"] == "inputs.X" and "expected 2 dimensions" in error["message"]


@pytest.fixture
def in_memory_rollups(monkeypatch):
    """serving_monitoring with its rollup store in a dict (no AWS) and no flush but the test's own."""
    from maestro.services import serving_monitoring as service

    stored: dict = {}
    monkeypatch.setattr(service.store, "count", lambda *args, **kwargs: None)

    def merge_into_memory(tenant_id, artifact_id, version, day, merge):
        stored[(tenant_id, artifact_id, version, day)] = merge(stored.get((tenant_id, artifact_id, version, day)))
        return True

    monkeypatch.setattr(service.store, "merge_stats", merge_into_memory)
    monkeypatch.setattr(service, "STATS_FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(service, "_last_flush", time.monotonic())
    monkeypatch.setattr(service, "_buffered", {})
    monkeypatch.setattr(service, "_pending", {})
    monkeypatch.setattr(service, "_plans", {})
    return service, stored


def test_a_request_larger_than_the_sample_is_counted_whole_and_sampled_to_the_bound(in_memory_rollups):
    service, stored = in_memory_rollups
    rows = [[float(i), float(i % 7), 1.0] for i in range(300)]
    service.record_request("t1", "art_a", "1.0.0", SIGNATURE, {"X": rows, "segment": [[2]] * 300}, 3.5)
    service.flush()
    (stats,) = stored.values()
    tenure = stats["features"]["X[0]"]
    assert tenure["n"] == 300 and tenure["sum"] == sum(range(300)) and (tenure["min"], tenure["max"]) == (0.0, 299.0)
    assert len(tenure["sample"]) == monitoring.SAMPLE_SIZE and set(tenure["sample"]) <= {float(i) for i in range(300)}
    assert stats["features"]["segment"]["n"] == 300 and stats["latency_sample"] == [3.5]


def test_requests_are_summarised_a_batch_at_a_time_with_the_same_counts_as_one_by_one(in_memory_rollups, monkeypatch):
    """record_request keeps rows and summarises them at the flush (or when SUMMARISE_ROWS wait): the day's
    counts, sums and extremes equal those of the requests taken one by one; samples stay within the bound."""
    service, stored = in_memory_rollups
    monkeypatch.setattr(service, "SUMMARISE_ROWS", 250)
    rng = random.Random(7)
    requests = [
        {"X": [[rng.uniform(-5, 5), float(i % 3), float(i)] for _ in range(1 + i % 4)], "segment": [[i % 5]]}
        for i in range(300)
    ]
    requests = [dict(r, segment=r["segment"] * len(r["X"])) for r in requests]
    for number, named in enumerate(requests):
        service.record_request("t1", "art_a", "1.0.0", SIGNATURE, named, float(number))
    assert service._pending, "250 buffered rows were summarised before the flush"
    assert stored == {}, "nothing is written before the flush"
    service.flush()
    (day_stats,) = stored.values()
    rows = [row for r in requests for row in r["X"]]
    first = day_stats["features"]["X[0]"]
    assert first["n"] == len(rows)
    assert first["sum"] == pytest.approx(sum(row[0] for row in rows))
    assert (first["min"], first["max"]) == (min(row[0] for row in rows), max(row[0] for row in rows))
    assert len(first["sample"]) == monitoring.SAMPLE_SIZE
    assert day_stats["features"]["segment"]["n"] == len(rows)
    assert day_stats["latency_seen"] == 300 and len(day_stats["latency_sample"]) == monitoring.SAMPLE_SIZE
    assert set(day_stats["latency_sample"]) <= {float(n) for n in range(300)}
    assert not service._buffered and not service._pending
