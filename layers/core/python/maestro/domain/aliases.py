"""Version aliases: a mutable name (`champion`, `staging`) that points at one ready version of an artifact, and
`@alias` written wherever a version is expected. Pure rules: no AWS, no Chalice."""

from __future__ import annotations

import re

ALIAS_PREFIX = "@"
MAX_ALIASES_PER_ARTIFACT = 50
MAX_PROTECTED_ALIASES = 20
# MLflow's alias rules, kept: lowercase words joined by `-` or `_`; `latest` and `v<number>` stay free because
# MLflow reads them as version selectors, and a library shared with MLflow users must mean the same thing.
_ALIAS = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_VERSION_LIKE = re.compile(r"^v\d+$")
RESERVED = frozenset({"latest"})
MAX_ALIAS_LENGTH = 63


def alias_problem(alias: str) -> str | None:
    """What is wrong with an alias name, or None."""
    if len(alias) > MAX_ALIAS_LENGTH:
        return f"an alias is at most {MAX_ALIAS_LENGTH} characters"
    if not _ALIAS.match(alias):
        return "an alias is lowercase words of letters and digits joined by - or _, starting with a letter (champion)"
    if alias in RESERVED or _VERSION_LIKE.match(alias):
        return f"{alias!r} is reserved (MLflow reads `latest` and `v<number>` as version selectors)"
    return None


def alias_of(reference: str) -> str | None:
    """The alias a version reference names (`@champion` -> `champion`), or None for a plain version."""
    return reference[len(ALIAS_PREFIX) :] if reference.startswith(ALIAS_PREFIX) else None
