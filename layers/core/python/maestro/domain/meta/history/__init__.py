"""A project's history and what the meta-models read from it: the record types (.records) and the leak-free
features at the prediction cut-off (.features). The seeded generator of synthetic tenants lives apart, in
maestro.domain.meta.synthetic, which no production module imports."""

from maestro.domain.meta.history.features import (
    FEATURE_NAMES,
    FeatureTable,
    artifact_effects_as_of,
    cutoff_features,
    effects_as_of,
    feature_table,
    features,
)
from maestro.domain.meta.history.records import (
    ArtifactSpec,
    ArtifactUsage,
    GroundTruth,
    History,
    Member,
    MetricRecord,
    ProjectRecord,
    impact_inputs,
)
from maestro.domain.meta.targets import CUTOFF_DAYS, TARGET_NAMES

__all__ = [
    "CUTOFF_DAYS",
    "FEATURE_NAMES",
    "TARGET_NAMES",
    "ArtifactSpec",
    "ArtifactUsage",
    "FeatureTable",
    "GroundTruth",
    "History",
    "Member",
    "MetricRecord",
    "ProjectRecord",
    "artifact_effects_as_of",
    "cutoff_features",
    "effects_as_of",
    "feature_table",
    "features",
    "impact_inputs",
]
