"""S3 drops: an object under `ingest/<tenant_id>/<project_id>/<name>` is streamed through its format's parser
and the one ingestion pipeline. Bad lines go to `quarantine/...` with their line number and reason; a result
manifest goes to `ingest-results/...`. Memory stays flat: lines are read as they arrive, events are written in
batches, and quarantined lines spool to /tmp before they are uploaded."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from maestro.aws_clients import client
from maestro.domain.errors import NotFound
from maestro.domain.identity.principals import Caller
from maestro.ingestion.drops import INGEST_PREFIX, QUARANTINE_PREFIX, parse_drop_key, result_key
from maestro.repositories import identity as identity_store
from maestro.repositories import object_store
from maestro.repositories import projects as project_store
from maestro.repositories.quarantine import QuarantineWriter
from maestro.services.context import RequestMeta, audit_as
from maestro.services.metrics_ingestion import Pipeline
from maestro.services.projects import require_project
from maestro.settings import get_settings

FIRST_ERRORS = 20
UPLOAD_URL_SECONDS = 900


def quarantine_key(object_key: str) -> str:
    return QUARANTINE_PREFIX + object_key[len(INGEST_PREFIX) :] + ".rejected.jsonl"


def ingest_drop(object_key: str, *, etag: str | None = None) -> dict[str, Any]:
    """Ingest one dropped object and write its manifest; returns the manifest."""
    from maestro.ingestion.formats import FormatError, detect_format, parse

    started = datetime.now(UTC)
    manifest: dict[str, Any] = {"object_key": object_key, "etag": etag, "started_at": started.isoformat()}
    location = parse_drop_key(object_key)
    if location is None:
        return _finish(
            object_key,
            manifest | {"status": "rejected", "reason": "key must be ingest/<tenant_id>/<project_id>/<file name>"},
        )
    manifest |= {"tenant_id": location.tenant_id, "project_id": location.project_id}
    if (
        identity_store.get_tenant(location.tenant_id) is None
        or project_store.get_project(location.tenant_id, location.project_id) is None
    ):
        return _finish(object_key, manifest | {"status": "rejected", "reason": "unknown tenant or project"})
    s3_object = client("s3").get_object(Bucket=get_settings().artifact_bucket, Key=object_key)
    fmt = detect_format(object_key, s3_object.get("ContentType"))
    if fmt is None:
        return _finish(
            object_key,
            manifest
            | {
                "status": "rejected",
                "reason": "unknown format: use .jsonl, .gitlog, .xml (JUnit) or .json (workflow runs)",
            },
        )
    quarantine = QuarantineWriter()
    pipeline = Pipeline(
        location.tenant_id,
        source=f"s3:{fmt}",
        project_id=location.project_id,
        on_reject=quarantine.add,
        keep_rejections=FIRST_ERRORS,
    )
    # The body itself: parse() splits lines with a bounded line length and exact \n numbering.
    for line, item in parse(fmt, s3_object["Body"], fallback_timestamp=s3_object["LastModified"]):
        if isinstance(item, FormatError):
            pipeline.reject(line, item.reason, item.raw_excerpt)
        else:
            pipeline.add(line, item)
    result = pipeline.finish()
    manifest |= {
        "status": "ingested",
        "format": fmt,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected_count,
        "first_errors": result.rejected,
    }
    if quarantine.count:
        quarantine.upload(quarantine_key(object_key))
        manifest["quarantine_key"] = quarantine_key(object_key)
    return _finish(object_key, manifest)


def _finish(object_key: str, manifest: dict[str, Any]) -> dict[str, Any]:
    manifest["finished_at"] = datetime.now(UTC).isoformat()
    object_store.put_json(result_key(object_key), manifest)
    return manifest


def create_upload(
    caller: Caller, project_id: str, file_name: str, content_type: str | None, meta: RequestMeta
) -> dict[str, Any]:
    """A presigned PUT for one drop into this project's part of the drop zone (15 minutes)."""
    require_project(caller.tenant_id, project_id)
    upload_id = f"{uuid.uuid4().hex[:12]}-{file_name}"
    key = f"{INGEST_PREFIX}{caller.tenant_id}/{project_id}/{upload_id}"
    params = {"Bucket": get_settings().artifact_bucket, "Key": key}
    headers = {}
    if content_type:
        params["ContentType"] = headers["Content-Type"] = content_type
    url = client("s3").generate_presigned_url("put_object", Params=params, ExpiresIn=UPLOAD_URL_SECONDS)
    audit_as(caller, "metrics.drop_upload", "project", project_id, meta, changes={"after": {"key": key}})
    return {
        "id": upload_id,
        "key": key,
        "result_key": result_key(key),
        "upload": {"url": url, "method": "PUT", "headers": headers, "expires_in": UPLOAD_URL_SECONDS},
    }


UPLOAD_ID = re.compile(r"^[0-9a-f]{12}-[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def upload_status(caller: Caller, project_id: str, upload_id: str) -> dict[str, Any]:
    """Where a drop is: awaiting_upload (no object yet), processing (landed, no manifest yet), or its manifest's
    status (ingested or rejected) with the manifest: accepted, duplicates, rejected and the first errors."""
    require_project(caller.tenant_id, project_id)
    if not UPLOAD_ID.match(upload_id):
        raise NotFound(f"ingest upload {upload_id} not found")
    key = f"{INGEST_PREFIX}{caller.tenant_id}/{project_id}/{upload_id}"
    view: dict[str, Any] = {"id": upload_id, "project_id": project_id, "key": key, "manifest": None}
    try:
        manifest = object_store.get_json(result_key(key))
    except Exception as error:
        if not _missing(error):
            raise
    else:
        manifest = {k: v for k, v in manifest.items() if k not in ("tenant_id", "etag")}
        return view | {"state": manifest.get("status", "ingested"), "manifest": manifest}
    try:
        client("s3").head_object(Bucket=get_settings().artifact_bucket, Key=key)
    except Exception as error:
        if not _missing(error):
            raise
        return view | {"state": "awaiting_upload"}
    return view | {"state": "processing"}


def _missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404", "NotFound")
