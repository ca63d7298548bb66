"""Checks that run once when a function starts: a deployed stage refuses to run on missing or local-only secrets."""
from __future__ import annotations

from maestro.domain.errors import ConfigurationError
from maestro.secrets import LOCAL_ONLY_MARKER, REQUIRED_SECRETS, get_secret_json
from maestro.settings import Settings, get_settings


def assert_deployable(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.is_local:
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
