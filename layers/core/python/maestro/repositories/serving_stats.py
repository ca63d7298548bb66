"""Storage of served versions' daily rollups and drift references (one partition per artifact version)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from maestro.repositories.schema import ServingStats
from maestro.repositories.tables import ensure_bound, is_condition_failure

REFERENCE_DAY = "reference"
_CAS_ATTEMPTS = 4


def _key(tenant_id: str, artifact_id: str) -> str:
    return f"{tenant_id}#{artifact_id}"


def _day(version: str, day: str) -> str:
    return f"{version}#{day}"


def count(tenant_id: str, artifact_id: str, version: str, day: str, failed: bool, requests: int = 1) -> None:
    """Count one request (and an error when it failed) in the day's rollup: one atomic update, no read.
    `requests=0` counts only the error of a request counted already."""
    ensure_bound()
    ServingStats(_key(tenant_id, artifact_id), _day(version, day)).update(
        actions=[
            ServingStats.requests.add(requests),
            ServingStats.errors.add(1 if failed else 0),
            ServingStats.updated_at.set(datetime.now(UTC)),
        ]
    )


def merge_stats(tenant_id: str, artifact_id: str, version: str, day: str, merge: Callable[[dict], dict]) -> bool:
    """Fold summaries into the day's `stats` with `merge(old) -> new`, compare-and-swap on the revision. False
    when others kept winning the race (the caller keeps its summaries for the next try)."""
    ensure_bound()
    key, sort_key = _key(tenant_id, artifact_id), _day(version, day)
    for _ in range(_CAS_ATTEMPTS):
        try:
            current = ServingStats.get(key, sort_key, consistent_read=True)
        except DoesNotExist:
            current = None
        revision = int(current.revision or 0) if current else 0
        # The counters' update creates the item without a revision: revision 0 is "none yet".
        condition = (
            (ServingStats.revision == revision)
            if revision
            else (ServingStats.revision.does_not_exist() | (ServingStats.revision == 0))
        )
        try:
            ServingStats(key, sort_key).update(
                actions=[
                    ServingStats.stats.set(merge((current.stats if current else None) or {})),
                    ServingStats.revision.set(revision + 1),
                ],
                condition=condition,
            )
            return True
        except UpdateError as error:
            if not is_condition_failure(error):
                raise
    return False


def days(tenant_id: str, artifact_id: str, version: str, first_day: str, last_day: str) -> list[ServingStats]:
    """The version's daily rollups from first_day to last_day (YYYY-MM-DD, both included), oldest first."""
    ensure_bound()
    return list(
        ServingStats.query(
            _key(tenant_id, artifact_id),
            ServingStats.version_day.between(_day(version, first_day), _day(version, last_day)),
            consistent_read=True,
        )
    )


def get_reference(tenant_id: str, artifact_id: str, version: str) -> dict | None:
    ensure_bound()
    try:
        return ServingStats.get(_key(tenant_id, artifact_id), _day(version, REFERENCE_DAY), consistent_read=True).stats
    except DoesNotExist:
        return None


def put_reference(tenant_id: str, artifact_id: str, version: str, reference: dict) -> None:
    ensure_bound()
    ServingStats(
        _key(tenant_id, artifact_id), _day(version, REFERENCE_DAY), stats=reference, updated_at=datetime.now(UTC)
    ).save()
