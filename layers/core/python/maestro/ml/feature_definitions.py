"""The Feast objects of the meta-learning feature store and the RepoConfig they live in, built from settings.

Imports Feast (about 11 s): only batch jobs, the `feature_repo/` entry point of the Feast CLI and tests import this
module. The names and columns come from `maestro.domain.meta.feature_views`, which the request-time reader shares.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from feast import Entity, FeatureService, FeatureView, Field, FileSource, RepoConfig
from feast.types import Float64, String
from feast.value_type import ValueType

from maestro.domain.meta.feature_views import (
    CREATED_TIMESTAMP,
    ENTITY_JOIN_KEY,
    ENTITY_KEY_SERIALIZATION_VERSION,
    ENTITY_NAME,
    EVENT_TIMESTAMP,
    FEATURE_SERVICE,
    STRING_COLUMNS,
    VIEW_FEATURES,
    view_columns,
)
from maestro.settings import Settings

SOURCE_NAME = "project_features"
# No TTL: a project's cut-off snapshot stays valid for as long as the project is asked about.
NO_TTL = timedelta(0)


def offline_source_uri(settings: Settings) -> str:
    """The folder of Parquet files every view reads (one file per write, below `<tenant>/`)."""
    return f"{settings.feast_offline_uri}/{SOURCE_NAME}/"


def repo_objects(settings: Settings) -> list[Any]:
    """The entity, the shared Parquet source, one feature view per group and the `meta_model` service."""
    entity = Entity(
        name=ENTITY_NAME,
        join_keys=[ENTITY_JOIN_KEY],
        value_type=ValueType.STRING,
        description="A project of a tenant; key '<tenant_id>#<project_id>'.",
    )
    source = FileSource(
        name=SOURCE_NAME,
        path=offline_source_uri(settings),
        timestamp_field=EVENT_TIMESTAMP,
        created_timestamp_column=CREATED_TIMESTAMP,
        s3_endpoint_override=settings.endpoint_url or None,
        description="Project feature snapshots as of min(write time, prediction cut-off).",
    )
    views = [
        FeatureView(
            name=view,
            entities=[entity],
            ttl=NO_TTL,
            source=source,
            online=True,
            schema=[
                Field(name=column, dtype=String if column in STRING_COLUMNS else Float64)
                for column in view_columns(view)
            ],
        )
        for view in VIEW_FEATURES
    ]
    by_name = {v.name: v for v in views}
    # The models read the numeric vector (maestro.domain.meta.history.FEATURE_NAMES) and nothing else.
    service = FeatureService(
        name=FEATURE_SERVICE,
        features=[
            by_name[view][list(names)] for view, names in VIEW_FEATURES.items() if view != "project_own_features"
        ],
        description="The numeric feature vector of the meta-models (success, duration, cost).",
    )
    return [entity, source, *views, service]


def repo_config(settings: Settings, repo_path: str | None = None) -> RepoConfig:
    """The feature_store.yaml of the stage, in code: S3 registry, Parquet offline store, DynamoDB online store."""
    online: dict[str, Any] = {
        "type": "dynamodb",
        "region": settings.region,
        "table_name_template": f"{settings.feast_online_table_prefix}-{{table_name}}",
    }
    if settings.endpoint_url:
        online["endpoint_url"] = settings.endpoint_url
    return RepoConfig(
        project=settings.feast_project,
        provider="aws",
        registry={"registry_type": "file", "path": settings.feast_registry_uri, "cache_ttl_seconds": 60},
        offline_store={"type": "file"},
        online_store=online,
        entity_key_serialization_version=ENTITY_KEY_SERIALIZATION_VERSION,
        repo_path=repo_path,
    )


def feature_store_yaml(settings: Settings) -> str:
    """The same configuration as a feature_store.yaml, for the Feast CLI (`feature_repo/`)."""
    import yaml

    config = repo_config(settings)
    body = {
        "project": config.project,
        "provider": config.provider,
        "registry": {"registry_type": "file", "path": settings.feast_registry_uri, "cache_ttl_seconds": 60},
        "offline_store": {"type": "file"},
        "online_store": {
            k: v
            for k, v in config.online_store.model_dump().items()
            if k in ("type", "region", "table_name_template", "endpoint_url") and v is not None
        },
        "entity_key_serialization_version": ENTITY_KEY_SERIALIZATION_VERSION,
    }
    return yaml.safe_dump(body, sort_keys=False)
