"""Tenant quotas: documented defaults, per-tenant overrides, and the verdict when one is reached."""

from __future__ import annotations

from dataclasses import dataclass

from maestro.domain.errors import QuotaExceeded

GIB = 1024**3

# Defaults for every tenant; an operator can override any of them per tenant (Tenant.quota_overrides).
DEFAULT_QUOTAS: dict[str, int] = {
    "users": 100,
    "projects": 2_000,
    "artifacts": 20_000,
    "stored_bytes": 500 * GIB,
}


def effective_quotas(overrides: dict | None) -> dict[str, int]:
    return {**DEFAULT_QUOTAS, **{k: int(v) for k, v in (overrides or {}).items() if k in DEFAULT_QUOTAS}}


@dataclass(frozen=True)
class QuotaUsage:
    name: str
    used: int
    limit: int

    def to_body(self) -> dict:
        return {"used": self.used, "limit": self.limit, "remaining": max(self.limit - self.used, 0)}


def quota_exceeded(name: str, limit: int) -> QuotaExceeded:
    return QuotaExceeded(f"the tenant's {name} quota ({limit}) is reached", quota=name, limit=limit)
