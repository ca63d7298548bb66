"""Artifact impact at scale: compute_impact_scores over 100k usages (5k completed projects x 2k artifacts, 200
bootstrap refits) beside the plain average of the same data, timed in the same run. Prints both times and the
Spearman rank correlation of each method with the artifacts' true effects.

The history is confounded the way real ones are: each artifact leans toward one problem class (classes differ
in baseline success) and toward simple or complex projects (complexity lowers success), so an artifact's plain
average mixes its effect with who uses it. 10% of artifacts truly help (+2..+10 points), 10% hurt.

    .venv/bin/python benchmarks/impact.py [--projects 5000] [--artifacts 2000] [--per-project 20] [--bootstrap 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core" / "python"))

from maestro.domain.impact import CompletedProject, Usage, compute_impact_scores, plain_average_scores  # noqa: E402

CLASS_BASELINE = {"tabular": 55.0, "vision": 68.0, "nlp": 50.0, "forecasting": 45.0, "recsys": 60.0}


def tenant_history(n_projects: int, n_artifacts: int, per_project: int, seed: int = 7):
    """(projects, usages, true effect per artifact id): exactly n_projects * per_project distinct usages."""
    rng = np.random.default_rng(seed)
    classes = list(CLASS_BASELINE)
    true_effect = np.zeros(n_artifacts)
    kind = rng.random(n_artifacts)
    true_effect[kind < 0.1] = rng.uniform(2, 10, (kind < 0.1).sum())
    true_effect[kind > 0.9] = -rng.uniform(2, 10, (kind > 0.9).sum())
    popularity = 1.0 / (1.0 + np.arange(n_artifacts)) ** 0.6  # long tail: a few artifacts everyone uses
    rng.shuffle(popularity)
    home_class = rng.integers(len(classes), size=n_artifacts)
    complexity_lean = rng.normal(0, 1, n_artifacts)

    project_class = rng.integers(len(classes), size=n_projects)
    complexity = rng.normal(0, 1, n_projects)
    team = rng.integers(1, 15, n_projects)
    log_weight = (
        np.log(popularity)[None, :]
        + 1.2 * (project_class[:, None] == home_class[None, :])
        + 0.8 * complexity[:, None] * complexity_lean[None, :]
    )
    # Gumbel top-k: per_project distinct artifacts per project, drawn with probability ~ exp(log_weight)
    keys = log_weight + rng.gumbel(size=log_weight.shape)
    chosen = np.argpartition(-keys, per_project, axis=1)[:, :per_project]

    baseline = np.array([CLASS_BASELINE[classes[c]] for c in project_class])
    success = (
        baseline
        - 6.0 * complexity
        + 2.0 * np.log(team)
        + true_effect[chosen].sum(axis=1)
        + rng.normal(0, 8, n_projects)
    )
    success = np.clip(success, 0, 100)
    projects = [
        CompletedProject(f"p{i}", float(success[i]), classes[project_class[i]], float(complexity[i]), float(team[i]))
        for i in range(n_projects)
    ]
    usages = [Usage(f"p{i}", f"a{j}") for i in range(n_projects) for j in chosen[i]]
    return projects, usages, {f"a{j}": float(true_effect[j]) for j in range(n_artifacts)}


def spearman(a: list[float], b: list[float]) -> float:
    return float(np.corrcoef(_average_ranks(np.asarray(a)), _average_ranks(np.asarray(b)))[0, 1])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]  # ties share their mean rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--artifacts", type=int, default=2000)
    parser.add_argument("--per-project", type=int, default=20)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()

    projects, usages, truth = tenant_history(args.projects, args.artifacts, args.per_project)
    print(
        f"history: {len(projects)} completed projects, {len(usages)} usages, {args.artifacts} artifacts; "
        f"{os.cpu_count()} CPUs; numpy {np.__version__}"
    )

    started = time.perf_counter()
    plain = plain_average_scores(projects, usages)
    plain_seconds = time.perf_counter() - started

    started = time.perf_counter()
    impact = compute_impact_scores(projects, usages, bootstrap_samples=args.bootstrap)
    impact_seconds = time.perf_counter() - started

    print(f"plain average (baseline):   {plain_seconds:8.3f} s")
    print(
        f"impact scores ({args.bootstrap} refits): {impact_seconds:8.3f} s  "
        f"({impact_seconds / plain_seconds:.0f}x the baseline)"
    )
    print("methods:", dict(Counter(s.method for s in impact.values())))

    ids = sorted(plain)
    tenant_mean = float(np.mean([p.success_score for p in projects]))
    nonzero = [a for a in ids if truth[a] != 0]
    rows = [("all artifacts with a completed project", ids), ("artifacts with a non-zero true effect", nonzero)]
    for label, subset in rows:
        t = [truth[a] for a in subset]
        print(
            f"Spearman with true effects, {label} (n={len(subset)}): "
            f"impact {spearman([impact[a].score for a in subset], t):+.3f}, "
            f"plain average {spearman([plain[a] for a in subset], t):+.3f}"
        )
    impact_error = np.mean([abs(impact[a].effect - truth[a]) for a in ids])
    plain_error = np.mean([abs(plain[a] - tenant_mean - truth[a]) for a in ids])
    print(
        f"mean |estimated - true effect| in success points: impact {impact_error:.2f}, "
        f"plain average minus tenant mean {plain_error:.2f}"
    )
    regressed = [a for a in ids if impact[a].method == "ridge_regression"]
    covered = np.mean([impact[a].effect_ci_low <= truth[a] <= impact[a].effect_ci_high for a in regressed])
    print(
        f"regression intervals covering the true effect: {covered:.1%} of {len(regressed)} "
        f"(stated {impact[regressed[0]].confidence:.0%})"
    )


if __name__ == "__main__":
    main()
