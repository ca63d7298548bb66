"""The S3 drop zone: `ingest/<tenant_id>/<project_id>/<name>` objects, and the manifest each one gets."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

INGEST_PREFIX = "ingest/"
RESULTS_PREFIX = "ingest-results/"
QUARANTINE_PREFIX = "quarantine/"  # rejected lines of drops; the bucket expires them (infra/template.py)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class DropLocation:
    tenant_id: str
    project_id: str
    name: str


@dataclass(frozen=True)
class DropReceipt:
    """What the platform knows about one dropped object; written as its result manifest."""

    object_key: str
    status: str  # received | rejected
    size_bytes: int
    etag: str | None
    received_at: str
    tenant_id: str | None = None
    project_id: str | None = None
    reason: str | None = None

    def to_manifest(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_drop_key(key: str) -> DropLocation | None:
    """The tenant, project and file name of a drop, or None when the key breaks the drop-zone layout."""
    if not key.startswith(INGEST_PREFIX):
        return None
    parts = key[len(INGEST_PREFIX):].split("/", 2)
    if len(parts) != 3 or not parts[2] or not _ID.match(parts[0]) or not _ID.match(parts[1]):
        return None
    return DropLocation(*parts)


def result_key(object_key: str) -> str:
    """Where the manifest of a drop goes: the same path under ingest-results/, as JSON."""
    return RESULTS_PREFIX + object_key[len(INGEST_PREFIX):] + ".json"


def receive_drop(object_key: str, size_bytes: int, etag: str | None, now: datetime | None = None) -> DropReceipt:
    """Accept a dropped object for ingestion, or reject it with the reason when its key is malformed."""
    received_at = (now or datetime.now(timezone.utc)).isoformat()
    location = parse_drop_key(object_key)
    if location is None:
        return DropReceipt(object_key, "rejected", size_bytes, etag, received_at,
                           reason="key must be ingest/<tenant_id>/<project_id>/<file name>")
    return DropReceipt(object_key, "received", size_bytes, etag, received_at,
                       tenant_id=location.tenant_id, project_id=location.project_id)
