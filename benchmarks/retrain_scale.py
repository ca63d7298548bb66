"""Can the retrain job handle 10k projects within Lambda's 15 minutes? Times each in-memory stage of a retrain
(history, features at the cut-off with impact snapshots, the model search of the three targets, ONNX export,
the recommender) on a generated tenant of N projects, beside the same stages at 600 projects in the same run.
DynamoDB reads, Feast and MLflow are not in it (measured on the local stack by the integration tests, and
network-bound in AWS). This machine has 2 cores; the retrain function gets 6 vCPUs at 10 GB.

    .venv/bin/python benchmarks/retrain_scale.py [--projects 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def stages(n_projects: int) -> dict[str, float]:
    from maestro.domain.meta.history import TARGET_NAMES, feature_table
    from maestro.domain.meta.synthetic import generate_history
    from maestro.ml.onnx_export import export_target
    from maestro.ml.recommend import learn_recommender, observed_relevance
    from maestro.ml.training import train_target

    timings: dict[str, float] = {}
    mark = time.perf_counter()
    history = generate_history(n_projects=n_projects, n_artifacts=max(120, n_projects // 50), seed=1)
    timings["generate history"] = time.perf_counter() - mark
    mark = time.perf_counter()
    table = feature_table(history)
    timings["features at cut-off (+ impact snapshots)"] = time.perf_counter() - mark
    for target in TARGET_NAMES:
        mark = time.perf_counter()
        model = train_target(
            table.X, table.targets[target], table.feature_names, target=target, start_dates=table.start_dates
        )
        timings[f"model search: {target}"] = time.perf_counter() - mark
        mark = time.perf_counter()
        export_target(model, feature_means=table.X[model.train_index].mean(axis=0))
        timings[f"onnx export: {target}"] = time.perf_counter() - mark
    mark = time.perf_counter()
    ordered = sorted(history.projects, key=lambda p: (p.start_date, p.project_id))
    learn_recommender(history, ordered, relevance=observed_relevance(ordered[: int(len(ordered) * 0.75)]))
    timings["recommender"] = time.perf_counter() - mark
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    args = parser.parse_args()
    baseline, scaled = stages(600), stages(args.projects)
    print(f"{'stage':45} {'600 projects':>13} {f'{args.projects} projects':>15}")
    for name in baseline:
        print(f"{name:45} {baseline[name]:12.1f}s {scaled[name]:14.1f}s")
    print(f"{'total':45} {sum(baseline.values()):12.1f}s {sum(scaled.values()):14.1f}s  (Lambda limit 900 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
