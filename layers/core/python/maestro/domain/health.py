"""Platform health: which dependencies answer, as a verdict the API can report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from maestro import __version__


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None


@dataclass(frozen=True)
class HealthReport:
    version: str
    dependencies: list[DependencyStatus]

    @property
    def healthy(self) -> bool:
        return all(d.ok for d in self.dependencies)

    @property
    def failing(self) -> list[str]:
        return [d.name for d in self.dependencies if not d.ok]

    def to_body(self) -> dict:
        return {
            "status": "ok" if self.healthy else "degraded",
            "version": self.version,
            "dependencies": {
                d.name: {"ok": d.ok, "latency_ms": round(d.latency_ms, 1), **({"detail": d.detail} if d.detail else {})}
                for d in self.dependencies
            },
        }


def check_health(probes: dict[str, Callable[[], None]]) -> HealthReport:
    """Run each probe (it raises when its dependency is unreachable) and collect the verdicts."""
    results = []
    for name, probe in probes.items():
        started = time.perf_counter()
        try:
            probe()
            results.append(DependencyStatus(name, True, (time.perf_counter() - started) * 1000))
        except Exception as exc:  # any failure of a probe means the dependency is not usable
            results.append(DependencyStatus(name, False, (time.perf_counter() - started) * 1000, type(exc).__name__))
    return HealthReport(__version__, results)
