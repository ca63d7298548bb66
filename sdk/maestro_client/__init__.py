"""Maestro ML client: `Client` (one typed method per API route), `Page` (cursor lists that iterate across pages),
and the exceptions it raises (`ApiError` and its subclasses carry the problem+json fields)."""

from maestro_client.client import ENDPOINTS, UNSET, Client, IntegrityError, WaitTimeout, file_sha256
from maestro_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    MaestroError,
    NotFound,
    NotLoggedIn,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
)
from maestro_client.pagination import Page
from maestro_client.transport import ApiKey, RetryPolicy, Tokens

__version__ = "0.1.0"

__all__ = [
    "ENDPOINTS",
    "UNSET",
    "ApiError",
    "ApiKey",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "IntegrityError",
    "MaestroError",
    "NotFound",
    "NotLoggedIn",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Tokens",
    "TransportError",
    "Unauthorized",
    "ValidationFailed",
    "WaitTimeout",
    "file_sha256",
]
