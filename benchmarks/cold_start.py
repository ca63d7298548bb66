"""Cold start: import + init time of each function's module in fresh processes (median of N), beside the
baseline of `import boto3` plus one client, measured in the same run. Prints the ratio per function.

Every Chalice function (the API handler and each event handler) loads app.py, so a function's cold start is
app.py's import plus the handler module it calls. The processes run with the variables Lambda sets
(LAMBDA_TASK_ROOT makes the X-Ray SDK use its in-Lambda sampler, as it does in AWS).

    .venv/bin/python benchmarks/cold_start.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]

BASELINE = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
# function -> statement that loads it as Lambda would (module import + module-level init)
FUNCTIONS = {
    "api_handler (app.app: auth/CRUD/health routes)": "import app; app.app",
    "ingest_object_created (app.ingest_object_created)": "import app; app.ingest_object_created",
    "functions.health alone": "import functions.health",
    "functions.ingestion alone": "import functions.ingestion",
}
# Modules no request-time function may import (their import alone costs seconds).
FORBIDDEN_ON_COLD_PATH = ("torch", "sentence_transformers", "mlflow", "feast", "sklearn")


def lambda_like_environment(task_root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAESTRO_", "POWERTOOLS_"))}
    env.update({
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_LAMBDA_FUNCTION_NAME": "maestro-ml-dev",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MAESTRO_STAGE": "test",  # local-mode secrets check: nothing is fetched over the network at import
        "PYTHONPATH": str(PROJECT_DIR),
    })
    return env


def time_statement(statement: str, env: dict[str, str]) -> tuple[float, list[str]]:
    probe = (
        "import sys, time\n"
        "started = time.perf_counter()\n"
        f"{statement}\n"
        "elapsed = time.perf_counter() - started\n"
        f"heavy = [m for m in {FORBIDDEN_ON_COLD_PATH!r} if m in sys.modules]\n"
        "print(elapsed); print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True,
                            text=True, check=True)
    elapsed, heavy = result.stdout.splitlines()[-2:]
    return float(elapsed), [m for m in heavy.split(",") if m]


def median_of(statement: str, env: dict[str, str], runs: int) -> tuple[float, list[str]]:
    timings, heavy = [], []
    for _ in range(runs):
        elapsed, heavy = time_statement(statement, env)
        timings.append(elapsed)
    return statistics.median(timings), heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as task_root:
        env = lambda_like_environment(task_root)
        time_statement(BASELINE, env)  # warm the file cache once for everybody alike
        baseline, _ = median_of(BASELINE, env, args.runs)
        print(f"cold start, median of {args.runs} fresh processes (import + init)\n")
        print(f"{'function':58} {'seconds':>8} {'x boto3':>8}  heavy modules loaded")
        print(f"{'baseline: import boto3 + one client':58} {baseline:8.3f} {1.0:8.2f}")
        for name, statement in FUNCTIONS.items():
            elapsed, heavy = median_of(statement, env, args.runs)
            print(f"{name:58} {elapsed:8.3f} {elapsed / baseline:8.2f}  {', '.join(heavy) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
