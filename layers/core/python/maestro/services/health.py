"""Platform health: the storage the functions need, probed now."""

from __future__ import annotations

from maestro.domain.health import HealthReport, check_health
from maestro.repositories.health_probes import storage_probes


def storage_health() -> HealthReport:
    """DynamoDB and S3 reachability, each with its latency."""
    return check_health(storage_probes())
