"""What the outcome models predict, and when: pure Python (no numpy), so routes that only name the targets do not
load the history module (numpy) into every function's cold start."""
from __future__ import annotations

TARGET_NAMES = ("success_score", "duration_days", "compute_cost_usd")
# A prediction is made this many days after a project starts (maestro.domain.meta.history.features).
CUTOFF_DAYS = 14
