"""Storage of tenants, users, sessions, API keys and rate-limit windows. Every write that must hold together
(an object and its tenant counter, an email claim and its user) is one transaction with conditions."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict, LostRace, PreconditionFailed
from maestro.domain.identity.quotas import quota_exceeded
from maestro.pagination import Page
from maestro.repositories.paging import query_page
from maestro.repositories.schema import ApiKey, RateLimitWindow, Session, Tenant, User, UserEmail
from maestro.repositories.tables import (
    ensure_bound,
    failed_conditions,
    get_item,
    is_condition_failure,
    transaction_conflicted,
    transaction_connection,
    update_if,
)

ADMIN = "admin"


# ---------------------------------------------------------------- tenants
def create_tenant_with_admin(tenant: Tenant, admin: User) -> None:
    ensure_bound()
    tenant.users_count = 1
    tenant.admin_count = 1
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.save(tenant, condition=Tenant.tenant_id.does_not_exist())
            tx.save(
                UserEmail(admin.email, tenant_id=admin.tenant_id, user_id=admin.user_id),
                condition=UserEmail.email.does_not_exist(),
            )
            tx.save(admin)
    except TransactWriteError as error:
        if 1 in failed_conditions(error):  # [tenant, email claim, user]
            raise Conflict("an account with this email already exists", field="email") from None
        raise


def get_tenant(tenant_id: str) -> Tenant | None:
    return get_item(Tenant, tenant_id)


# ---------------------------------------------------------------- users
def add_user(user: User, users_quota: int) -> None:
    """Create a user in an existing tenant: quota-checked counter, unique email and the user, all or nothing."""
    ensure_bound()
    counters: list[Action] = [Tenant.users_count.add(1)]
    if user.role == ADMIN:
        counters.append(Tenant.admin_count.add(1))
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.update(
                Tenant(user.tenant_id),
                actions=counters,
                condition=Tenant.tenant_id.exists() & (Tenant.users_count < users_quota),
            )
            tx.save(
                UserEmail(user.email, tenant_id=user.tenant_id, user_id=user.user_id),
                condition=UserEmail.email.does_not_exist(),
            )
            tx.save(user)
    except TransactWriteError as error:
        # pynamodb sends puts before updates: [email claim, user, tenant counter].
        failed = failed_conditions(error)
        if 2 in failed:
            raise quota_exceeded("users", users_quota) from None
        if 0 in failed:
            raise Conflict("an account with this email already exists", field="email") from None
        raise


def get_user(tenant_id: str, user_id: str) -> User | None:
    return get_item(User, tenant_id, user_id)


def find_user_by_email(email: str) -> User | None:
    ensure_bound()
    try:
        claim = UserEmail.get(email, consistent_read=True)
    except DoesNotExist:
        return None
    return get_user(claim.tenant_id, claim.user_id)


def list_users(tenant_id: str, limit: int, cursor: str | None) -> Page:
    return query_page(User, tenant_id, limit=limit, cursor=cursor, filter_condition=User.deleted_at.does_not_exist())


def change_user(
    user: User,
    *,
    role: str | None = None,
    active: bool | None = None,
    deleted_at: datetime | None = None,
    now: datetime,
    expected_version: int | None = None,
) -> User:
    """Apply role/active/deletion changes; the tenant's last active admin can be neither demoted nor removed.
    The admin counter and the user change in one transaction; the user's version guards lost updates: a
    concurrent change answers PreconditionFailed when the caller sent `expected_version` (If-Match), else
    LostRace (the use case reads again and retries)."""
    ensure_bound()
    was_admin = user.role == ADMIN and user.active and user.deleted_at is None
    new_role = role if role is not None else user.role
    new_active = (active if active is not None else user.active) and deleted_at is None and user.deleted_at is None
    is_admin = new_role == ADMIN and new_active
    actions: list[Action] = [User.updated_at.set(now)]
    if role is not None:
        actions.append(User.role.set(role))
    if active is not None:
        actions.append(User.active.set(active))
    if deleted_at is not None:
        actions += [User.deleted_at.set(deleted_at), User.active.set(False)]
    tenant_actions: list[Action] = []
    tenant_condition = None
    if was_admin and not is_admin:
        tenant_actions.append(Tenant.admin_count.add(-1))
        tenant_condition = Tenant.admin_count > 1
    elif is_admin and not was_admin:
        tenant_actions.append(Tenant.admin_count.add(1))
    if deleted_at is not None:
        tenant_actions.append(Tenant.users_count.add(-1))
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            if tenant_actions:
                tx.update(Tenant(user.tenant_id), actions=tenant_actions, condition=tenant_condition)
            tx.update(user, actions=actions)
    except TransactWriteError as error:
        failed = failed_conditions(error)
        user_index = 1 if tenant_actions else 0
        if tenant_condition is not None and 0 in failed:
            raise Conflict("the tenant's last admin cannot be demoted, deactivated or deleted") from None
        if user_index in failed or transaction_conflicted(error):
            if expected_version is not None:
                raise PreconditionFailed("the user changed since you read it", current_version=user.version) from None
            raise LostRace("the user changed while it was being changed") from None
        raise
    changed = get_user(user.tenant_id, user.user_id)
    if changed is None:
        raise LostRace("the user was deleted while it was being changed")
    return changed


def _login_attempts_key(email: str) -> str:
    return "login#" + hashlib.sha256(email.encode()).hexdigest()


def login_lock(email: str) -> datetime | None:
    """Until when logins with this email (an account's or not) are refused, if a lock was set."""
    ensure_bound()
    try:
        return RateLimitWindow.get(_login_attempts_key(email), consistent_read=True).locked_until
    except DoesNotExist:
        return None


def record_login_failure(email: str, now: datetime, keep_seconds: int) -> list[datetime]:
    """Append one failure for this email atomically (concurrent failures all count); the stored failures."""
    ensure_bound()
    attempts = RateLimitWindow(_login_attempts_key(email))
    attempts.update(
        actions=[
            RateLimitWindow.failures.set((RateLimitWindow.failures | []).append([now.timestamp()])),
            RateLimitWindow.expires_at_epoch.set(int(now.timestamp()) + keep_seconds),
        ]
    )
    return [datetime.fromtimestamp(float(at), UTC) for at in attempts.failures or []]


def lock_login(email: str, until: datetime) -> None:
    ensure_bound()
    RateLimitWindow(_login_attempts_key(email)).update(
        actions=[
            RateLimitWindow.locked_until.set(until),
            RateLimitWindow.failures.set([]),  # counting starts again when the lock ends
            RateLimitWindow.expires_at_epoch.set(int(until.timestamp()) + 60),
        ]
    )


def clear_login_failures(email: str) -> None:
    ensure_bound()
    RateLimitWindow(_login_attempts_key(email)).delete()


def set_password(user: User, password_hash: str, now: datetime) -> None:
    ensure_bound()
    user.update(
        actions=[User.password_hash.set(password_hash), User.invite_token_hash.remove(), User.updated_at.set(now)],
        add_version_condition=False,
    )


def claim_invitation(user: User, invite_token_hash: str, password_hash: str, now: datetime) -> bool:
    """Set the invited user's password only if this invitation is still unused: of concurrent acceptances
    exactly one wins (True); the others find the hash gone (False)."""
    ensure_bound()
    return update_if(
        user,
        [User.password_hash.set(password_hash), User.invite_token_hash.remove(), User.updated_at.set(now)],
        User.invite_token_hash == invite_token_hash,
        add_version_condition=False,
    )


# ---------------------------------------------------------------- sessions (refresh-token families)
def create_session(session: Session) -> None:
    ensure_bound()
    session.save(condition=Session.session_id.does_not_exist())


def get_session(tenant_id: str, session_id: str) -> Session | None:
    return get_item(Session, tenant_id, session_id)


def rotate_refresh(session: Session, presented_jti: str, new_jti: str) -> bool:
    """Move the family to `new_jti` only if `presented_jti` is still the current one (single use)."""
    ensure_bound()
    return update_if(
        session,
        [Session.current_refresh_jti.set(new_jti), Session.used_refresh_jtis.add({presented_jti})],
        (Session.current_refresh_jti == presented_jti) & (Session.revoked == False),  # noqa: E712
        add_version_condition=False,
    )


def revoke_session(session: Session, reason: str) -> None:
    ensure_bound()
    session.update(actions=[Session.revoked.set(True), Session.revoked_reason.set(reason)], add_version_condition=False)


def revoke_user_sessions(tenant_id: str, user_id: str, reason: str) -> int:
    ensure_bound()
    revoked = 0
    for session in Session.query(
        tenant_id,
        filter_condition=(Session.user_id == user_id) & (Session.revoked == False),  # noqa: E712
        consistent_read=True,
    ):
        revoke_session(session, reason)
        revoked += 1
    return revoked


# ---------------------------------------------------------------- API keys
def create_api_key(key: ApiKey) -> None:
    ensure_bound()
    key.save(condition=ApiKey.key_id.does_not_exist())


def list_api_keys(tenant_id: str, limit: int, cursor: str | None) -> Page:
    return query_page(ApiKey, tenant_id, limit=limit, cursor=cursor, filter_condition=ApiKey.revoked == False)  # noqa: E712


def get_api_key(tenant_id: str, key_id: str) -> ApiKey | None:
    return get_item(ApiKey, tenant_id, key_id)


def find_api_key(key_id: str) -> ApiKey | None:
    """The key with this id in any tenant (the id is random; the secret still has to match)."""
    ensure_bound()
    found = list(ApiKey.by_key_id.query(key_id, limit=1))
    return found[0] if found else None


def revoke_api_key(key: ApiKey, now: datetime) -> None:
    ensure_bound()
    key.update(actions=[ApiKey.revoked.set(True), ApiKey.last_used_at.set(key.last_used_at or now)])


def touch_api_key(key: ApiKey, now: datetime) -> None:
    ensure_bound()
    key.update(actions=[ApiKey.last_used_at.set(now)])


# ---------------------------------------------------------------- rate limits
def consume_rate_limit(
    limit_name: str, subject: str, limit: int, window_seconds: int, now: float, cost: int = 1
) -> int | None:
    """Count `cost` units in the current fixed window (one atomic conditional update); None if they fit under
    `limit`, else the seconds until the window ends (nothing is counted then)."""
    ensure_bound()
    window_start = math.floor(now / window_seconds) * window_seconds
    window = RateLimitWindow(f"{limit_name}#{subject}#{window_start}")
    try:
        window.update(
            actions=[
                RateLimitWindow.count.add(cost),
                RateLimitWindow.expires_at_epoch.set(window_start + 2 * window_seconds),
            ],
            condition=RateLimitWindow.count.does_not_exist() | (RateLimitWindow.count <= limit - cost),
        )
        return None
    except UpdateError as error:
        if is_condition_failure(error):
            return max(1, math.ceil(window_start + window_seconds - now))
        raise


def all_users(tenant_id: str) -> Iterable[User]:
    ensure_bound()
    return User.query(tenant_id, consistent_read=True)
