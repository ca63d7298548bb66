"""The artifact library: types, versions (SemVer 2.0) and search filters (ranking: maestro.domain.search_index)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ArtifactType(StrEnum):
    FEATURE_PIPELINE = "feature_pipeline"
    MODEL_TEMPLATE = "model_template"
    SCHEMA = "schema"
    NOTEBOOK = "notebook"
    DATASET = "dataset"
    MODEL = "model"


class VersionStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"


class SearchSort(StrEnum):
    IMPACT = "impact"
    USAGE = "usage"
    RECENT = "recent"
    RELEVANCE = "relevance"


MAX_CONTENT_BYTES = 5 * 1024**3  # a single S3 PUT
# The official SemVer 2.0.0 expression (semver.org).
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def is_semver(version: str) -> bool:
    return bool(_SEMVER.match(version))


def semver_key(version: str) -> tuple:
    """Sort key with SemVer precedence (a pre-release sorts before its release; build metadata is ignored)."""
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"not a semantic version: {version}")
    major, minor, patch, pre, _build = match.groups()
    pre_key: tuple = (
        (1,) if pre is None else (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    )
    return int(major), int(minor), int(patch), pre_key


def name_claim(artifact_type: str, name: str) -> str:
    """Names are unique per tenant and type, case-insensitively."""
    return f"artifact#{artifact_type}#{name.strip().casefold()}"


def deprecation_record(reason: str, replacement_id: str | None, at: datetime, by: str) -> dict[str, Any]:
    """What a deprecated artifact carries: every field, always (a replacement left out is stored as null)."""
    return {"reason": reason, "replacement_id": replacement_id, "at": at.isoformat(), "by": by}


# ---------------------------------------------------------------- words and search filters
_TOKEN = re.compile(r"[\w-]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in _TOKEN.findall(text or "")]


@dataclass(frozen=True)
class SearchFilters:
    query: str | None = None
    type: str | None = None
    tags: Sequence[str] = ()
    min_impact_score: float | None = None
    include_deprecated: bool = False

    def admits(self, artifact: dict[str, Any]) -> bool:
        if self.type and artifact["type"] != self.type:
            return False
        artifact_tags = {t.casefold() for t in artifact.get("tags") or []}
        if any(t.casefold() not in artifact_tags for t in self.tags):
            return False
        if self.min_impact_score is not None and (artifact.get("impact_score") or 0) < self.min_impact_score:
            return False
        if artifact.get("deprecated") and not self.include_deprecated:
            return False
        return True
