"""The S3 drop zone: `ingest/<tenant_id>/<project_id>/<name>` objects, and the manifest each one gets."""

from __future__ import annotations

import re
from dataclasses import dataclass

INGEST_PREFIX = "ingest/"
RESULTS_PREFIX = "ingest-results/"
IMPORT_PREFIX = "imports/"  # project-import uploads: imports/<tenant_id>/<upload id>/<file name>
IMPORT_RESULTS_PREFIX = "import-results/"  # each import upload's state: import-results/<tenant_id>/<upload id>.json
QUARANTINE_PREFIX = "quarantine/"  # rejected lines of drops; the bucket expires them (infra/template/storage.py)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class DropLocation:
    tenant_id: str
    project_id: str
    name: str


def parse_drop_key(key: str) -> DropLocation | None:
    """The tenant, project and file name of a drop, or None when the key breaks the drop-zone layout."""
    if not key.startswith(INGEST_PREFIX):
        return None
    parts = key[len(INGEST_PREFIX) :].split("/", 2)
    if len(parts) != 3 or not parts[2] or not _ID.match(parts[0]) or not _ID.match(parts[1]):
        return None
    return DropLocation(*parts)


def result_key(object_key: str) -> str:
    """Where the manifest of a drop goes: the same path under ingest-results/, as JSON."""
    return RESULTS_PREFIX + object_key[len(INGEST_PREFIX) :] + ".json"
