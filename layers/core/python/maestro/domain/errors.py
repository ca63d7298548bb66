"""One error type per failure kind. The HTTP kit maps each to a status code in one place (maestro.http.problems)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a client can cause or a dependency can raise; `detail` is safe to show."""

    title = "Request failed"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class InvalidInput(DomainError):
    title = "Invalid request"


class ValidationFailed(DomainError):
    """The request parsed but broke a field rule; `errors` lists each broken field."""

    title = "Validation failed"


class Unauthenticated(DomainError):
    title = "Authentication required"


class PermissionDenied(DomainError):
    title = "Forbidden"


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class LostRace(Conflict):
    """A write without a precondition lost to a concurrent write of the same object. Use cases re-read and
    apply the change again (last writer wins); it reaches a client (409) only if it keeps losing."""


class PreconditionFailed(DomainError):
    title = "Precondition failed"


class PayloadTooLarge(DomainError):
    title = "Payload too large"


class QuotaExceeded(DomainError):
    title = "Quota exceeded"


class RateLimited(DomainError):
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after_seconds, **extensions)
        self.retry_after_seconds = retry_after_seconds


class DependencyUnavailable(DomainError):
    title = "Dependency unavailable"


class ConfigurationError(Exception):
    """The deployment is misconfigured (for example a missing or local-only secret outside local mode)."""
