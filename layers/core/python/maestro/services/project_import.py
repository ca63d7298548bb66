"""Bring a team's history in: past and running projects with their outcomes, members and usages, in batches.

Each row carries the team's own `external_id`; the project's id is derived from it (per tenant), so the same row
imported twice finds the project it made and, when nothing changed, leaves it alone (counted as unchanged). Every
row is validated and its artifacts resolved before anything of it is written, so a bad row is reported with its
index and reason and never blocks the others. A row's project, outcome and score are one write; its members and
usages follow with ids derived from the row, so a retry after a failure completes the row instead of doubling it.

Members join and usages are planned at the project's start (they were part of it from the beginning), so the
features computed at a project's cut-off see them exactly as they would have for a project tracked live.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from maestro.domain.errors import Conflict, DomainError, NotFound, PayloadTooLarge
from maestro.domain.identity.principals import Caller
from maestro.domain.project_input import (
    MAX_IMPORT_ROWS,
    DateConflict,
    ImportFileError,
    ImportRow,
    consistent_start,
    start_of_day,
)
from maestro.domain.projects import Outcome, ProjectStatus, success_score
from maestro.ingestion.drops import IMPORT_PREFIX, IMPORT_RESULTS_PREFIX
from maestro.repositories import artifact_versions as version_store
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import events
from maestro.repositories import identity as identity_store
from maestro.repositories import projects as store
from maestro.repositories import usage as usage_store
from maestro.repositories.schema import ArtifactUsage, Project, TeamMember, child_key
from maestro.services.context import RequestMeta, audit_as

EDITABLE = ("name", "description", "complexity_score", "team_size", "repositories", "mlflow_experiment", "features")


def imported_project_id(tenant_id: str, external_id: str) -> str:
    """The project id an external id maps to in this tenant (same length and alphabet as created ids)."""
    return "prj_" + hashlib.sha256(f"{tenant_id}\x1f{external_id}".encode()).hexdigest()[:32]


def _derived_id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def row_fingerprint(row: ImportRow) -> str:
    canonical = json.dumps(row.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ImportResult:
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, external_id: Any, reason: str, fields: list[str] | None = None) -> None:
        item: dict[str, Any] = {
            "index": index,
            "external_id": external_id if isinstance(external_id, str) else None,
            "reason": reason,
        }
        if fields:
            item["fields"] = fields
        self.rejected.append(item)

    def to_body(self, max_rejected: int | None = None) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "total": self.created + self.updated + self.unchanged + len(self.rejected),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_count": len(self.rejected),
            "rejected": self.rejected if max_rejected is None else self.rejected[:max_rejected],
            "projects": self.rows,
        }

    def add(self, other: ImportResult, offset: int) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += [{**r, "index": r["index"] + offset} for r in other.rejected]


class RowRefused(Exception):
    def __init__(self, reason: str, fields: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason, self.fields = reason, fields


def _validation_reason(error: ValidationError) -> tuple[str, list[str]]:
    items = error.errors(include_url=False, include_input=False)
    fields = [".".join(str(p) for p in item["loc"]) or "(row)" for item in items]
    return "; ".join(f"{f}: {item['msg']}" for f, item in zip(fields, items, strict=True)), fields


class _Library:
    """The tenant's artifacts, read once per batch, by id and by (type, case-folded name); versions on demand."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        live = [a for a in artifact_store.tenant_artifacts(tenant_id) if not a.deleted]
        self.by_id = {a.artifact_id: a for a in live}
        self.by_name = {(a.type, a.name.casefold()): a for a in live}
        self._versions: dict[tuple[str, str], Any] = {}

    def resolve(self, index: int, usage) -> tuple[str, str]:
        where = f"usages.{index}"
        if usage.artifact_id:
            artifact = self.by_id.get(usage.artifact_id)
            named = usage.artifact_id
        else:
            artifact = self.by_name.get((usage.type, usage.name.casefold()))
            named = f"{usage.type}/{usage.name}"
        if artifact is None:
            raise RowRefused(f"{where}: artifact {named} not found", [where])
        key = (artifact.artifact_id, usage.version)
        if key not in self._versions:
            self._versions[key] = version_store.get_version(self.tenant_id, artifact.artifact_id, usage.version)
        found = self._versions[key]
        if found is None:
            raise RowRefused(f"{where}: version {usage.version} of {named} not found", [f"{where}.version"])
        if found.status != "ready":  # usages only on ready versions (pending or rejected: nothing usable)
            raise RowRefused(f"{where}: version {usage.version} of {named} is {found.status}, not ready", [where])
        return artifact.artifact_id, usage.version


class ProjectImport:
    """One batch of rows for one tenant (see the module docstring)."""

    def __init__(self, caller: Caller, *, dry_run: bool = False, now: datetime | None = None) -> None:
        self.caller, self.tenant_id, self.dry_run = caller, caller.tenant_id, dry_run
        self.now = now or datetime.now(UTC)
        self.library = _Library(self.tenant_id)
        tenant = identity_store.get_tenant(self.tenant_id)
        self.weights = tenant.success_weights if tenant else None
        from maestro.domain.identity.quotas import effective_quotas

        self.projects_quota = effective_quotas(tenant.quota_overrides if tenant else None)["projects"]
        self.history = {
            p.project_id: Outcome(**{k: p.outcome[k] for k in Outcome.__dataclass_fields__})
            for p in store.completed_projects(self.tenant_id)
            if p.outcome
        }
        self.outcome_projects: list[str] = []
        self.seen_external_ids: set[str] = set()
        self._users: dict[str, bool] = {}

    def run(self, rows: Iterable[tuple[int, Any]]) -> ImportResult:
        result = ImportResult(dry_run=self.dry_run)
        for index, raw in rows:
            external_id = raw.get("external_id") if isinstance(raw, dict) else None
            try:
                if isinstance(raw, ImportFileError):
                    raise RowRefused(str(raw))
                if not isinstance(raw, dict):
                    raise RowRefused("a row must be a JSON object")
                status, project_id = self.import_row(raw)
            except RowRefused as refused:
                result.reject(index, external_id, refused.reason, refused.fields)
                continue
            except DomainError as error:
                result.reject(index, external_id, error.detail)
                continue
            setattr(result, status, getattr(result, status) + 1)
            result.rows.append({"index": index, "external_id": external_id, "id": project_id, "status": status})
        if self.outcome_projects and not self.dry_run:
            # one recalculation of the tenant's artifact impact for the whole batch, not one per row
            events.publish(
                events.SOURCE_REGISTRY,
                "ProjectOutcomeRecorded",
                {"tenant_id": self.tenant_id, "project_id": self.outcome_projects[-1], "imported": True},
            )
        return result

    # ------------------------------------------------------------ one row
    def import_row(self, raw: dict[str, Any]) -> tuple[str, str]:
        """Validate, resolve and write one row; ("created" | "updated" | "unchanged", project id)."""
        try:
            row = ImportRow.model_validate(raw)
        except ValidationError as error:
            raise RowRefused(*_validation_reason(error)) from None
        if row.external_id in self.seen_external_ids:
            raise RowRefused(f"external_id {row.external_id} appears twice in this import", ["external_id"])
        self.seen_external_ids.add(row.external_id)
        outcome = row.outcome.model_dump(mode="json") if row.outcome else None
        try:
            start = consistent_start(row.start_date, outcome, self.now)
        except DateConflict as conflict:
            raise RowRefused(str(conflict), list(conflict.fields)) from None
        usages = [self.library.resolve(i, u) for i, u in enumerate(row.usages)]
        for i, member in enumerate(row.members):
            if member.user_id and not self._user_exists(member.user_id):
                raise RowRefused(f"members.{i}.user_id: user {member.user_id} not found", [f"members.{i}.user_id"])
        project_id = imported_project_id(self.tenant_id, row.external_id)
        existing = store.get_project(self.tenant_id, project_id)
        fingerprint = row_fingerprint(row)
        if existing is not None and existing.import_fingerprint == fingerprint:
            return "unchanged", project_id
        if self.dry_run:
            return ("updated" if existing is not None else "created"), project_id
        scored = self._score(project_id, outcome) if outcome else None
        if existing is None:
            self._create(row, project_id, start, outcome, scored)
        else:
            self._update(existing, row, start, outcome, scored)
        joined = start_of_day(start) if start else self.now
        for member in row.members:
            self._add_member(project_id, member, joined)
        for artifact_id, version in usages:
            self._record_usage(project_id, artifact_id, version, joined)
        # last: until the fingerprint is written, a re-import redoes the row (members and usages are idempotent)
        store.set_import_fingerprint(self.tenant_id, project_id, fingerprint)
        if outcome:
            self.outcome_projects.append(project_id)
        return ("created" if existing is None else "updated"), project_id

    def _user_exists(self, user_id: str) -> bool:
        if user_id not in self._users:
            user = identity_store.get_user(self.tenant_id, user_id)
            self._users[user_id] = user is not None and user.deleted_at is None
        return self._users[user_id]

    def _score(self, project_id: str, outcome: dict[str, Any]):
        mine = Outcome(**{k: outcome[k] for k in Outcome.__dataclass_fields__})
        scored = success_score(mine, [o for p, o in self.history.items() if p != project_id], self.weights)
        self.history[project_id] = mine
        return scored

    def _outcome_fields(self, outcome: dict[str, Any] | None, scored) -> dict[str, Any]:
        if not outcome:
            return {}
        return {"outcome": {**outcome, "success": scored.to_body()}, "success_score": round(scored.score, 2)}

    def _create(self, row: ImportRow, project_id: str, start: date | None, outcome, scored) -> None:
        status = ProjectStatus.COMPLETED.value if outcome else ProjectStatus.ACTIVE.value
        fields = row.model_dump(mode="json", include={*EDITABLE, "problem_class"})
        project = Project(
            self.tenant_id,
            project_id,
            created_at=self.now,
            updated_at=self.now,
            status=status,
            status_key=store.status_key(status, self.now, project_id),
            problem_class_key=store.class_key(row.problem_class.value, self.now, project_id),
            start_date=start.isoformat() if start else None,
            external_id=row.external_id,
            **{k: v for k, v in fields.items() if v is not None},
            **self._outcome_fields(outcome, scored),
        )
        try:
            store.create_project(project, self.projects_quota)
        except Conflict:
            raise RowRefused(
                f"external_id {row.external_id} belonged to a project that was deleted", ["external_id"]
            ) from None

    def _update(self, project: Project, row: ImportRow, start: date | None, outcome, scored) -> None:
        fields = row.model_dump(mode="json", include=set(EDITABLE))
        actions = [getattr(Project, name).set(value) for name, value in fields.items() if value is not None]
        actions += [store.start_date_action(start), Project.updated_at.set(self.now)]
        if outcome:
            extra = self._outcome_fields(outcome, scored)
            actions += [
                Project.outcome.set(extra["outcome"]),
                Project.success_score.set(extra["success_score"]),
                Project.status.set(ProjectStatus.COMPLETED.value),
                Project.status_key.set(
                    store.status_key(ProjectStatus.COMPLETED.value, project.created_at, project.project_id)
                ),
            ]
        store.update_project(project, actions, expected_version=None)

    def _add_member(self, project_id: str, member, joined: datetime) -> None:
        member_id = _derived_id("mem_", project_id, member.display_name.casefold(), member.role.value)
        fields = member.model_dump(mode="json")
        store.add_member_once(
            TeamMember(
                child_key(self.tenant_id, project_id),
                member_id,
                created_at=joined,
                **{k: v for k, v in fields.items() if v is not None},
            )
        )

    def _record_usage(self, project_id: str, artifact_id: str, version: str, planned_at: datetime) -> None:
        usage_store.record_usage(
            ArtifactUsage(
                child_key(self.tenant_id, artifact_id),
                usage_store.usage_key(project_id, version),
                tenant_project=child_key(self.tenant_id, project_id),
                artifact_version=f"{artifact_id}#{version}",
                context="import",
                recorded_by=self.caller.actor,
                recorded_at=planned_at,
            ),
            self.tenant_id,
            artifact_id,
            version,
        )


def import_projects(caller: Caller, rows: list[Any], meta: RequestMeta, *, dry_run: bool = False) -> ImportResult:
    """Import up to MAX_IMPORT_ROWS rows (JSON objects) in one call."""
    if len(rows) > MAX_IMPORT_ROWS:
        raise PayloadTooLarge(
            f"at most {MAX_IMPORT_ROWS} projects per import; send {len(rows)} in several, or upload a file",
            limit=MAX_IMPORT_ROWS,
        )
    result = ProjectImport(caller, dry_run=dry_run).run(enumerate(rows))
    if not dry_run:
        _audit(caller, meta, result, source="api")
    return result


def _audit(caller: Caller, meta: RequestMeta, result: ImportResult, source: str) -> None:
    audit_as(
        caller,
        "project.import",
        "project",
        None,
        meta,
        changes={
            "after": {
                "source": source,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": len(result.rejected),
            }
        },
    )


# ---------------------------------------------------------------- uploads (large files through S3)
UPLOAD_URL_SECONDS = 900
FIRST_ERRORS = 20
PROGRESS_EVERY_ROWS = 100


def _upload_key(tenant_id: str, upload_id: str, file_name: str) -> str:
    return f"{IMPORT_PREFIX}{tenant_id}/{upload_id}/{file_name}"


def _status_key(tenant_id: str, upload_id: str) -> str:
    return f"{IMPORT_RESULTS_PREFIX}{tenant_id}/{upload_id}.json"


def create_import_upload(caller: Caller, file_name: str, meta: RequestMeta, *, dry_run: bool = False) -> dict[str, Any]:
    """A presigned PUT for one import file (CSV or JSONL, 15 minutes); it is imported when it lands."""
    from maestro.aws_clients import client
    from maestro.domain.errors import InvalidInput
    from maestro.domain.project_input import import_format
    from maestro.repositories import object_store
    from maestro.settings import get_settings

    file_format = import_format(file_name)
    if file_format is None:
        raise InvalidInput("file_name must end in .csv or .jsonl", field="file_name")
    upload_id = f"imp_{uuid.uuid4().hex}"
    key = _upload_key(caller.tenant_id, upload_id, file_name)
    content_type = "text/csv" if file_format == "csv" else "application/x-ndjson"
    status = {
        "id": upload_id,
        "file_name": file_name,
        "format": file_format,
        "state": "awaiting_upload",
        "dry_run": dry_run,
        "key": key,
        "caller": caller.to_context(),
        "created_at": datetime.now(UTC).isoformat(),
    }
    object_store.put_json(_status_key(caller.tenant_id, upload_id), status)
    url = client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": get_settings().artifact_bucket, "Key": key, "ContentType": content_type},
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    audit_as(caller, "project.import_upload", "project", None, meta, changes={"after": {"id": upload_id}})
    return {
        **_public(status),
        "upload": {
            "url": url,
            "method": "PUT",
            "headers": {"Content-Type": content_type},
            "expires_in": UPLOAD_URL_SECONDS,
        },
    }


def _public(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k not in ("caller", "key")}


def import_upload_status(caller: Caller, upload_id: str) -> dict[str, Any]:
    from maestro.repositories import object_store

    if not upload_id.startswith("imp_") or not upload_id[4:].isalnum():
        raise NotFound(f"import upload {upload_id} not found")
    try:
        status = object_store.get_json(_status_key(caller.tenant_id, upload_id))
    except Exception as error:
        if _missing(error):
            raise NotFound(f"import upload {upload_id} not found") from None
        raise
    return _public(status)


def _missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404", "NotFound")


def parse_import_key(key: str) -> tuple[str, str] | None:
    parts = key[len(IMPORT_PREFIX) :].split("/") if key.startswith(IMPORT_PREFIX) else []
    if len(parts) != 3 or not parts[1].startswith("imp_"):
        return None
    return parts[0], parts[1]


def process_import_upload(object_key: str, progress: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Import an uploaded file in batches of MAX_IMPORT_ROWS, writing its state (and counts so far) as it goes."""
    from maestro.aws_clients import client
    from maestro.domain.project_input import read_import_file, text_lines
    from maestro.repositories import object_store
    from maestro.settings import get_settings

    located = parse_import_key(object_key)
    if located is None:
        return {"object_key": object_key, "state": "failed", "reason": "not an import upload key"}
    tenant_id, upload_id = located
    try:
        status = object_store.get_json(_status_key(tenant_id, upload_id))
    except Exception as error:
        if _missing(error):
            return {"object_key": object_key, "state": "failed", "reason": "no upload was created for this key"}
        raise
    if status.get("state") not in ("awaiting_upload", "processing") or status.get("key") != object_key:
        return _public(status)  # a redelivered event: already imported
    caller = Caller.from_context(status["caller"])

    def report(state: str, result: ImportResult, **extra: Any) -> None:
        body = result.to_body(FIRST_ERRORS)
        status.update(
            state=state,
            rows=body["total"],
            counts={k: body[k] for k in ("created", "updated", "unchanged", "rejected_count")},
            first_errors=body["rejected"],
            updated_at=datetime.now(UTC).isoformat(),
            **extra,
        )
        object_store.put_json(_status_key(tenant_id, upload_id), status)
        if progress:
            progress(_public(status))

    total = ImportResult(dry_run=bool(status.get("dry_run")))
    report("processing", total)
    body = client("s3").get_object(Bucket=get_settings().artifact_bucket, Key=object_key)["Body"]
    batch: list[tuple[int, Any]] = []
    importer = ProjectImport(caller, dry_run=total.dry_run)
    for index, row in read_import_file(text_lines(body.iter_chunks(64 * 1024)), status["format"]):
        if index < 0:  # the file itself is unreadable (unknown CSV columns)
            total.reject(0, None, str(row))
            report("failed", total, reason=str(row))
            return _public(status)
        batch.append((index, row))
        if len(batch) >= PROGRESS_EVERY_ROWS:
            total.add(importer.run(batch), 0)
            batch = []
            report("processing", total)
    if batch:
        total.add(importer.run(batch), 0)
    if not total.dry_run:
        _audit(caller, RequestMeta(request_id=upload_id), total, source="upload")
    report("succeeded", total, finished_at=datetime.now(UTC).isoformat())
    return _public(status)
