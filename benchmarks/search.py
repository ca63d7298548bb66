"""Search at 10k and 100k artifacts through the per-tenant search index, beside plain bm25s and a numpy
brute-force cosine top-k on the same data, in one run.

The library is the labelled retrieval catalogue (tests/data/retrieval: 382 artifacts with content) repeated with
varied names, descriptions and tags up to the size; vectors are the catalogue's real MiniLM vectors with noise.
Per size and mode: p50/p95 of the request path in process (`maestro.services.artifacts.search`: the real ONNX
query embedding, ranking on the index, the page's hydration from memory instead of DynamoDB; the refresh Query
and the batch read over the network are benchmarks/registry.py's), the cold load (the snapshot's bytes to an
index that has answered its first query) and the index's memory (tracemalloc: numpy and Python allocations).

    .venv/bin/python benchmarks/search.py [--sizes 10000 100000] [--queries 40] [--json]
"""

from __future__ import annotations

import os

# Lambda gives a search function one or two vCPUs: BLAS uses one thread here, as it would there, and does not
# fight the other processes on a shared machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc
import json
import sys
import time
import tracemalloc
from contextlib import contextmanager
from unittest import mock

import numpy as np
from _local_stack import PROJECT_DIR, percentiles

sys.path.insert(0, str(PROJECT_DIR))
DATA_DIR = PROJECT_DIR / "tests" / "data" / "retrieval"
MODES = ("keyword", "semantic", "hybrid")
GOALS = {"hybrid_p50_ms_at_100k": 25.0, "cold_load_s_at_100k": 1.5, "memory_mb_at_100k": 400.0}


def _catalogue() -> tuple[list[dict], list[str], list[dict]]:
    from maestro.domain.retrieval import extract_content_text

    catalogue = [json.loads(line) for line in (DATA_DIR / "catalogue.jsonl").read_text().splitlines() if line]
    queries = [json.loads(line) for line in (DATA_DIR / "queries.jsonl").read_text().splitlines() if line]
    contents = []
    for artifact in catalogue:
        content = artifact.get("content")
        contents.append(
            extract_content_text(content["content_type"], content["name"], content["text"].encode()) if content else ""
        )
    return catalogue, contents, queries


def _library(size: int, catalogue: list[dict], contents: list[str], vectors: np.ndarray):
    """`size` artifacts: catalogue entries with a copy number in the name, a regional word in the description
    and a team tag, so the vocabulary and postings grow with the library as a real one's would."""
    from maestro.domain.search_index import make_doc

    rng = np.random.default_rng(7)
    regions = ("emea", "apac", "latam", "na", "anz", "dach", "nordics", "iberia", "benelux", "cee")
    docs, records = [], {}
    for n in range(size):
        source = catalogue[n % len(catalogue)]
        copy = n // len(catalogue)
        record = {
            **{k: source[k] for k in ("name", "type", "description", "tags", "metadata", "impact_score")},
            "name": f"{source['name']}_{copy}" if copy else source["name"],
            "description": f"{source['description']} ({regions[copy % len(regions)]} copy {copy})",
            "tags": [*source["tags"], f"team{copy % 50}"],
            "usage_count": int(source["usage_count"]),
            "updated_at": source["updated_at"],
            "deprecated": source["deprecated"],
        }
        vector = vectors[n % len(vectors)] + rng.normal(0, 0.02, vectors.shape[1]).astype(np.float32)
        artifact_id = f"art_{n:07d}"
        docs.append(make_doc(artifact_id, record, contents[n % len(contents)], vector, version_ms=1))
        records[artifact_id] = record
    return docs, records


@contextmanager
def _in_memory(index, records):
    """The request path with the index already in memory and the page hydrated from memory."""
    from datetime import UTC, datetime

    from maestro.repositories.schema import Artifact
    from maestro.services import artifacts, search_index

    now = datetime.now(UTC)

    def hydrate(tenant_id, ids):
        return {
            i: Artifact(
                tenant_id,
                i,
                created_at=now,
                updated_at=now,
                type_name="x",
                **{k: v for k, v in records[i].items() if k not in ("updated_at", "deprecated")},
            )
            for i in ids
        }

    @contextmanager
    def reading(tenant_id):
        yield index

    with (
        mock.patch.object(search_index, "reading", reading),
        mock.patch.object(artifacts.search_store, "hydrate", hydrate),
    ):
        yield


def _agreement_with_exact(index, texts: list[str], encoder) -> dict:
    """How far the coarse stage (search_index.COARSE_*: principal-direction scoring, exact re-scoring of the
    candidates) changes the answers and the ranking time (query embedding excluded): per mode, the mean share of the exact top 20 in the served top 20 and the
    share of queries whose top 20 is identical in order. 1.0 below COARSE_MIN_ROWS (no coarse stage)."""
    from maestro.domain import search_index as si
    from maestro.domain.search_index import IndexFilters

    query_vectors = encoder.encode(texts)

    def rank_all() -> tuple[dict[str, list], dict[str, float]]:
        answers: dict[str, list] = {"semantic": [], "hybrid": []}
        samples: dict[str, list[float]] = {"semantic": [], "hybrid": []}
        for text, vector in zip(texts, query_vectors, strict=True):
            for mode, rank in (
                ("semantic", lambda: index.semantic(vector, IndexFilters(), 20)),  # noqa: B023
                ("hybrid", lambda: index.hybrid(text, vector, IndexFilters(), 20)),  # noqa: B023
            ):
                begun = time.perf_counter()
                answers[mode].append(rank().ids)
                samples[mode].append((time.perf_counter() - begun) * 1000)
        return answers, {mode: round(percentiles(values)[0], 2) for mode, values in samples.items()}

    served, served_ms = rank_all()
    threshold, si.COARSE_MIN_ROWS = si.COARSE_MIN_ROWS, 1 << 62
    try:
        exact, exact_ms = rank_all()
    finally:
        si.COARSE_MIN_ROWS = threshold
    return {
        mode: {
            "ranking_p50_ms": served_ms[mode],
            "exact_ranking_p50_ms": exact_ms[mode],
            "overlap_at_20": round(
                float(
                    np.mean(
                        [len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(served[mode], exact[mode], strict=True)]
                    )
                ),
                4,
            ),
            "identical_top_20": round(
                float(np.mean([a == b for a, b in zip(served[mode], exact[mode], strict=True)])), 4
            ),
        }
        for mode in served
    }


def _measure_size(size, catalogue, contents, vectors, queries, encoder, runs) -> dict:
    import bm25s

    from maestro.domain.artifacts import SearchFilters
    from maestro.domain.search_index import TenantIndex, terms
    from maestro.domain.search_index import memory_bytes as array_bytes
    from maestro.services import artifacts

    started = time.perf_counter()
    docs, records = _library(size, catalogue, contents, vectors)
    built = TenantIndex()
    for doc in docs:
        built.upsert(doc)
    snapshot = built.to_snapshot()
    build_s = time.perf_counter() - started
    plain_corpus = [list(doc.term_counts.elements()) for doc in docs]
    matrix = np.concatenate([built.base.vectors])
    del built, docs
    gc.collect()

    tracemalloc.start()
    started = time.perf_counter()
    index = TenantIndex.from_snapshot(snapshot)
    from maestro.domain.search_index import IndexFilters

    index.keyword("warm up", IndexFilters(), 20)  # the first query builds the BM25 score array
    index.semantic(vectors[0], IndexFilters(), 20)  # ... and the first semantic one the coarse projection
    cold_load_s = time.perf_counter() - started
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    caller = type("Caller", (), {"tenant_id": "bench"})()
    texts = [q["query"] for q in queries]
    result: dict = {
        "artifacts": size,
        "build_s": round(build_s, 2),
        "snapshot_mb": round(len(snapshot) / 1e6, 1),
        "cold_load_s": round(cold_load_s, 3),
        "memory_mb": round(current / 1e6, 1),
        "memory_peak_mb": round(peak / 1e6, 1),
        "array_mb": round(array_bytes(index) / 1e6, 1),
        "modes": {},
    }
    with _in_memory(index, records):
        for mode in MODES:
            samples = []
            for n in range(runs):
                query = texts[n % len(texts)]
                begun = time.perf_counter()
                page = artifacts.search(caller, SearchFilters(query=query), "relevance", 20, None, mode)
                samples.append((time.perf_counter() - begun) * 1000)
                assert page.items or mode != "hybrid"
            p50, p95 = percentiles(samples)
            result["modes"][mode] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}

    result["exact_agreement"] = _agreement_with_exact(index, texts[:runs], encoder)

    # baselines on the same data: plain bm25s (its own index and retrieve), numpy brute-force cosine top-k
    retriever = bm25s.BM25(method="lucene")
    started = time.perf_counter()
    retriever.index(plain_corpus, show_progress=False)
    plain_build_s = time.perf_counter() - started
    samples = []
    for n in range(runs):
        query_terms = [t for t in terms(texts[n % len(texts)]) if t in retriever.vocab_dict]
        if not query_terms:  # bm25s cannot score a query with no indexed word
            continue
        begun = time.perf_counter()
        retriever.retrieve([query_terms], k=20, show_progress=False, n_threads=1)
        samples.append((time.perf_counter() - begun) * 1000)
    p50, p95 = percentiles(samples)
    result["plain_bm25s"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "index_s": round(plain_build_s, 2)}
    samples = []
    for n in range(runs):
        query_vector = encoder.encode([texts[n % len(texts)]])[0]
        begun = time.perf_counter()
        scores = matrix @ query_vector
        top = np.argpartition(-scores, 20)[:20]
        top[np.argsort(-scores[top])]
        samples.append((time.perf_counter() - begun) * 1000)
    p50, p95 = percentiles(samples)
    result["numpy_cosine_topk"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "excludes": "query embedding"}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    from maestro.services import embeddings

    catalogue, contents, queries = _catalogue()
    encoder = embeddings.encoder()
    from maestro.domain.retrieval import artifact_text

    vectors = encoder.encode([artifact_text(a, c) for a, c in zip(catalogue, contents, strict=True)])
    samples = []
    for n in range(args.queries):
        begun = time.perf_counter()
        encoder.encode([queries[n % len(queries)]["query"]])
        samples.append((time.perf_counter() - begun) * 1000)
    embed_p50, embed_p95 = percentiles(samples)
    report: dict = {
        # a shared machine: read every figure beside its baselines from the same run
        "load_average_1m_at_start": round(os.getloadavg()[0], 1),
        "query_embedding": {"p50_ms": round(embed_p50, 2), "p95_ms": round(embed_p95, 2)},
        "sizes": [],
        "goals": GOALS,
        "baseline_before_the_index": "issue 14, measured on main: hybrid 600-1100 ms at 100k with the library in "
        "memory; every search read the whole artifact partition (9 s at 10k on the local stack)",
    }
    for size in args.sizes:
        report["sizes"].append(_measure_size(size, catalogue, contents, vectors, queries, encoder, args.queries))
        report["sizes"][-1]["load_average_1m"] = round(os.getloadavg()[0], 1)
        if not args.json:
            print(json.dumps(report["sizes"][-1]), file=sys.stderr)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
