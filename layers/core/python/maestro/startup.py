"""Checks that run once when a function starts: a deployed stage refuses to run on missing or local-only secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping

from maestro.domain.errors import ConfigurationError
from maestro.secrets import LOCAL_ONLY_MARKER, REQUIRED_SECRETS, get_secret_json
from maestro.settings import Settings, get_settings


def assert_deployable(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Inside Lambda, outside local mode: refuse to start on a missing or local-only secret. Tools that merely
    import the app (`chalice package`, docs generators) run without credentials and are not checked."""
    environ = os.environ if environ is None else environ
    settings = settings or get_settings()
    if settings.is_local or not environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    for name in REQUIRED_SECRETS:
        try:
            value = get_secret_json(name, settings)
        except Exception as exc:
            raise ConfigurationError(
                f"stage {settings.stage}: secret {settings.secret_name(name)} is missing or unreadable ({type(exc).__name__})"
            ) from None
        if value.get(LOCAL_ONLY_MARKER):
            raise ConfigurationError(
                f"stage {settings.stage}: secret {settings.secret_name(name)} is a local-only value; set a real one"
            )
