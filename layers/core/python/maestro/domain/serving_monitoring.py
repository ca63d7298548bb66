"""Monitoring served model versions: daily rollups of requests, errors, latency and per-feature input summaries, and
input drift against a reference (a lineage-linked dataset or an uploaded profile). Pure rules, plain Python.

Each rollup keeps exact counters (requests, errors; count, sum, sum of squares, min, max per feature) and a bounded
uniform sample per feature and of latencies (reservoirs merged in proportion to what each side saw), from which
quantiles and the drift statistic are computed. Drift is the two-sample Kolmogorov-Smirnov statistic between the
window's sample and the reference sample, flagged when it exceeds the critical value at KS_ALPHA."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SAMPLE_SIZE = 256  # values kept per feature per day, and latencies per day
MAX_MONITORED_FEATURES = 32  # beyond this, wide inputs (images, embeddings) are counted but not summarised
REFERENCE_SAMPLE_SIZE = 1000
MAX_REFERENCE_VALUES = 100_000  # per feature, in an uploaded profile
KS_ALPHA = 0.01
_KS_COEFFICIENT = math.sqrt(-0.5 * math.log(KS_ALPHA / 2))  # c(alpha) = 1.628 at alpha 0.01
DEFAULT_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 90
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def merge_samples(
    kept: Sequence[float], kept_seen: int, new: Sequence[float], new_seen: int, size: int, rng: random.Random
) -> list[float]:
    """A uniform sample of at most `size` values standing for kept_seen + new_seen observations: each side keeps a
    share in proportion to how many observations it stands for."""
    if len(kept) + len(new) <= size:
        return [*kept, *new]
    if len(new) == new_seen and len(kept) == size and kept_seen >= size:
        # a request's own values into a full sample: reservoir sampling (Algorithm R), O(len(new)) instead of
        # re-drawing the whole sample on every request
        merged = list(kept)
        for offset, value in enumerate(new):
            slot = rng.randrange(kept_seen + offset + 1)
            if slot < size:
                merged[slot] = value
        return merged
    total = kept_seen + new_seen
    from_kept = min(len(kept), round(size * kept_seen / total)) if total else 0
    from_new = min(len(new), size - from_kept)
    from_kept = min(len(kept), size - from_new)
    return rng.sample(list(kept), from_kept) + rng.sample(list(new), from_new)


def empty_feature() -> dict[str, Any]:
    return {"n": 0, "sum": 0.0, "sumsq": 0.0, "min": None, "max": None, "sample": []}


def merge_feature(kept: dict[str, Any], new: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Two summaries of one feature as one (counters exact, sample bounded)."""
    mins = [v for v in (kept["min"], new["min"]) if v is not None]
    maxes = [v for v in (kept["max"], new["max"]) if v is not None]
    return {
        "n": kept["n"] + new["n"],
        "sum": kept["sum"] + new["sum"],
        "sumsq": kept["sumsq"] + new["sumsq"],
        "min": min(mins) if mins else None,
        "max": max(maxes) if maxes else None,
        "sample": merge_samples(kept["sample"], kept["n"], new["sample"], new["n"], SAMPLE_SIZE, rng),
    }


def merge_stats(kept: dict[str, Any], new: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Merge a day's stats with one request's (or another day's): latencies and every feature."""
    features = dict(kept.get("features") or {})
    for name, summary in (new.get("features") or {}).items():
        features[name] = merge_feature(features.get(name) or empty_feature(), summary, rng)
    return {
        "latency_seen": kept.get("latency_seen", 0) + new.get("latency_seen", 0),
        "latency_sample": merge_samples(
            kept.get("latency_sample") or [],
            kept.get("latency_seen", 0),
            new.get("latency_sample") or [],
            new.get("latency_seen", 0),
            SAMPLE_SIZE,
            rng,
        ),
        "features": features,
    }


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def describe_feature(summary: dict[str, Any]) -> dict[str, Any]:
    """count, mean, std (population), min, max and sample quantiles of one feature's summary."""
    n = summary["n"]
    mean: float | None = summary["sum"] / n if n else None
    variance = max(0.0, summary["sumsq"] / n - mean * mean) if mean is not None else None
    ordered = sorted(summary["sample"])
    described = {
        "count": n,
        "mean": _round(mean),
        "std": _round(math.sqrt(variance)) if variance is not None else None,
        "min": _round(summary["min"]),
        "max": _round(summary["max"]),
    }
    for q in QUANTILES:
        described[f"p{round(q * 100):02d}"] = _round(quantile(ordered, q))
    return described


def latency(stats: dict[str, Any]) -> dict[str, float | None]:
    ordered = sorted(stats.get("latency_sample") or [])
    return {"p50": _round(quantile(ordered, 0.5)), "p95": _round(quantile(ordered, 0.95))}


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    a, b = sorted(a), sorted(b)
    gap = 0.0
    for value in set(a) | set(b):
        gap = max(gap, abs(bisect.bisect_right(a, value) / len(a) - bisect.bisect_right(b, value) / len(b)))
    return gap


def ks_threshold(n: int, m: int) -> float:
    """The critical value of the KS statistic at KS_ALPHA for samples of n and m values."""
    return _KS_COEFFICIENT * math.sqrt((n + m) / (n * m))


def drift(
    observed: Mapping[str, Sequence[float]], reference: Mapping[str, Sequence[float]]
) -> dict[str, dict[str, Any]]:
    """Per feature present on both sides: the KS statistic, its threshold and whether it is exceeded."""
    result = {}
    for name, values in observed.items():
        base = reference.get(name)
        if not values or not base:
            continue
        statistic = ks_statistic(values, base)
        threshold = ks_threshold(len(values), len(base))
        result[name] = {
            "statistic": round(statistic, 4),
            "threshold": round(threshold, 4),
            "drifted": statistic > threshold,
            "observed": len(values),
            "reference": len(base),
        }
    return result


def reference_sample(values: Iterable[float], rng: random.Random) -> list[float]:
    """At most REFERENCE_SAMPLE_SIZE finite values, drawn uniformly."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return finite if len(finite) <= REFERENCE_SAMPLE_SIZE else rng.sample(finite, REFERENCE_SAMPLE_SIZE)


_TARGET_COLUMNS = frozenset({"target", "label", "labels", "y", "class", "outcome"})


def reference_from_table(
    header: Sequence[str], columns: dict[str, list[float]], features: Sequence[str], rng: random.Random
) -> tuple[dict[str, list[float]], str | None]:
    """Map a dataset's numeric columns onto the model's features: by name where the names agree, else by position
    when the dataset has exactly one numeric column per feature (a column named like a target is left out).
    Returns the reference samples and, when nothing maps, why."""
    if set(features) <= set(columns):
        return {f: reference_sample(columns[f], rng) for f in features}, None
    numeric = [c for c in header if c in columns and c.strip().lower() not in _TARGET_COLUMNS]
    if len(numeric) == len(features):
        return {f: reference_sample(columns[c], rng) for f, c in zip(features, numeric, strict=True)}, None
    return {}, (
        f"the dataset's numeric columns ({', '.join(numeric[:10])}) do not match the model's features "
        f"({', '.join(features[:10])}) by name or by count"
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
