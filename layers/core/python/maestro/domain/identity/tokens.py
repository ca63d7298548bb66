"""Signed session tokens (JWT, RFC 8725 best practice) with a rotating HMAC key ring.

One algorithm (HS256) is pinned; the header is read only to choose the key, never to choose the algorithm.
Access and refresh tokens carry distinct `typ` headers (RFC 8725 §3.11) so one cannot stand in for the other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from maestro.domain.errors import Unauthenticated

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"
REFRESH_TOKEN_TYPE = "rt+jwt"
ACCESS_TTL_SECONDS = 15 * 60
REFRESH_TTL_SECONDS = 30 * 24 * 3600
# HS256 needs a key at least as long as its output (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32
# Far above any token we issue; refusing bigger input bounds the work an attacker can ask for.
MAX_TOKEN_LENGTH = 8192

_COMMON_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "tid", "sid"]
_ACCESS_CLAIMS = [*_COMMON_CLAIMS, "role"]
# Header parameters that would change how the token is read (RFC 7515 §4.1.11, RFC 7797); we issue neither.
_REFUSED_HEADERS = ("crit", "b64")


class InvalidToken(Unauthenticated):
    """A token was refused; `detail` (= `reason`) names the failure and never quotes the token or a key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SigningKeyRing:
    """The HMAC keys tokens may be verified with, by kid; new tokens are signed with `active_kid`.

    Keeping the previous key in the ring while a new one is active lets keys rotate without logging anyone out.
    """

    active_kid: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise ValueError(f"active_kid {self.active_kid!r} is not among the signing keys")
        for kid, secret in self.keys.items():
            if not kid:
                raise ValueError("a signing key has an empty kid")
            if len(secret) < MIN_SECRET_BYTES:
                raise ValueError(f"signing key {kid!r} is shorter than {MIN_SECRET_BYTES} bytes")

    @classmethod
    def from_secret(cls, value: dict[str, Any]) -> SigningKeyRing:
        """Parse the Secrets Manager JSON {"active_kid": ..., "keys": [{"kid": ..., "secret": ...}, ...]}."""
        if not isinstance(value, dict) or not isinstance(value.get("active_kid"), str):
            raise ValueError("the signing key secret needs a string active_kid")
        entries = value.get("keys")
        if not isinstance(entries, list) or not entries:
            raise ValueError("the signing key secret needs a non-empty list of keys")
        keys: dict[str, bytes] = {}
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            secret = entry.get("secret") if isinstance(entry, dict) else None
            if not isinstance(kid, str) or not isinstance(secret, str):
                raise ValueError("each signing key needs a string kid and a string secret")
            if kid in keys:
                raise ValueError(f"signing key {kid!r} appears twice")
            keys[kid] = secret.encode("utf-8")
        return cls(active_kid=value["active_kid"], keys=keys)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    tenant_id: str
    user_id: str
    role: str
    session_id: str
    jti: str
    expires_at: int


@dataclass(frozen=True)
class RefreshClaims:
    tenant_id: str
    user_id: str
    session_id: str
    jti: str
    expires_at: int


class TokenService:
    """Issues and verifies access and refresh tokens for one issuer and audience."""

    def __init__(
        self,
        keyring: SigningKeyRing,
        issuer: str,
        audience: str,
        access_ttl_seconds: int = ACCESS_TTL_SECONDS,
        refresh_ttl_seconds: int = REFRESH_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        leeway_seconds: int = 0,
    ) -> None:
        if access_ttl_seconds <= 0 or refresh_ttl_seconds <= 0 or leeway_seconds < 0:
            raise ValueError("token lifetimes must be positive and the leeway not negative")
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.access_ttl_seconds = access_ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds
        self.clock = clock
        self.leeway_seconds = leeway_seconds

    def issue_access(self, tenant_id: str, user_id: str, role: str, session_id: str) -> IssuedToken:
        """A token of `access_ttl_seconds` saying `user_id` acts in `tenant_id` with `role` in `session_id`."""
        return self._issue(
            ACCESS_TOKEN_TYPE, self.access_ttl_seconds, tenant_id, user_id, session_id, jti=None, extra={"role": role}
        )

    def issue_refresh(self, tenant_id: str, user_id: str, session_id: str, jti: str | None = None) -> IssuedToken:
        """A token of `refresh_ttl_seconds` for `session_id`; pass `jti` to choose its id (e.g. a stored rotation)."""
        return self._issue(
            REFRESH_TOKEN_TYPE, self.refresh_ttl_seconds, tenant_id, user_id, session_id, jti=jti, extra={}
        )

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; raises InvalidToken for anything else."""
        claims = self._verify(token, ACCESS_TOKEN_TYPE, _ACCESS_CLAIMS)
        role = claims["role"]
        if not isinstance(role, str) or not role:
            raise InvalidToken("malformed token")
        return AccessClaims(
            tenant_id=claims["tid"],
            user_id=claims["sub"],
            role=role,
            session_id=claims["sid"],
            jti=claims["jti"],
            expires_at=claims["exp"],
        )

    def verify_refresh(self, token: str) -> RefreshClaims:
        """The claims of a valid refresh token; raises InvalidToken for anything else (reuse is the caller's check)."""
        claims = self._verify(token, REFRESH_TOKEN_TYPE, _COMMON_CLAIMS)
        return RefreshClaims(
            tenant_id=claims["tid"],
            user_id=claims["sub"],
            session_id=claims["sid"],
            jti=claims["jti"],
            expires_at=claims["exp"],
        )

    def _issue(
        self, typ: str, ttl: int, tenant_id: str, user_id: str, session_id: str, jti: str | None, extra: dict[str, str]
    ) -> IssuedToken:
        now = int(self.clock())
        jti = jti or uuid.uuid4().hex
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "tid": tenant_id,
            "sid": session_id,
            **extra,
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
        }
        kid = self.keyring.active_kid
        token = jwt.encode(payload, self.keyring.keys[kid], algorithm=ALGORITHM, headers={"typ": typ, "kid": kid})
        return IssuedToken(token=token, jti=jti, expires_at=now + ttl, expires_in=ttl)

    def _verify(self, token: str, typ: str, required: list[str]) -> dict[str, Any]:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        # The header is attacker-controlled: it may pick nothing but the key, and only among ours.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported algorithm")
        if header.get("typ") != typ:
            raise InvalidToken("wrong token type")
        if any(name in header for name in _REFUSED_HEADERS):
            raise InvalidToken("malformed token")
        kid = header.get("kid")
        key = self.keyring.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # Time is checked below against the injected clock, not PyJWT's own.
                options={
                    "require": required,
                    "strict_aud": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing required claim: {exc.claim}") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken("unsupported algorithm") from None
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        self._check_times(claims)
        for name in ("sub", "tid", "sid", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise InvalidToken("malformed token")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        for name in ("exp", "nbf", "iat"):
            # bool is an int in Python; a JSON true is not a time.
            if not isinstance(claims[name], int) or isinstance(claims[name], bool):
                raise InvalidToken("malformed token")
        now, leeway = self.clock(), self.leeway_seconds
        if now >= claims["exp"] + leeway:
            raise InvalidToken("token expired")
        if claims["nbf"] > now + leeway:
            raise InvalidToken("token not yet valid")
        if claims["iat"] > now + leeway:
            raise InvalidToken("token issued in the future")
