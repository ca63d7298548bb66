"""Roles and the permission matrix: written once, here. Every route names one permission (or PUBLIC), and
tests/integration/test_permission_matrix.py walks every route with every role against this table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything in the tenant, including users, API keys and the audit log
    DEVELOPER = "developer"  # create and change projects, artifacts, usages, metrics; run predictions
    VIEWER = "viewer"  # read only


PUBLIC = "public"  # no credentials needed (health, signup, login, refresh)

_ALL = frozenset(Role)
_WRITERS = frozenset({Role.ADMIN, Role.DEVELOPER})
_ADMIN = frozenset({Role.ADMIN})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "session.use": _ALL,  # me, logout
    "users.read": _ALL,  # teammates are visible to the whole tenant (members reference them)
    "users.manage": _ADMIN,
    "api_keys.manage": _ADMIN,
    "audit.read": _ADMIN,
    "tenant.read": _ADMIN,
    "tenant.manage": _ADMIN,
    "projects.read": _ALL,
    "projects.write": _WRITERS,
    "projects.delete": _ADMIN,
    "artifacts.read": _ALL,
    "artifacts.write": _WRITERS,
    "artifacts.delete": _ADMIN,
    "artifacts.protected_aliases": _ADMIN,  # move or remove an alias the tenant marked protected (`production`)
    "predict": _WRITERS,  # run a served model version (POST .../versions/{v}/predict)
    "metrics.read": _ALL,
    "metrics.write": _WRITERS,
    "integrations.manage": _ADMIN,
    "predictions.run": _WRITERS,
    "models.read": _ALL,
    "models.retrain": _ADMIN,
}


def is_allowed(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`; unknown roles and permissions hold nothing."""
    if permission == PUBLIC:
        return True
    allowed = PERMISSIONS.get(permission)
    return allowed is not None and role in {r.value for r in allowed}


def roles_allowed(permission: str) -> set[str]:
    if permission == PUBLIC:
        return {r.value for r in Role}
    return {r.value for r in PERMISSIONS[permission]}
