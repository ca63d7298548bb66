"""What the platform says before it has learned: prior-based estimates for a tenant with too few completed
projects to train on (docs/meta-learning.md).

Below MIN_COMPLETED_FOR_MODEL completed projects no model is trained (a 20% hold-out of fewer than 8 projects
and 5-fold cross-validation on fewer than 32 say nothing reliable). The answer is then the tenant's own
outcomes: the mean (on the log scale for duration and cost, whose spread is multiplicative) with a Student-t
prediction interval for one new project, mean +- t(n-1) * sd * sqrt(1 + 1/n), which is wide for few projects,
as it should be. With fewer than two completed projects there is no spread to estimate: the point is the one
outcome there is (or none), the intervals are null, and `basis` stays "prior" — never a made-up figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist, fmean, stdev
from typing import Any

from maestro.domain.meta.targets import INTERVAL_LEVELS as LEVELS
from maestro.domain.meta.targets import INTERVAL_SPACE

MIN_COMPLETED_FOR_MODEL = 40
_BOUNDS = {"success_score": (0.0, 100.0), "duration_days": (0.0, math.inf), "compute_cost_usd": (0.0, math.inf)}
_FORWARD = {"identity": lambda v: v, "log": math.log, "log1p": math.log1p}
_INVERSE = {"identity": lambda v: v, "log": math.exp, "log1p": math.expm1}


def t_quantile(p: float, df: int) -> float:
    """Student-t quantile: exact for 1 and 2 degrees of freedom, else the Cornish-Fisher expansion around the
    normal quantile (error below 1e-3 from 3 degrees of freedom on, for the tails used here)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    v = float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def prior_estimate(target: str, outcomes: Sequence[float | None]) -> dict[str, Any]:
    """The prior answer for one target from the tenant's completed outcomes of it."""
    values = [float(v) for v in outcomes if v is not None and math.isfinite(float(v))]
    n = len(values)
    base: dict[str, Any] = {"model_version": None, "top_contributions": [], "completed_projects": n}
    if n == 0:
        return {
            **base,
            "point": None,
            "intervals": {level: None for level in LEVELS},
            "method": "no completed project yet: nothing to estimate from",
        }
    space = INTERVAL_SPACE[target]
    forward, inverse = _FORWARD[space], _INVERSE[space]
    z = [forward(max(v, 0.0) if space != "identity" else v) for v in values]
    centre = fmean(z)
    low_bound, high_bound = _BOUNDS[target]
    point = min(max(inverse(centre), low_bound), high_bound)
    if n < 2:
        return {
            **base,
            "point": round(point, 4),
            "intervals": {level: None for level in LEVELS},
            "method": "the tenant's only completed project; no spread to estimate intervals from",
        }
    spread = stdev(z) * math.sqrt(1 + 1 / n)
    intervals = {}
    for level, coverage in LEVELS.items():
        t = t_quantile(0.5 + coverage / 2, n - 1)
        low, high = inverse(centre - t * spread), inverse(centre + t * spread)
        intervals[level] = [
            round(min(max(low, low_bound), high_bound), 4),
            round(min(max(high, low_bound), high_bound), 4),
        ]
    return {
        **base,
        "point": round(point, 4),
        "intervals": intervals,
        "method": f"tenant mean of {n} completed projects ({'log scale, ' if space != 'identity' else ''}"
        f"Student-t prediction interval); a model is trained from {MIN_COMPLETED_FOR_MODEL}",
    }
