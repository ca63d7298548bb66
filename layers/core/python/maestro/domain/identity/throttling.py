"""Login throttling: after 5 failed logins within 15 minutes an account is locked for 15 minutes, whatever
password is offered meanwhile."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)


def recent_failures(failures: list[datetime], now: datetime) -> list[datetime]:
    return [at for at in failures if now - at < FAILURE_WINDOW]


def should_lock(failures: list[datetime], now: datetime) -> bool:
    return len(recent_failures(failures, now)) >= MAX_FAILED_LOGINS


def lock_remaining_seconds(locked_until: datetime | None, now: datetime) -> int | None:
    """Seconds left on a lock (for Retry-After), or None when the account is not locked."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))
