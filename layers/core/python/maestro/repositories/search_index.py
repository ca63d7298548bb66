"""Storage of the per-tenant search index: its entries (rows of the artifact-vectors table, which double as the
change log a warm index refreshes from) and its snapshot (one S3 object per tenant, written whole by one PUT, so
a reader sees the old snapshot or the new one, never a mixture)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from maestro.observability import logger
from maestro.repositories.schema import Artifact, ArtifactVector
from maestro.repositories.tables import ensure_bound

SNAPSHOT_PREFIX = "search-index/"
# The record fields search reads (and builds the BM25 and embedded text from); usage and impact live beside them.
ENTRY_FIELDS = ("name", "type", "description", "tags", "metadata", "deprecated", "updated_at")
BATCH_GET_MAX = 100  # DynamoDB's BatchGetItem cap


def now_ms() -> int:
    return int(time.time() * 1000)


# When this process last wrote an entry of a tenant (monotonic clock): a warm reader in the same process reads
# the changes on its next search, so a client sees its own writes at once (maestro.services.search_index).
_local_writes: dict[str, float] = {}
# The row of a tenant's partition that counts the writes to its entries (ArtifactVector.change_count); artifact ids
# start with "art", so no artifact can take this key.
CHANGE_COUNTER_KEY = "~changes"


def note_written(tenant_id: str) -> None:
    """After a write (or a failed attempt) to a tenant's entries: this process reads the changes on its next
    search, and every other warm reader does on its next one, since the tenant's change counter moved."""
    _local_writes[tenant_id] = time.monotonic()
    try:
        ensure_bound()
        ArtifactVector._get_connection().update_item(
            tenant_id, CHANGE_COUNTER_KEY, actions=[ArtifactVector.change_count.add(1)]
        )
    except (ClientError, BotoCoreError, PynamoDBException) as error:
        # The write itself stands; other readers see it at their next periodic read of the change log
        # (maestro.services.search_index.REFRESH_INTERVAL_S) instead of at once.
        logger.warning("search index change counter not moved", extra={"tenant_id": tenant_id, "error": str(error)})


def change_count(tenant_id: str) -> int:
    """How many writes the tenant's entries have had (one strongly consistent GetItem of one small row)."""
    ensure_bound()
    answer = ArtifactVector._get_connection().get_item(
        tenant_id, CHANGE_COUNTER_KEY, consistent_read=True, attributes_to_get=["change_count"]
    )
    return int(answer.get("Item", {}).get("change_count", {}).get("N", 0))


def last_written(tenant_id: str) -> float:
    return _local_writes.get(tenant_id, float("-inf"))


def snapshot_key(tenant_id: str) -> str:
    return f"{SNAPSHOT_PREFIX}{tenant_id}/snapshot.npz"


def entry_of(view: dict[str, Any]) -> dict[str, Any]:
    """The index entry of an artifact view (maestro.services.artifacts.artifact_view)."""
    return {name: view.get(name) for name in ENTRY_FIELDS}


# ---------------------------------------------------------------- entries: update actions for transactions
def entry_actions(view: dict[str, Any], at_ms: int) -> list:
    """What a request that created or edited an artifact writes to its index entry (in its own transaction when
    it has one): the record fields, and usage and impact when the entry has none yet."""
    return [
        ArtifactVector.entry.set(entry_of(view)),
        ArtifactVector.record_revision.set(int(view["revision"])),
        ArtifactVector.usage_count.set(ArtifactVector.usage_count | int(view.get("usage_count") or 0)),
        ArtifactVector.impact_score.set(ArtifactVector.impact_score | float(view.get("impact_score") or 0)),
        ArtifactVector.deleted.set(False),
        ArtifactVector.updated_ms.set(at_ms),
    ]


def newer_revision_condition(revision: int):
    """An entry is only ever replaced by the same or a later revision of its artifact."""
    return ArtifactVector.record_revision.does_not_exist() | (ArtifactVector.record_revision <= revision)


def removal_actions(at_ms: int) -> list:
    return [ArtifactVector.deleted.set(True), ArtifactVector.updated_ms.set(at_ms)]


def usage_actions(at_ms: int) -> list:
    return [ArtifactVector.usage_count.add(1), ArtifactVector.updated_ms.set(at_ms)]


def entry_key(tenant_id: str, artifact_id: str) -> ArtifactVector:
    return ArtifactVector(tenant_id, artifact_id)


def update_entry(tenant_id: str, artifact_id: str, actions: list, condition=None) -> bool:
    """Apply actions to an entry (created when absent); False when the condition failed."""
    from pynamodb.exceptions import UpdateError

    from maestro.repositories.tables import is_condition_failure

    ensure_bound()
    try:
        ArtifactVector._get_connection().update_item(tenant_id, artifact_id, actions=actions, condition=condition)
        return True
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise
    finally:  # a failed or timed-out write may still have landed: reading the changes again is harmless
        note_written(tenant_id)


def set_impact(tenant_id: str, artifact_id: str, score: float) -> None:
    # Only an entry that exists: the impact job must not create entries for artifacts search does not index.
    update_entry(
        tenant_id,
        artifact_id,
        [ArtifactVector.impact_score.set(score), ArtifactVector.updated_ms.set(now_ms())],
        condition=ArtifactVector.entry.exists(),
    )


def touch(tenant_id: str, artifact_id: str) -> None:
    """A field shown in search results changed outside the entry (the version counts): a new `updated_ms` tells
    warm readers to read the artifact again (maestro.services.artifacts.search keeps views by entry version)."""
    update_entry(
        tenant_id, artifact_id, [ArtifactVector.updated_ms.set(now_ms())], condition=ArtifactVector.entry.exists()
    )


# ---------------------------------------------------------------- entries: reading
def changed_since(tenant_id: str, since_ms: int) -> Iterator[ArtifactVector]:
    """Entries written after `since_ms` (strongly consistent: the index is local to the table)."""
    ensure_bound()
    return ArtifactVector.by_updated.query(tenant_id, ArtifactVector.updated_ms > since_ms, consistent_read=True)


def hydrate(tenant_id: str, artifact_ids: Iterable[str]) -> dict[str, Artifact]:
    """The live artifacts among `artifact_ids`, read with one consistent BatchGetItem per 100 ids."""
    ensure_bound()
    ids = list(dict.fromkeys(artifact_ids))
    found: dict[str, Artifact] = {}
    for start in range(0, len(ids), BATCH_GET_MAX):
        keys = [(tenant_id, artifact_id) for artifact_id in ids[start : start + BATCH_GET_MAX]]
        for artifact in Artifact.batch_get(keys, consistent_read=True):
            if not artifact.deleted:
                found[artifact.artifact_id] = artifact
    return found


# ---------------------------------------------------------------- snapshot
def read_snapshot(tenant_id: str, if_none_match: str | None = None) -> tuple[bytes, str] | None:
    """The tenant's snapshot and its ETag: one GET. None when there is none (or, with `if_none_match`, when it
    has not changed)."""
    from maestro.aws_clients import client
    from maestro.settings import get_settings

    kwargs = {"IfNoneMatch": if_none_match} if if_none_match else {}
    try:
        response = client("s3").get_object(Bucket=get_settings().artifact_bucket, Key=snapshot_key(tenant_id), **kwargs)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchKey", "404", "304", "NotModified") or status in (304, 404):
            return None
        raise
    return response["Body"].read(), response["ETag"]


def write_snapshot(tenant_id: str, data: bytes) -> str:
    """One PUT: S3 replaces the object atomically, readers see the previous snapshot until it completes.
    Returns the new object's ETag."""
    from maestro.aws_clients import client
    from maestro.settings import get_settings

    return client("s3").put_object(
        Bucket=get_settings().artifact_bucket,
        Key=snapshot_key(tenant_id),
        Body=data,
        ContentType="application/octet-stream",
    )["ETag"]
