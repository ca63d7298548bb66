"""Probes for the storage the platform depends on: cheap calls that fail fast when it is unreachable."""

from __future__ import annotations

from collections.abc import Callable

from maestro.aws_clients import client
from maestro.repositories import schema
from maestro.repositories.tables import ensure_bound
from maestro.settings import get_settings


def _dynamodb_probe() -> None:
    ensure_bound()
    schema.Tenant.describe_table()


def _s3_probe() -> None:
    client("s3").head_bucket(Bucket=get_settings().artifact_bucket)


def storage_probes() -> dict[str, Callable[[], None]]:
    return {"dynamodb": _dynamodb_probe, "s3": _s3_probe}
