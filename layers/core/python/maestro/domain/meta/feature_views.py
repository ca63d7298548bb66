"""The layout of the meta-learning feature store: entity, feature views and their columns.

Pure Python (no Feast, no numpy): the Feast definitions (`maestro.ml.feature_definitions`) are built from these
names, and the request-time reader (`maestro.repositories.online_features`) finds a feature's DynamoDB table from
them, so the two cannot drift. See docs/feature-store.md.
"""

from __future__ import annotations

from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass

# The entity: one project of one tenant. The tenant is part of the key, so every read names its tenant.
ENTITY_NAME = "project"
ENTITY_JOIN_KEY = "tenant_project"
KEY_SEPARATOR = "#"
# The event time of a row (the moment its values were known as of) and when the row was written (ties: newest wins).
EVENT_TIMESTAMP = "event_timestamp"
CREATED_TIMESTAMP = "created"
# Feast's entity key serialization; the request-time reader reproduces this exact version.
ENTITY_KEY_SERIALIZATION_VERSION = 3
# The project's own numeric `features` (free keys, not declarable as columns): one JSON object string. Readers ask
# for a key as "features.<key>".
OWN_FEATURES_COLUMN = "features_json"
OWN_FEATURE_PREFIX = "features."

CLASS_FEATURES = tuple(f"class_{c.value}" for c in ProblemClass)
# The process metrics over a project's early weeks (git, CI, MLflow); imputed when a project has none yet.
PROCESS_FEATURES = (
    "commits_per_week",
    "contributors",
    "pr_merge_hours_p50",
    "ci_success_rate",
    "ci_runs",
    "experiment_runs_per_week",
)
VIEW_FEATURES: dict[str, tuple[str, ...]] = {
    # problem class (one-hot) and complexity, fixed at creation
    "project_profile": (*CLASS_FEATURES, "complexity_score"),
    # team size and experience/role mix of the members who had joined
    "team_composition": (
        "team_size",
        "log_team_size",
        *(f"experience_{level.value}_share" for level in ExperienceLevel),
        *(f"role_{role.value}_share" for role in MemberRole),
        "mean_hours_per_week",
    ),
    # artifacts reused so far and the published impact of what was reused
    "artifact_reuse": ("reuse_count", "reuse_known_share", "reuse_impact_mean", "reuse_impact_sum"),
    # process metrics over the project's early weeks (git, CI, MLflow)
    "early_process": PROCESS_FEATURES,
    # the project's own numeric `features`, as a JSON object
    "project_own_features": (OWN_FEATURES_COLUMN,),
}
# Columns stored as strings; every other column is a double.
STRING_COLUMNS = frozenset({"problem_class", OWN_FEATURES_COLUMN})
# problem_class (the label) rides along in the profile for people reading the store; models use the one-hots.
VIEW_EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {"project_profile": ("problem_class",)}
# What the meta-models use (maestro.domain.meta.history.FEATURE_NAMES, in the same order; a unit test checks it).
MODEL_FEATURES: tuple[str, ...] = tuple(
    name for view, names in VIEW_FEATURES.items() if view != "project_own_features" for name in names
)
FEATURE_SERVICE = "meta_model"


def view_columns(view: str) -> tuple[str, ...]:
    """Every column a view stores, in schema order."""
    return (*VIEW_FEATURES[view], *VIEW_EXTRA_COLUMNS.get(view, ()))


VIEW_OF: dict[str, str] = {name: view for view in VIEW_FEATURES for name in view_columns(view)}


def tenant_project_key(tenant_id: str, project_id: str) -> str:
    """The entity key of a tenant's project. A tenant id never contains the separator, so the key is unambiguous
    (a project id may)."""
    if not tenant_id or KEY_SEPARATOR in tenant_id:
        raise ValueError(f"tenant id must be non-empty and free of {KEY_SEPARATOR!r}: {tenant_id!r}")
    if not project_id:
        raise ValueError("project id must be non-empty")
    return f"{tenant_id}{KEY_SEPARATOR}{project_id}"


def split_tenant_project_key(key: str) -> tuple[str, str]:
    tenant_id, _, project_id = key.partition(KEY_SEPARATOR)
    return tenant_id, project_id


def view_for(feature_name: str) -> str:
    """The view holding a feature; own features ("features.<key>") live in project_own_features."""
    if feature_name.startswith(OWN_FEATURE_PREFIX):
        return "project_own_features"
    try:
        return VIEW_OF[feature_name]
    except KeyError:
        raise KeyError(f"unknown feature {feature_name!r}") from None
