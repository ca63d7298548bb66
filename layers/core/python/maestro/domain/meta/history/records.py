"""A tenant's history as records: artifacts with versions, projects with members, artifact usages, metric records
and outcomes, in the shape the features (.features) read, whether stored (maestro.services.meta.tenant_history)
or generated (maestro.domain.meta.synthetic)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from maestro.domain.impact import CompletedProject, Usage
from maestro.domain.meta.targets import CUTOFF_DAYS
from maestro.domain.projects import Outcome


@dataclass(frozen=True, slots=True)
class ArtifactSpec:
    artifact_id: str
    name: str
    artifact_type: str
    description: str
    home_class: str | None  # the problem class it was built for; None = generic
    versions: tuple[tuple[str, datetime], ...]  # (SemVer, released_at), oldest first
    deprecated_at: datetime | None

    @property
    def created_at(self) -> datetime:
        return self.versions[0][1]

    def available(self, moment: datetime) -> bool:
        return self.created_at <= moment and (self.deprecated_at is None or moment < self.deprecated_at)

    def version_at(self, moment: datetime) -> str:
        return [v for v, released in self.versions if released <= moment][-1]


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    role: str
    experience: str  # the level when the member joined the project
    hours_per_week: float
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class ArtifactUsage:
    project_id: str
    artifact_id: str
    version: str
    recorded_at: datetime
    planned: bool  # recorded in the planning days, before the cut-off


@dataclass(frozen=True, slots=True)
class MetricRecord:
    metric_type: str  # a built-in type of maestro.domain.metrics
    value: float
    recorded_at: datetime
    member_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    project_id: str
    problem_class: str
    complexity_score: float
    team_size: int  # planned at creation
    description: str
    start_date: datetime
    end_date: datetime | None  # None while the project runs (and for a plan being predicted)
    members: tuple[Member, ...]
    usages: tuple[ArtifactUsage, ...]
    metrics: tuple[MetricRecord, ...]
    outcome: Outcome | None  # None until the project completes
    success_score: float | None

    @property
    def cutoff(self) -> datetime:
        return self.start_date + timedelta(days=CUTOFF_DAYS)

    def target(self, name: str) -> float:
        """An outcome by name: success_score, duration_days, compute_cost_usd, model_performance, ..."""
        if self.outcome is None or self.success_score is None:
            raise ValueError(f"project {self.project_id} has no outcome yet")
        return self.success_score if name == "success_score" else float(getattr(self.outcome, name))


@dataclass(frozen=True)
class GroundTruth:
    """What truly drives a generated tenant's outcomes (maestro.domain.meta.synthetic); a stored tenant has none."""

    good_for_class: Mapping[str, frozenset[str]]
    accelerators: frozenset[str]
    harmful: frozenset[str]
    artifact_effects: Mapping[str, Mapping[str, float]]  # artifact -> {equation: coefficient}
    effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # equation -> {term: coefficient}
    noise: Mapping[str, float] = field(default_factory=dict)

    def relevance(self, problem_class: str) -> dict[str, int]:
        """What truly helps a project of this class: 2 = good for the class (success), 1 = accelerator
        (duration, any class). None of them is deprecated."""
        grades = {a: 1 for a in self.accelerators}
        grades.update({a: 2 for a in self.good_for_class.get(problem_class, frozenset())})
        return grades


@dataclass(frozen=True)
class History:
    projects: tuple[ProjectRecord, ...]  # in start order
    artifacts: tuple[ArtifactSpec, ...]
    ground_truth: GroundTruth | None  # None for a stored tenant (only a generated history knows its causes)
    seed: int
    origin: datetime
    now: datetime  # after every project's end
    # The generator's state (maestro.domain.meta.synthetic), to draw more projects from; None for a stored tenant.
    tenant: Any = field(default=None, repr=False, compare=False)

    def known_truth(self) -> GroundTruth:
        """The generator's ground truth; a stored tenant's history has none (ValueError)."""
        if self.ground_truth is None:
            raise ValueError("a stored tenant's history has no ground truth: pass the relevance to use")
        return self.ground_truth

    def artifact(self, artifact_id: str) -> ArtifactSpec:
        return self._artifacts_by_id()[artifact_id]

    def _artifacts_by_id(self) -> dict[str, ArtifactSpec]:
        cached = self.__dict__.get("_by_id")
        if cached is None:
            cached = {a.artifact_id: a for a in self.artifacts}
            object.__setattr__(self, "_by_id", cached)
        return cached

    def deprecated(self, as_of: datetime | None = None) -> set[str]:
        moment = as_of or self.now
        return {a.artifact_id for a in self.artifacts if a.deprecated_at is not None and a.deprecated_at <= moment}

    def completed_by(self, as_of: datetime, projects: Iterable[ProjectRecord] | None = None) -> list[ProjectRecord]:
        return [
            p
            for p in (self.projects if projects is None else projects)
            if p.end_date is not None and p.end_date <= as_of
        ]


def impact_inputs(projects: Iterable[ProjectRecord]) -> tuple[list[CompletedProject], list[Usage]]:
    """Completed projects and their usages in the shape maestro.domain.impact takes."""
    projects = list(projects)
    return (
        [
            CompletedProject(p.project_id, p.success_score, p.problem_class, p.complexity_score, p.team_size)
            for p in projects
            if p.success_score is not None
        ],
        [Usage(u.project_id, u.artifact_id) for p in projects for u in p.usages],
    )
