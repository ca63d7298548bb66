"""What the outcome models predict, and when: pure Python (no numpy), so routes that only name the targets do not
load the history module (numpy) into every function's cold start."""

from __future__ import annotations

TARGET_NAMES = ("success_score", "duration_days", "compute_cost_usd")
RECOMMENDER = "recommender"  # the artifact recommender is versioned and championed beside the three targets
# A prediction is made this many days after a project starts (maestro.domain.meta.history.features).
CUTOFF_DAYS = 14
INTERVAL_LEVELS = {"80": 0.80, "90": 0.90}
# The scale each target's spread is estimated on (intervals of the models and of the priors alike): durations and
# costs are multiplicative in their causes.
INTERVAL_SPACE = {"success_score": "identity", "duration_days": "log", "compute_cost_usd": "log1p"}


def coverage_standard_errors(projects: int) -> dict[str, float] | None:
    """How far a coverage measured on `projects` projects may stray by chance (one binomial standard error, if
    the interval truly covers its nominal share): 120 held-out projects measure an 80% interval to +/-3.7 points."""
    if projects < 1:
        return None
    return {level: round((nominal * (1 - nominal) / projects) ** 0.5, 4) for level, nominal in INTERVAL_LEVELS.items()}
