"""Exceptions raised by the client. Every answer of 400 or more becomes an `ApiError` (a subclass chosen by
status) carrying the RFC 9457 problem+json fields; a request that never got an answer is a `TransportError`."""

from __future__ import annotations

import email.utils
import time
from typing import Any


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class MaestroError(Exception):
    """Base of everything this package raises."""


class TransportError(MaestroError):
    """No HTTP answer: connection refused, DNS, timeout (after the retries)."""


class NotLoggedIn(MaestroError):
    """No credentials are configured (run `maestro login`, or pass a token or an API key)."""


class ApiError(MaestroError):
    """An answer with status >= 400, with the problem+json fields the platform sends."""

    def __init__(
        self, status: int, body: Any = None, *, method: str = "", url: str = "", headers: dict[str, str] | None = None
    ) -> None:
        problem = body if isinstance(body, dict) else {}
        self.status: int = status
        self.type: str | None = problem.get("type")
        self.title: str | None = problem.get("title")
        self.detail: str | None = problem.get("detail") if problem else (str(body) if body else None)
        self.instance: str | None = problem.get("instance")
        self.errors: list[dict[str, Any]] = list(problem.get("errors") or [])
        # Any other member (e.g. `permission`, `limit`, `field`): RFC 9457 extensions.
        self.extensions: dict[str, Any] = {
            k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail", "instance", "errors"}
        }
        self.body = body
        self.method = method
        self.url = url
        self.headers = dict(headers or {})
        super().__init__(self._message())

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))

    def to_problem(self) -> dict[str, Any]:
        """The problem document as received (or rebuilt when the body was not problem+json)."""
        if isinstance(self.body, dict):
            return dict(self.body)
        return {"status": self.status, "title": self.title or "Error", "detail": self.detail}

    def _message(self) -> str:
        text = f"{self.status} {self.title or 'Error'}"
        if self.detail:
            text += f": {self.detail}"
        for error in self.errors[:10]:
            text += f"\n  - {error.get('field', '?')}: {error.get('message', error)}"
        return text


class BadRequest(ApiError):
    """400: malformed request (bad JSON, bad parameter)."""


class Unauthorized(ApiError):
    """401: missing, expired or revoked credentials."""


class Forbidden(ApiError):
    """403: the role may not do this, or a quota is reached."""


class NotFound(ApiError):
    """404: no such resource in the caller's tenant (or no such route)."""


class Conflict(ApiError):
    """409: e.g. a name already taken, a version already declared."""


class PreconditionFailed(ApiError):
    """412: the If-Match ETag is stale."""


class PayloadTooLarge(ApiError):
    """413."""


class ValidationFailed(ApiError):
    """422: invalid fields, each in `errors`."""


class RateLimited(ApiError):
    """429: too many requests (see `retry_after`)."""


class ServerError(ApiError):
    """5xx."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
}


def error_for(status: int, body: Any, **context: Any) -> ApiError:
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, body, **context)
