"""What a client may send about a project: its fields, outcome and members (one definition for the project routes
and the history import), the rule that keeps a project's dates consistent, and the import file formats.

An import row is a project plus `external_id` (the team's own id, unique per tenant), an optional `outcome`,
`members` and `usages`. A CSV file has one row per project; the columns are IMPORT_CSV_COLUMNS (docs/import.md,
docs/project-import-sample.csv): `features.<name>` columns carry numeric features, `repositories` is
`;`-separated, `members` is `;`-separated `display name|role|experience_level[|hours per week]` and `usages`
is `;`-separated `artifact|version` where artifact is an artifact id or `type/name`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass
from maestro.domain.text import Name

REPOSITORY_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
MAX_IMPORT_ROWS = 500
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/@#-]{0,199}$"


class InputModel(BaseModel):
    # Built on first use: every function loads every route module (see maestro.http.requests.RequestModel).
    # Finite numbers only (an imported "inf" or "nan" is refused like a JSON Infinity).
    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)


def owner_slash_repo(value: list[str]) -> list[str]:
    bad = [r for r in value if not re.match(REPOSITORY_PATTERN, r)]
    if bad:
        raise ValueError(f"repositories must look like owner/repo: {bad}")
    return value


class ProjectFields(InputModel):
    description: str = Field(default="", max_length=10_000)
    complexity_score: float = Field(ge=1, le=10)
    team_size: int = Field(ge=1, le=500)
    start_date: date | None = None
    repositories: list[str] = Field(default_factory=list, max_length=50)
    mlflow_experiment: str | None = Field(default=None, max_length=500)
    features: dict[str, float] = Field(default_factory=dict, max_length=200)

    _repositories = field_validator("repositories")(classmethod(lambda cls, v: owner_slash_repo(v)))


class ProjectIn(ProjectFields):
    name: Name = Field(min_length=1, max_length=200)
    problem_class: ProblemClass


class OutcomeIn(InputModel):
    model_performance: float = Field(ge=0, le=1)
    business_impact_usd: float
    duration_days: float = Field(gt=0, le=36_500)
    compute_cost_usd: float = Field(ge=0)
    completed_at: AwareDatetime


class MemberIn(InputModel):
    user_id: str | None = Field(default=None, max_length=100)
    display_name: Name = Field(min_length=1, max_length=200)
    role: MemberRole
    experience_level: ExperienceLevel
    contribution_hours: float = Field(default=0, ge=0, le=100_000)

    # Hours to the hundredth: a stored number must fit DynamoDB's range (4e-272 would answer 500).
    _hours = field_validator("contribution_hours")(classmethod(lambda cls, v: round(v, 2)))


class ImportUsageIn(InputModel):
    """An artifact the project used: by `artifact_id`, or by `type` and `name`; and the version it used."""

    artifact_id: str | None = Field(default=None, max_length=100)
    type: str | None = Field(default=None, max_length=50)
    name: str | None = Field(default=None, max_length=200)
    version: str = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_reference(self) -> ImportUsageIn:
        if not self.artifact_id and not (self.type and self.name):
            raise ValueError("a usage names its artifact by artifact_id or by type and name")
        return self


class ImportRow(ProjectIn):
    external_id: str = Field(pattern=EXTERNAL_ID_PATTERN, description="the team's own id, unique per tenant")
    outcome: OutcomeIn | None = None
    members: list[MemberIn] = Field(default_factory=list, max_length=500)
    usages: list[ImportUsageIn] = Field(default_factory=list, max_length=500)


# ---------------------------------------------------------------- dates
# How far ahead of the server's clock a completed_at may be: a client's clock a little ahead, or a team east of UTC
# recording "today" (a date at local noon is up to 14 hours ahead of UTC). Anything later has not happened yet.
COMPLETION_LEEWAY = timedelta(days=1)


class DateConflict(ValueError):
    """Dates that cannot be true together: an outcome that ends before its project starts (`fields` names both
    sides, kind "date_order"), or one that ends in the future (kind "future")."""

    def __init__(self, message: str, fields: tuple[str, ...], kind: str = "date_order") -> None:
        super().__init__(message)
        self.fields, self.kind = fields, kind


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def consistent_start(
    start_date: date | None, outcome: dict[str, Any] | None, now: datetime | None = None
) -> date | None:
    """The project's start date given its outcome: unchanged when set (refused when the outcome completes before
    it); when missing and an outcome is known, completed_at − duration_days (the project ran for its duration).
    With `now` (an outcome being recorded), a completed_at more than COMPLETION_LEEWAY after it is refused: a
    project that has not ended yet is not completed."""
    if not outcome:
        return start_date
    completed_at = _moment(outcome["completed_at"])
    if now is not None and completed_at > now + COMPLETION_LEEWAY:
        raise DateConflict(
            f"outcome.completed_at ({completed_at.isoformat()}) is in the future: record the outcome once the project "
            f"has ended (at most {COMPLETION_LEEWAY.days} day ahead of now is accepted)",
            ("outcome.completed_at",),
            kind="future",
        )
    if start_date is not None:
        if completed_at < start_of_day(start_date):
            raise DateConflict(
                f"outcome.completed_at ({completed_at.isoformat()}) is before start_date ({start_date.isoformat()})",
                ("outcome.completed_at", "start_date"),
            )
        return start_date
    return (completed_at - timedelta(days=float(outcome["duration_days"]))).date()


def _moment(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(UTC)


# ---------------------------------------------------------------- file formats
OUTCOME_COLUMNS = ("model_performance", "business_impact_usd", "duration_days", "compute_cost_usd", "completed_at")
IMPORT_CSV_COLUMNS = (
    "external_id",
    "name",
    "description",
    "problem_class",
    "complexity_score",
    "team_size",
    "start_date",
    "repositories",
    "mlflow_experiment",
    *OUTCOME_COLUMNS,
    "members",
    "usages",
)
FEATURE_COLUMN_PREFIX = "features."


class ImportFileError(ValueError):
    """A line of an import file that is not a row at all (bad JSON, a malformed member or usage cell)."""


def _cell(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _members_cell(text: str) -> list[dict[str, Any]]:
    members = []
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) not in (3, 4):
            raise ImportFileError(f"member {entry!r} must be 'display name|role|experience_level[|hours]'")
        member: dict[str, Any] = {"display_name": parts[0], "role": parts[1], "experience_level": parts[2]}
        if len(parts) == 4 and parts[3]:
            member["contribution_hours"] = parts[3]
        members.append(member)
    return members


def _usages_cell(text: str) -> list[dict[str, Any]]:
    usages = []
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        artifact, _, version = entry.rpartition("|")
        if not artifact or not version:
            raise ImportFileError(f"usage {entry!r} must be 'artifact|version' (artifact: an id or type/name)")
        if "/" in artifact:
            kind, _, name = artifact.partition("/")
            usages.append({"type": kind.strip(), "name": name.strip(), "version": version.strip()})
        else:
            usages.append({"artifact_id": artifact.strip(), "version": version.strip()})
    return usages


def csv_row(record: dict[str, str | None]) -> dict[str, Any]:
    """One CSV record as the JSON row the import takes (values stay strings: the row model converts them)."""
    row: dict[str, Any] = {}
    features = {}
    for column, raw in record.items():
        if column is None:  # more cells than headers
            raise ImportFileError("the row has more cells than the header has columns")
        value = _cell(raw)
        column = column.strip()
        if value is None or column in OUTCOME_COLUMNS:
            continue
        if column.startswith(FEATURE_COLUMN_PREFIX):
            features[column[len(FEATURE_COLUMN_PREFIX) :]] = value
        elif column == "repositories":
            row["repositories"] = [r.strip() for r in value.split(";") if r.strip()]
        elif column == "members":
            row["members"] = _members_cell(value)
        elif column == "usages":
            row["usages"] = _usages_cell(value)
        else:
            row[column] = value
    if features:
        row["features"] = features
    outcome = {c: _cell(record.get(c)) for c in OUTCOME_COLUMNS if _cell(record.get(c)) is not None}
    if outcome:
        row["outcome"] = outcome
    return row


def read_import_file(lines: Iterable[str], file_format: str) -> Iterator[tuple[int, dict[str, Any] | ImportFileError]]:
    """(row index from 0, the row or why the line is not one) for each data line of a CSV or JSONL import."""
    if file_format == "csv":
        reader = csv.DictReader(lines)
        unknown = [
            c
            for c in reader.fieldnames or []
            if c and c.strip() not in IMPORT_CSV_COLUMNS and not c.strip().startswith(FEATURE_COLUMN_PREFIX)
        ]
        if unknown:
            yield -1, ImportFileError(f"unknown columns {unknown}; the columns are {list(IMPORT_CSV_COLUMNS)}")
            return
        for index, record in enumerate(reader):
            try:
                yield index, csv_row(record)
            except ImportFileError as error:
                yield index, error
        return
    index = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_constant=_refuse_constant)
            if not isinstance(row, dict):
                raise ImportFileError("a JSONL line must be one JSON object")
            yield index, row
        except (ValueError, RecursionError) as error:
            yield index, error if isinstance(error, ImportFileError) else ImportFileError(f"not JSON: {error}")
        index += 1


def _refuse_constant(name: str) -> Any:
    raise ImportFileError(f"{name} is not a number JSON allows")


def import_format(file_name: str) -> str | None:
    lowered = file_name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def text_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """Decoded lines of a byte stream (UTF-8, a BOM dropped), for read_import_file."""
    stream = io.TextIOWrapper(io.BufferedReader(_Readable(binary)), encoding="utf-8-sig", newline="")
    yield from stream


class _Readable(io.RawIOBase):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size
