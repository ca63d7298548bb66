"""The meta-learning feature store on the moto server, for one tenant of `--projects` projects: Feast import, apply,
rows as of the cut-off, the Parquet write, materialisation to DynamoDB, a point-in-time training frame of every
project at its cut-off, and online reads of the model's feature vector for one project (p50/p95) by the Feast-free
reader beside Feast's own get_online_features (the baseline, measured in the same run).

    .venv/bin/python benchmarks/feature_store.py [--projects 600] [--reads 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core" / "python"))

from _local_stack import local_stack, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=600)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()

    from maestro.domain.meta.feature_views import MODEL_FEATURES, view_for
    from maestro.domain.meta.synthetic import generate_history

    history = generate_history(n_projects=args.projects, n_artifacts=120, seed=0)
    tenant = "bench-tenant"
    figures: list[tuple[str, float]] = []

    def step(name, call):
        started = time.perf_counter()
        result = call()
        figures.append((name, time.perf_counter() - started))
        return result

    with local_stack():
        fs = step(
            "import feast + maestro.ml.feature_store",
            lambda: (__import__("feast"), __import__("maestro.ml.feature_store", fromlist=["x"]))[1],
        )
        step("apply (first)", fs.apply)
        step("apply (again, idempotent)", fs.apply)
        rows = step(
            f"feature_rows ({args.projects} projects)",
            lambda: fs.feature_rows(tenant, history.projects, None, history.now),
        )
        write = step("write_offline (one Parquet file)", lambda: fs.write_offline(tenant, rows))
        step("materialize", lambda: fs.materialize(history.now + timedelta(seconds=1), since=write.earliest_event))
        entity_rows = [(p.project_id, p.cutoff) for p in history.projects]
        frame = step(
            f"training_frame ({args.projects} x {len(MODEL_FEATURES)})", lambda: fs.training_frame(tenant, entity_rows)
        )
        assert len(frame) == args.projects

        from maestro.repositories.online_features import read_online_features

        store = fs.feature_store()
        refs = [f"{view_for(n)}:{n}" for n in MODEL_FEATURES]
        ids = [p.project_id for p in history.projects]
        counter = iter(range(10**9))

        def ours():
            read_online_features(tenant, [ids[next(counter) % len(ids)]], MODEL_FEATURES)

        def feast_online():
            store.get_online_features(
                features=refs, entity_rows=[{"tenant_project": f"{tenant}#{ids[next(counter) % len(ids)]}"}]
            )

        ours()
        feast_online()
        ours_p50, ours_p95 = timed(ours, args.reads)
        feast_p50, feast_p95 = timed(feast_online, args.reads)

    width = max(len(name) for name, _ in figures)
    for name, seconds in figures:
        print(f"{name:<{width}}  {seconds:7.2f} s")
    print(f"online read, 1 project x {len(MODEL_FEATURES)} features (5 tables, one BatchGetItem):")
    print(f"  read_online_features (no Feast)   p50 {ours_p50:6.1f} ms  p95 {ours_p95:6.1f} ms")
    print(f"  Feast get_online_features (base)  p50 {feast_p50:6.1f} ms  p95 {feast_p95:6.1f} ms")


if __name__ == "__main__":
    main()
