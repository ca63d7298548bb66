"""Secrets from Secrets Manager through Powertools parameters (cached per execution environment)."""

from __future__ import annotations

import json
from typing import Any

from maestro.aws_clients import client
from maestro.settings import Settings, get_settings

# The secrets the platform cannot run without, by logical name (stored as "<secrets_prefix>/<name>").
REQUIRED_SECRETS = ("jwt-signing-keys",)
# Secrets created by the local-stack bootstrap carry this marker; outside local mode they are refused.
LOCAL_ONLY_MARKER = "local_only"

_provider = None


def _secrets_provider() -> Any:
    global _provider
    if _provider is None:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        _provider = SecretsProvider(boto3_client=client("secretsmanager"))
    return _provider


def get_secret_json(logical_name: str, settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    raw = _secrets_provider().get(settings.secret_name(logical_name), max_age=settings.secrets_max_age_seconds)
    return json.loads(raw)


def get_secret_text(name: str, settings: Settings | None = None) -> str:
    """A secret's value by full name (tenants' integration secrets), cached like the platform's own."""
    settings = settings or get_settings()
    return _secrets_provider().get(name, max_age=settings.secrets_max_age_seconds)


def put_secret_text(name: str, value: str) -> None:
    """Create or replace a secret by full name. This environment's cache forgets it at once; other warm functions
    pick the new value up within `secrets_max_age_seconds`."""
    manager = client("secretsmanager")
    try:
        manager.put_secret_value(SecretId=name, SecretString=value)
    except manager.exceptions.ResourceNotFoundException:
        manager.create_secret(Name=name, SecretString=value)
    _secrets_provider().clear_cache()


def reset_secret_cache() -> None:
    global _provider
    _provider = None
