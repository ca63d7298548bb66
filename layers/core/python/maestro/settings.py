"""One typed settings object, parsed once per execution environment from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Stage = Literal["local", "test", "dev", "prod"]
LOCAL_STAGES = ("local", "test")


def parse_origins(value: str) -> list[str]:
    """MAESTRO_CORS_ORIGINS: comma-separated origins, as browsers send them (no trailing slash)."""
    return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]


class Settings(BaseModel):
    """Configuration of one deployment stage. Field names map to MAESTRO_<NAME> variables."""

    stage: Stage = "local"
    region: str = "us-east-1"
    # Any DynamoDB-/S3-compatible endpoint; None means the SDK's own AWS endpoints.
    endpoint_url: str | None = None
    table_prefix: str = "maestro-local"
    artifact_bucket: str = "maestro-local-artifacts"
    event_bus_name: str = "maestro-local"
    secrets_prefix: str = "maestro/local"
    # Feast feature store (batch jobs only; request-time code reads the online tables directly). None derives the
    # location from the stage's bucket and table prefix: see feast_offline_uri, feast_registry_uri, feast_online_table.
    feast_project: str = "maestro"
    feast_offline_prefix: str | None = None
    feast_registry_path: str | None = None
    feast_table_prefix: str | None = None
    # Meta-learning: the MLflow tracking server and registry the retrain job logs to (batch only; the request path
    # reads the champion from DynamoDB), and the EventBridge schedule of retraining.
    mlflow_tracking_uri: str | None = None
    meta_retrain_schedule: str = "cron(0 2 * * ? *)"
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    secrets_max_age_seconds: int = 300
    service_name: str = "maestro"
    # Open signup: None means the stage default (on everywhere but prod, where an operator creates tenants).
    open_signup: bool | None = None
    signups_per_ip_per_hour: int = 20
    token_issuer: str = "maestro-ml"
    token_audience: str = "maestro-ml-api"
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # Origins of the web console allowed to call the API from a browser (comma-separated; `*` only locally).
    cors_origins: str = ""
    # Calls to servers a tenant names (maestro.outbound): seconds to connect and for each read.
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Per-caller throttling (maestro.services.throttling): fixed windows of `throttle_window_seconds`; each
    # request costs 1 unit, heavy ones (matching, search, predictions, recommendations) `throttle_heavy_cost`.
    # A principal (user session or API key) may spend `throttle_principal_units` per window, its whole tenant
    # `throttle_tenant_units`. 0 turns a limit off. Defaults: 20 requests/s per caller, 100/s per tenant.
    throttle_window_seconds: int = Field(default=10, gt=0, le=3600)
    throttle_principal_units: int = Field(default=200, ge=0)
    throttle_tenant_units: int = Field(default=1000, ge=0)
    throttle_heavy_cost: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _no_wildcard_origin_outside_local(self) -> Settings:
        if "*" in self.cors_origin_list and not self.is_local:
            raise ValueError("MAESTRO_CORS_ORIGINS may not be * outside the local stages; name the console's origin")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return parse_origins(self.cors_origins)

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @property
    def signup_open(self) -> bool:
        return self.open_signup if self.open_signup is not None else self.stage != "prod"

    def table_name(self, logical_name: str) -> str:
        return f"{self.table_prefix}-{logical_name}"

    def secret_name(self, logical_name: str) -> str:
        return f"{self.secrets_prefix}/{logical_name}"

    @property
    def feast_offline_uri(self) -> str:
        """Where the offline store's Parquet files live (one folder per feature source below it)."""
        return (self.feast_offline_prefix or f"s3://{self.artifact_bucket}/feast/offline").rstrip("/")

    @property
    def feast_registry_uri(self) -> str:
        return self.feast_registry_path or f"s3://{self.artifact_bucket}/feast/registry.db"

    @property
    def feast_online_table_prefix(self) -> str:
        return self.feast_table_prefix or f"{self.table_prefix}-feast"

    def feast_online_table(self, feature_view: str) -> str:
        """The DynamoDB table Feast's online store keeps a feature view in (its table_name_template)."""
        return f"{self.feast_online_table_prefix}-{feature_view}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            raw = environ.get(f"MAESTRO_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = raw
        if "endpoint_url" not in values:
            # The SDK-wide override (also read by boto3 itself) points every client at one endpoint.
            shared = environ.get("AWS_ENDPOINT_URL")
            if shared:
                values["endpoint_url"] = shared
        if "region" not in values and environ.get("AWS_DEFAULT_REGION"):
            values["region"] = environ["AWS_DEFAULT_REGION"]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runner change the environment)."""
    get_settings.cache_clear()
