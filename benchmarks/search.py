"""Search latency at 10k and 100k artifacts, query embedding included, beside the query embedding alone.

Measures the ranking path of maestro.services.artifacts.search in process: the real ONNX query embedding, the
keyword ranking over the tenant's artifacts, the cosine ranking over the tenant's vector matrix, and their
reciprocal rank fusion. The library and vectors are synthetic and held in memory (as a warm search function
holds the vector index); reading the library from DynamoDB is not included here (benchmarks/registry.py
measures a partition read).

    .venv/bin/python benchmarks/search.py [--sizes 10000 100000] [--queries 30]
"""

from __future__ import annotations

import argparse
import sys
from unittest import mock

import numpy as np
from _local_stack import PROJECT_DIR, timed

sys.path.insert(0, str(PROJECT_DIR))

WORDS = (
    "churn",
    "fraud",
    "forecast",
    "demand",
    "image",
    "segmentation",
    "ranking",
    "sentiment",
    "anomaly",
    "sensor",
    "credit",
    "risk",
    "pricing",
    "customer",
    "embedding",
    "pipeline",
    "schema",
    "notebook",
)
QUERIES = (
    "customer churn prediction",
    "card fraud detection",
    "weekly demand forecast",
    "satellite image segmentation",
    "review sentiment model",
)


def library(size: int) -> list[dict]:
    rng = np.random.default_rng(7)
    items = []
    for n in range(size):
        words = rng.choice(WORDS, 6)
        items.append(
            {
                "id": f"art_{n:07d}",
                "name": f"{words[0]} {words[1]} {n}",
                "type": "feature_pipeline",
                "description": " ".join(words),
                "tags": list(words[:2]),
                "impact_score": float(n % 100),
                "usage_count": n % 13,
                "updated_at": "2026-01-01T00:00:00+00:00",
                "deprecated": None,
            }
        )
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    from maestro.domain.artifacts import SearchFilters
    from maestro.services import artifacts, embeddings

    encoder = embeddings.encoder()
    encoder.encode(["warm up"])
    queries = iter(QUERIES * args.queries)
    embed_p50, embed_p95 = timed(lambda: encoder.encode([next(queries)]), args.queries)
    print(f"{'path':48} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'query embedding alone (ONNX MiniLM)':48} {embed_p50:8.2f} {embed_p95:8.2f}")
    for size in args.sizes:
        items = library(size)
        rng = np.random.default_rng(11)
        matrix = rng.standard_normal((size, 384)).astype("<f4")
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        index = embeddings.TenantVectors()
        index.rows = {item["id"]: matrix[i] for i, item in enumerate(items)}
        caller = type("Caller", (), {"tenant_id": "bench"})()
        with (
            mock.patch.object(artifacts, "_library", lambda tenant_id, items=items: items),
            mock.patch.object(embeddings, "tenant_vectors", lambda tenant_id, index=index: index),
        ):
            index.matrix()  # built once per warm function
            for mode in ("keyword", "semantic", "hybrid"):
                queries = iter(QUERIES * args.queries)
                p50, p95 = timed(
                    lambda caller=caller, queries=queries, mode=mode: artifacts.search(
                        caller, SearchFilters(query=next(queries)), "relevance", 20, None, mode
                    ),
                    max(5, args.queries // 3),
                )
                print(f"{f'{mode} search, {size:,} artifacts':48} {p50:8.2f} {p95:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
