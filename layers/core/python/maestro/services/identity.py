"""Identity use cases: signup, login, token refresh and logout, authentication of every request, users,
invitations, API keys and the tenant's quota usage."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    Unauthenticated,
)
from maestro.domain.identity import api_keys as key_rules
from maestro.domain.identity import passwords, throttling
from maestro.domain.identity.permissions import Role
from maestro.domain.identity.principals import Caller
from maestro.domain.identity.quotas import QuotaUsage, effective_quotas
from maestro.domain.identity.tokens import InvalidToken, SigningKeyRing, TokenService
from maestro.pagination import Page
from maestro.repositories import identity as store
from maestro.repositories.schema import ApiKey, Session, Tenant, User
from maestro.secrets import get_secret_json
from maestro.services.context import RequestMeta, audit_as, record_audit, retry_lost_races
from maestro.settings import get_settings

SIGNUP_WINDOW_SECONDS = 3600


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_service() -> TokenService:
    """Built from the signing keys in Secrets Manager (cached by Powertools parameters between calls)."""
    settings = get_settings()
    keyring = SigningKeyRing.from_secret(get_secret_json("jwt-signing-keys"))
    return TokenService(
        keyring,
        issuer=f"{settings.token_issuer}/{settings.stage}",
        audience=settings.token_audience,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )


# ---------------------------------------------------------------- rendering
def user_view(user: User) -> dict:
    return {
        "id": user.user_id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "invited": user.password_hash is None and user.invite_token_hash is not None,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
        "version": user.version,
    }


def api_key_view(key: ApiKey) -> dict:
    return {
        "id": key.key_id,
        "name": key.name,
        "role": key.role,
        "created_by": key.created_by,
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "prefix": f"{key_rules.KEY_PREFIX}{key.key_id}_",
        "owner": _owner_label(key),
    }


def _owner_label(key: ApiKey) -> str:
    owner = key_rules.key_owner(key.owner_user_id, key.created_by)
    return f"user:{owner}" if owner else "tenant"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: dict

    def to_body(self) -> dict:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "user": self.user,
        }


def _open_session(user: User) -> TokenPair:
    tokens = token_service()
    session_id = _new_id("ses")
    refresh = tokens.issue_refresh(user.tenant_id, user.user_id, session_id)
    store.create_session(
        Session(
            user.tenant_id,
            session_id,
            user_id=user.user_id,
            current_refresh_jti=refresh.jti,
            created_at=_now(),
            expires_at_epoch=refresh.expires_at,
        )
    )
    access = tokens.issue_access(user.tenant_id, user.user_id, user.role, session_id)
    return TokenPair(access.token, refresh.token, access.expires_in, user_view(user))


# ---------------------------------------------------------------- signup and operator-created tenants
def create_tenant(tenant_name: str, email: str, password: str, name: str, meta: RequestMeta) -> User:
    """A new tenant and its first user, an admin. Used by open signup and by the operator command."""
    email = normalise_email(email)
    passwords.check_password_policy(password, email=email, name=name)
    now = _now()
    tenant = Tenant(_new_id("ten"), name=tenant_name, created_at=now)
    admin = User(
        tenant.tenant_id,
        _new_id("usr"),
        email=email,
        name=name,
        role=Role.ADMIN.value,
        password_hash=passwords.hash_password(password),
        created_at=now,
        updated_at=now,
    )
    store.create_tenant_with_admin(tenant, admin)
    record_audit(
        tenant.tenant_id,
        actor=f"user:{admin.user_id}",
        action="tenant.create",
        resource_type="tenant",
        resource_id=tenant.tenant_id,
        outcome="success",
        meta=meta,
        changes={"after": {"name": tenant_name, "admin_email": email}},
    )
    return admin


def signup(tenant_name: str, email: str, password: str, name: str, meta: RequestMeta) -> TokenPair:
    settings = get_settings()
    if not settings.signup_open:
        raise PermissionDenied("open signup is closed on this deployment; an operator creates tenants")
    retry_after = store.consume_rate_limit(
        "signup", meta.source_ip or "unknown", settings.signups_per_ip_per_hour, SIGNUP_WINDOW_SECONDS, time.time()
    )
    if retry_after is not None:
        raise RateLimited("too many signups from this address; try again later", retry_after_seconds=retry_after)
    return _open_session(create_tenant(tenant_name, email, password, name, meta))


# ---------------------------------------------------------------- login, refresh, logout
_BAD_CREDENTIALS = "email or password is incorrect"


def login(email: str, password: str, meta: RequestMeta) -> TokenPair:
    """Failures are counted and locks kept per email, whether an account has it or not: an unknown email is
    locked after 5 failures exactly as an account is (429 with the same Retry-After), so neither the status
    nor its timing tells an attacker which emails have accounts."""
    now = _now()
    email = normalise_email(email)
    locked_for = throttling.lock_remaining_seconds(store.login_lock(email), now)
    user = store.find_user_by_email(email)
    if user is not None and user.deleted_at is not None:
        user = None
    if locked_for is not None:
        if user is not None:
            _audit_login(user, "auth.login", "denied", meta)
        raise RateLimited("too many failed logins; the account is locked for now", retry_after_seconds=locked_for)
    if user is None:
        passwords.verify_password(None, password)  # same work as a real check: no user enumeration by timing
    if user is None or not user.active or not passwords.verify_password(user.password_hash, password):
        failures = store.record_login_failure(email, now, int(throttling.FAILURE_WINDOW.total_seconds()))
        if user is not None:
            _audit_login(user, "auth.login", "failure", meta)
        if throttling.should_lock(failures, now):
            store.lock_login(email, now + throttling.LOCK_DURATION)
            if user is not None:
                _audit_login(
                    user,
                    "auth.lock",
                    "success",
                    meta,
                    changes={"after": {"locked_minutes": int(throttling.LOCK_DURATION.total_seconds() // 60)}},
                )
        raise Unauthenticated(_BAD_CREDENTIALS)
    store.clear_login_failures(email)
    if passwords.needs_rehash(user.password_hash):
        store.set_password(user, passwords.hash_password(password), now)
    pair = _open_session(user)
    _audit_login(user, "auth.login", "success", meta)
    return pair


def _audit_login(user: User, action: str, outcome: str, meta: RequestMeta, changes: dict | None = None) -> None:
    record_audit(
        user.tenant_id,
        actor=f"user:{user.user_id}",
        action=action,
        resource_type="user",
        resource_id=user.user_id,
        outcome=outcome,
        meta=meta,
        changes=changes,
    )


def refresh(refresh_token: str, meta: RequestMeta) -> TokenPair:
    tokens = token_service()
    claims = tokens.verify_refresh(refresh_token)
    session = store.get_session(claims.tenant_id, claims.session_id)
    if session is None or session.user_id != claims.user_id:
        raise Unauthenticated("session not found")
    actor = f"user:{claims.user_id}"
    if session.revoked:
        raise Unauthenticated("session revoked")
    if not store.rotate_refresh(session, claims.jti, uuid.uuid4().hex):
        # An already-used refresh token: someone holds a copy. Revoke the whole family.
        store.revoke_session(session, "refresh token reuse")
        record_audit(
            claims.tenant_id,
            actor=actor,
            action="auth.refresh_reuse",
            resource_type="session",
            resource_id=session.session_id,
            outcome="denied",
            meta=meta,
        )
        raise Unauthenticated("refresh token already used; the session has been revoked")
    session.refresh()
    user = store.get_user(claims.tenant_id, claims.user_id)
    if user is None or not user.active:
        store.revoke_session(session, "user inactive")
        raise Unauthenticated("user is inactive")
    new_refresh = tokens.issue_refresh(
        user.tenant_id, user.user_id, session.session_id, jti=session.current_refresh_jti
    )
    access = tokens.issue_access(user.tenant_id, user.user_id, user.role, session.session_id)
    record_audit(
        claims.tenant_id,
        actor=actor,
        action="auth.refresh",
        resource_type="session",
        resource_id=session.session_id,
        outcome="success",
        meta=meta,
    )
    return TokenPair(access.token, new_refresh.token, access.expires_in, user_view(user))


def logout(caller: Caller, meta: RequestMeta) -> None:
    if caller.session_id is None:
        raise InvalidInput("API keys have no session to log out of; revoke the key instead")
    session = store.get_session(caller.tenant_id, caller.session_id)
    if session is not None and not session.revoked:
        store.revoke_session(session, "logout")
    audit_as(caller, "auth.logout", "session", caller.session_id, meta)


# ---------------------------------------------------------------- authenticating every request
def authenticate(authorization: str | None, api_key_header: str | None, meta: RequestMeta) -> Caller:
    """The caller behind `Authorization: Bearer <jwt | api key>` or `X-Api-Key`; raises Unauthenticated."""
    token = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        token = value.strip()
    elif api_key_header:
        token = api_key_header.strip()
    if not token:
        raise Unauthenticated("credentials required: Authorization: Bearer <token> or X-Api-Key")
    if key_rules.looks_like_api_key(token):
        return _authenticate_api_key(token)
    claims = token_service().verify_access(token)
    session = store.get_session(claims.tenant_id, claims.session_id)
    if session is None or session.revoked:
        raise InvalidToken("session revoked")
    return Caller(claims.tenant_id, "user", claims.user_id, claims.role, claims.session_id)


def _authenticate_api_key(token: str) -> Caller:
    parsed = key_rules.parse_api_key(token)
    if parsed is None:
        raise Unauthenticated("malformed API key")
    key_id, secret = parsed
    key = store.find_api_key(key_id)
    if key is None or not key_rules.secret_matches(secret, key.secret_hash):
        raise Unauthenticated("unknown API key")
    if key.revoked:
        raise Unauthenticated("API key revoked")
    now = _now()
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthenticated("API key expired")
    owner_id = key_rules.key_owner(key.owner_user_id, key.created_by)
    if owner_id is not None:
        # A key borrows its owner's standing: a deactivated or deleted owner's keys stop with them.
        owner = store.get_user(key.tenant_id, owner_id)
        if owner is None or not owner.active or owner.deleted_at is not None:
            raise Unauthenticated("API key's owner is no longer active")
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        store.touch_api_key(key, now)  # at most once a minute: last-used time without a write per request
    return Caller(key.tenant_id, "key", key.key_id, key.role)


def me(caller: Caller) -> dict:
    tenant = store.get_tenant(caller.tenant_id)
    body: dict[str, Any] = {
        "principal_type": caller.principal_type,
        "id": caller.principal_id,
        "role": caller.role,
        "tenant": {"id": caller.tenant_id, "name": tenant.name if tenant else None},
    }
    if caller.principal_type == "user":
        user = store.get_user(caller.tenant_id, caller.principal_id)
        if user is None:
            raise NotFound("user not found")
        body["user"] = user_view(user)
    else:
        key = store.get_api_key(caller.tenant_id, caller.principal_id)
        body["api_key"] = api_key_view(key) if key else None
    return body


# ---------------------------------------------------------------- users
def _hash_invite(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    caller: Caller, email: str, name: str, role: str, password: str | None, invite: bool, meta: RequestMeta
) -> dict:
    if (password is None) == (not invite):
        raise InvalidInput("give either a password or invite: true, not both and not neither")
    email = normalise_email(email)
    now = _now()
    user = User(caller.tenant_id, _new_id("usr"), email=email, name=name, role=role, created_at=now, updated_at=now)
    invite_token = None
    if password is not None:
        passwords.check_password_policy(password, email=email, name=name)
        user.password_hash = passwords.hash_password(password)
    else:
        invite_token = secrets.token_urlsafe(32)
        user.invite_token_hash = _hash_invite(f"{user.tenant_id}:{user.user_id}:{invite_token}")
    tenant = store.get_tenant(caller.tenant_id)
    store.add_user(user, effective_quotas(tenant.quota_overrides if tenant else None)["users"])
    audit_as(
        caller,
        "user.create",
        "user",
        user.user_id,
        meta,
        changes={"after": {"email": email, "name": name, "role": role}},
    )
    body = user_view(user)
    if invite_token:
        # The invitation is shown once; only its hash is stored.
        body["invite_token"] = f"{user.tenant_id}.{user.user_id}.{invite_token}"
    return body


def accept_invite(invite: str, password: str, meta: RequestMeta) -> TokenPair:
    try:
        tenant_id, user_id, token = invite.split(".", 2)
    except ValueError:
        raise Unauthenticated("invalid invitation") from None
    user = store.get_user(tenant_id, user_id)
    expected = user.invite_token_hash if user else None
    if (
        user is None
        or not expected
        or not secrets.compare_digest(expected, _hash_invite(f"{tenant_id}:{user_id}:{token}"))
        or not user.active
    ):
        raise Unauthenticated("invalid invitation")
    passwords.check_password_policy(password, email=user.email, name=user.name)
    if not store.claim_invitation(user, expected, passwords.hash_password(password), _now()):
        raise Unauthenticated("invalid invitation")  # accepted meanwhile by a concurrent request: one session only
    record_audit(
        tenant_id,
        actor=f"user:{user_id}",
        action="user.accept_invite",
        resource_type="user",
        resource_id=user_id,
        outcome="success",
        meta=meta,
    )
    user.refresh(consistent_read=True)
    return _open_session(user)


def _tenant_user(caller: Caller, user_id: str) -> User:
    user = store.get_user(caller.tenant_id, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(f"user {user_id} not found")
    return user


def get_user(caller: Caller, user_id: str) -> dict:
    return user_view(_tenant_user(caller, user_id))


def list_users(caller: Caller, limit: int, cursor: str | None) -> Page:
    page = store.list_users(caller.tenant_id, limit, cursor)
    return Page([user_view(u) for u in page.items], page.next_cursor)


def update_user(
    caller: Caller,
    user_id: str,
    *,
    role: str | None,
    active: bool | None,
    expected_version: int | None,
    meta: RequestMeta,
) -> dict:

    def change() -> tuple[dict, User]:
        user = _tenant_user(caller, user_id)
        if expected_version is not None and user.version != expected_version:
            raise PreconditionFailed("the user changed since you read it", current_version=user.version)
        before = {"role": user.role, "active": user.active}
        return before, store.change_user(user, role=role, active=active, now=_now(), expected_version=expected_version)

    before, updated = retry_lost_races(change)
    after = {"role": updated.role, "active": updated.active}
    if before != after:
        # New role or deactivation takes effect at once: the user's sessions end and must sign in again.
        store.revoke_user_sessions(caller.tenant_id, user_id, "user changed")
    audit_as(
        caller,
        "user.update",
        "user",
        user_id,
        meta,
        changes={
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
        },
    )
    return user_view(updated)


def delete_user(caller: Caller, user_id: str, meta: RequestMeta) -> None:

    def delete() -> User:
        user = _tenant_user(caller, user_id)
        store.change_user(user, deleted_at=_now(), now=_now())
        return user

    user = retry_lost_races(delete)
    store.revoke_user_sessions(caller.tenant_id, user_id, "user deleted")
    audit_as(caller, "user.delete", "user", user_id, meta, changes={"before": {"email": user.email, "role": user.role}})


# ---------------------------------------------------------------- API keys
def create_api_key(caller: Caller, name: str, role: str, expires_at: datetime | None, meta: RequestMeta) -> dict:
    now = _now()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    new_key = key_rules.generate_api_key()
    owner_user_id: str | None
    if caller.principal_type == "user":
        owner_user_id = caller.principal_id
    else:  # a key made by a key belongs to that key's owner (or, like it, to the tenant)
        maker = store.get_api_key(caller.tenant_id, caller.principal_id)
        owner_user_id = key_rules.key_owner(maker.owner_user_id, maker.created_by) if maker else None
    key = ApiKey(
        caller.tenant_id,
        new_key.key_id,
        name=name,
        role=role,
        secret_hash=new_key.secret_hash,
        created_by=caller.actor,
        owner_user_id=owner_user_id,
        created_at=now,
        expires_at=expires_at,
    )
    store.create_api_key(key)
    audit_as(caller, "api_key.create", "api_key", key.key_id, meta, changes={"after": {"name": name, "role": role}})
    return {**api_key_view(key), "key": new_key.token}


def list_api_keys(caller: Caller, limit: int, cursor: str | None) -> Page:
    page = store.list_api_keys(caller.tenant_id, limit, cursor)
    return Page([api_key_view(k) for k in page.items], page.next_cursor)


def revoke_api_key(caller: Caller, key_id: str, meta: RequestMeta) -> None:
    key = store.get_api_key(caller.tenant_id, key_id)
    if key is None or key.revoked:
        raise NotFound(f"API key {key_id} not found")
    store.revoke_api_key(key, _now())
    audit_as(caller, "api_key.revoke", "api_key", key_id, meta)


# ---------------------------------------------------------------- tenant
def tenant_usage(caller: Caller) -> dict:
    tenant = store.get_tenant(caller.tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    quotas = effective_quotas(tenant.quota_overrides)
    used = {
        "users": tenant.users_count,
        "projects": tenant.projects_count,
        "artifacts": tenant.artifacts_count,
        "stored_bytes": tenant.stored_bytes,
    }
    return {
        "id": tenant.tenant_id,
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
        "quotas": {name: QuotaUsage(name, int(used[name]), limit).to_body() for name, limit in quotas.items()},
    }
