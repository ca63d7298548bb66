"""API keys: `mml_<key_id>_<secret>`. Only a SHA-256 of the secret is stored; secrets carry 256 bits of
entropy, so a slow password hash would add latency to every machine request and no safety."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "mml_"
_KEY_FORMAT = re.compile(r"^mml_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewApiKey:
    key_id: str
    secret: str
    secret_hash: str

    @property
    def token(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}_{self.secret}"


def generate_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id, secret, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def parse_api_key(token: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None."""
    match = _KEY_FORMAT.match(token)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def key_owner(owner_user_id: str | None, created_by: str) -> str | None:
    """The user a key belongs to: the one recorded at creation, else (keys made before owners were recorded) the
    user who created it. None means a tenant-owned key: made by another key that had no owner."""
    if owner_user_id:
        return owner_user_id
    kind, _, principal = created_by.partition(":")
    return principal if kind == "user" and principal else None
