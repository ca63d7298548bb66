"""Cold start: import + init time of each function's module in fresh processes (median of N), beside the
baseline of `import boto3` plus one client, measured in the same run. Prints the ratio per function.

It measures what Lambda loads: the dev stage's deployment package and core layer are built (cached) and
unpacked into an empty directory, and every process runs `python -S` with only task/ and opt/python on its
path (so nothing from this machine's virtualenv, such as optional extras a library would pick up, takes
part). The processes get the variables Lambda sets (LAMBDA_TASK_ROOT makes the X-Ray SDK use its in-Lambda
sampler). Every Chalice function loads app.py, so a function's cold start is app.py plus the module it calls.

    .venv/bin/python benchmarks/cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

BASELINE = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
# function -> statement that loads it as Lambda would (module import + module-level init)
FUNCTIONS = {
    "api_handler (app.app: every HTTP route)": "import app; app.app",
    "maestro_authorizer": "import app; from functions.authorizer import maestro_authorizer",
    "ingest_object_created": "import app; app.ingest_object_created",
    "ingest_process_metrics": "import app; app.ingest_process_metrics",
    "verify_artifact_upload": "import app; app.verify_artifact_upload",
    "recalculate_impact_nightly (+ first call's numpy)": "import app; import maestro.domain.impact",
}
# Modules no request-time function may import (their import alone costs seconds).
FORBIDDEN_ON_COLD_PATH = ("torch", "sentence_transformers", "mlflow", "feast", "sklearn", "onnxruntime")


# The prediction function (api_handler with the embedding layer, whose onnxruntime serves the champions): load the
# app, then what the first prediction request adds — onnxruntime, the exported graph (from a file here, from S3
# there) and one prediction with its contributions.
PREDICTION = (
    "import app, json; from maestro.domain.meta.serving import ServedTarget; "
    "model = ServedTarget.load(open('{model}', 'rb').read(), json.load(open('{model}.json'))); "
    "x = [m for m in model.manifest['feature_means']]; model.predict([x]); model.explain(x)"
)
# The same first prediction served by scikit-learn (what the ONNX export avoids), from this machine's virtualenv.
SKLEARN_PREDICTION = (
    "import pickle, numpy; model = pickle.load(open('{pickle}', 'rb')); "
    "model.predict(numpy.zeros((1, len(model.feature_names))))"
)


def exported_model(root: Path) -> tuple[Path, Path]:
    """A success-score model trained on a generated history, exported to ONNX (and pickled for the comparison)."""
    import json
    import pickle

    from maestro.domain.meta.history import feature_table
    from maestro.domain.meta.synthetic import generate_history
    from maestro.ml.onnx_export import export_target
    from maestro.ml.training import train_target

    table = feature_table(generate_history(n_projects=300, n_artifacts=60, seed=5))
    model = train_target(
        table.X,
        table.targets["success_score"],
        table.feature_names,
        target="success_score",
        start_dates=table.start_dates,
    )
    onnx_bytes, manifest = export_target(model, feature_means=table.X[model.train_index].mean(axis=0), version="1")
    path = root / "model.onnx"
    path.write_bytes(onnx_bytes)
    path.with_suffix(".onnx.json").write_text(json.dumps(manifest))
    pickled = root / "model.pkl"
    pickled.write_bytes(pickle.dumps(model))
    return path, pickled


def lambda_filesystem(root: Path) -> tuple[Path, Path]:
    from infra.package import build_package

    build = build_package("dev")
    task, opt = root / "task", root / "opt"
    with zipfile.ZipFile(build.deployment_zip) as archive:
        archive.extractall(task)
    for layer in ("CoreLayer", "EmbeddingLayer"):  # the api_handler carries both
        with zipfile.ZipFile(build.layers[layer].zip_path) as archive:
            archive.extractall(opt)
    # Read-only, as /var/task and /opt are in Lambda: Python cannot cache bytecode it compiles, so what the
    # package does not ship is compiled on every start, as it would be there.
    for path in (task, opt):
        for item in path.rglob("*"):
            item.chmod(0o555 if item.is_dir() else 0o444)
    return task, opt / "python"


def lambda_environment(task: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAESTRO_", "POWERTOOLS_", "PYTHON"))}
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(task),
            "AWS_LAMBDA_FUNCTION_NAME": "maestro-ml-dev",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MAESTRO_STAGE": "test",  # local-mode secrets: nothing is fetched over the network at import
        }
    )
    return env


def time_statement(statement: str, env: dict[str, str], paths: list[str]) -> tuple[float, list[str]]:
    probe = (
        f"import sys; sys.path[:0] = {paths!r}\n"
        "import time\n"
        "started = time.perf_counter()\n"
        f"{statement}\n"
        "elapsed = time.perf_counter() - started\n"
        f"heavy = [m for m in {FORBIDDEN_ON_COLD_PATH!r} if m in sys.modules]\n"
        "print(elapsed); print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-S", "-c", probe], cwd=paths[0], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    elapsed, heavy = result.stdout.splitlines()[-2:]
    return float(elapsed), [m for m in heavy.split(",") if m]


def median_of(statement: str, env: dict[str, str], paths: list[str], runs: int) -> tuple[float, list[str]]:
    timings, heavy = [], []
    for _ in range(runs):
        elapsed, heavy = time_statement(statement, env, paths)
        timings.append(elapsed)
    return statistics.median(timings), heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        task, layer = lambda_filesystem(Path(root))
        env = lambda_environment(task)
        paths = [str(task), str(layer)]
        time_statement(BASELINE, env, paths)  # warm the file cache once for everybody alike
        baseline, _ = median_of(BASELINE, env, paths, args.runs)
        print(f"cold start from the unpacked package, median of {args.runs} fresh processes (import + init)\n")
        print(f"{'function':52} {'seconds':>8} {'x boto3':>8}  heavy modules loaded")
        print(f"{'baseline: import boto3 + one client':52} {baseline:8.3f} {1.0:8.2f}")
        for name, statement in FUNCTIONS.items():
            elapsed, heavy = median_of(statement, env, paths, args.runs)
            print(f"{name:52} {elapsed:8.3f} {elapsed / baseline:8.2f}  {', '.join(heavy) or '-'}")
        model, pickled = exported_model(Path(root))
        elapsed, heavy = median_of(PREDICTION.format(model=model), env, paths, args.runs)
        print(
            f"{'api_handler + first prediction (ONNX champion)':52} {elapsed:8.3f} {elapsed / baseline:8.2f}  "
            f"{', '.join(heavy) or '-'} (expected: onnxruntime serves it)"
        )
        venv = [str(PROJECT_DIR), str(PROJECT_DIR / "layers" / "core" / "python")]
        timings = [
            time_statement(
                SKLEARN_PREDICTION.format(pickle=pickled),
                {**env, "PYTHONPATH": ""},
                venv + [p for p in sys.path if "site-packages" in p],
            )[0]
            for _ in range(args.runs)
        ]
        elapsed = statistics.median(timings)
        print(
            f"{'scikit-learn alone: unpickle + first prediction':52} {elapsed:8.3f} {elapsed / baseline:8.2f}  "
            "sklearn (why it is exported to ONNX)"
        )
        for path in Path(root).rglob("*"):  # writable again, so the temporary directory can be removed
            if path.is_dir():
                path.chmod(0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main())
