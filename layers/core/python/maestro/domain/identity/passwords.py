"""Password policy (NIST SP 800-63B: length, blocklist, no personal data) and argon2id hashing (OWASP minimum)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maestro.domain.errors import ValidationFailed

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# Below this an email local part ("al") is too short to forbid as a substring without rejecting ordinary passwords.
_MIN_CONTAINED_PART_LENGTH = 3

# OWASP Password Storage Cheat Sheet minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST_KIB = 19456
ARGON2_PARALLELISM = 1
ARGON2_HASH_LENGTH = 32
ARGON2_SALT_LENGTH = 16

# A hash of a random value that was thrown away, made with the parameters above. Verifying against it when the
# user is unknown costs the same time as a real verification, so response times do not reveal which users exist.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$rym5anp1cL+3w0RRNw382Q$M3z3JoZq8n8XuUkDMAKw8sECm7mjEKSysb0vOHDKYBY"

_hasher: PasswordHasher | None = None
_common_passwords: frozenset[str] | None = None


def _password_hasher() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher, Type

        _hasher = PasswordHasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_COST_KIB,
            parallelism=ARGON2_PARALLELISM,
            hash_len=ARGON2_HASH_LENGTH,
            salt_len=ARGON2_SALT_LENGTH,
            type=Type.ID,
        )
    return _hasher


def _common_password_set() -> frozenset[str]:
    global _common_passwords
    if _common_passwords is None:
        # zxcvbn's list loads a few MB of words; only pay for it when a password is actually checked.
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        # Entries shorter than the minimum are already refused by the length rule, so they need no room here.
        _common_passwords = frozenset(
            word.casefold() for word in FREQUENCY_LISTS["passwords"] if len(word) >= MIN_PASSWORD_LENGTH
        )
    return _common_passwords


def _email_local_parts(email: str | None) -> list[str]:
    """The local part of an email, and its base without a "+tag" (alice+ml@x -> alice+ml, alice)."""
    if not email:
        return []
    local = email.rsplit("@", 1)[0].strip().casefold()
    parts = [local, local.split("+", 1)[0]]
    return [part for part in dict.fromkeys(parts) if part]


def _personal_data_error(folded: str, email: str | None, name: str | None) -> str | None:
    for part in _email_local_parts(email):
        if folded == part or (len(part) >= _MIN_CONTAINED_PART_LENGTH and part in folded):
            return "must not contain your email address"
    if name and name.strip() and folded == name.strip().casefold():
        return "must not be your name"
    return None


def check_password_policy(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Return if `password` may be set; otherwise raise ValidationFailed listing every broken rule on "password".

    Rules: 12 to 128 characters (any characters, spaces included), not in the bundled list of common passwords,
    not the user's name and not containing the local part of their email address (all case-insensitive).
    """
    length = len(password)
    problems: list[tuple[str, str]] = []
    if length < MIN_PASSWORD_LENGTH:
        problems.append((f"must be at least {MIN_PASSWORD_LENGTH} characters", "string_too_short"))
    elif length > MAX_PASSWORD_LENGTH:
        problems.append((f"must be at most {MAX_PASSWORD_LENGTH} characters", "string_too_long"))
    else:
        folded = password.casefold()
        if folded in _common_password_set():
            problems.append(("is too common", "password_too_common"))
        personal = _personal_data_error(folded, email, name)
        if personal:
            problems.append((personal, "password_contains_personal_data"))
    if problems:
        raise ValidationFailed(
            "password does not meet the policy",
            errors=[{"field": "password", "message": message, "type": kind} for message, kind in problems],
        )


def hash_password(password: str) -> str:
    """The argon2id encoded hash of `password` (PHC string: algorithm, parameters and a fresh salt included)."""
    return _password_hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True only if `password` matches `stored_hash`. Never raises for a wrong password or a malformed hash.

    With no stored hash (unknown user, or a user without a password) it still does one full verification against
    a dummy hash, so the time taken does not say whether the user exists, and returns False.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _password_hasher()
    if stored_hash is None:
        try:
            hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True if `stored_hash` was made with other parameters than today's (or cannot be parsed): hash again at login."""
    from argon2.exceptions import InvalidHashError

    try:
        return _password_hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
