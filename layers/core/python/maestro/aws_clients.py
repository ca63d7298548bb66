"""The one place SDK clients are built.

Locally (stages local/test) clients go through localstack-client, which points every service at the local
endpoint (LOCALSTACK_HOST or AWS_ENDPOINT_URL). In AWS they are plain boto3 clients; an explicit
endpoint_url still wins, so any DynamoDB- or S3-compatible service can stand in.
"""

from __future__ import annotations

import threading
from typing import Any

from maestro.settings import Settings, get_settings

_clients: dict[tuple[str, str | None, str], Any] = {}
_lock = threading.Lock()


def _config(service: str) -> Any:
    from botocore.config import Config

    # Fail fast: a health check or a request must not hang on an unreachable endpoint.
    options: dict[str, Any] = {
        "connect_timeout": 3,
        "read_timeout": 30,
        "retries": {"mode": "standard", "max_attempts": 3},
    }
    if service == "s3":
        # SigV4 presigned URLs sign Content-Length, Content-Type and x-amz-checksum-sha256 (SigV2 cannot), and
        # AWS refuses SigV2 on a KMS-encrypted bucket.
        options["signature_version"] = "s3v4"
    return Config(**options)


def _build(service: str, settings: Settings) -> Any:
    if settings.endpoint_url:
        import boto3  # imported lazily: boto3 is on the cold path only for functions that use it

        return boto3.session.Session(region_name=settings.region).client(
            service, endpoint_url=settings.endpoint_url, config=_config(service)
        )
    if settings.is_local:
        import localstack_client.session

        return localstack_client.session.Session(region_name=settings.region).client(service, config=_config(service))
    import boto3

    return boto3.session.Session(region_name=settings.region).client(service, config=_config(service))


def client(service: str, settings: Settings | None = None) -> Any:
    """A cached client for `service`, bound to the configured region and endpoint."""
    settings = settings or get_settings()
    key = (service, settings.endpoint_url, settings.region)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = _build(service, settings)
    return found


def dynamodb_host(settings: Settings | None = None) -> str | None:
    """The DynamoDB endpoint pynamodb should use (None: the SDK default for the region)."""
    settings = settings or get_settings()
    if settings.endpoint_url:
        return settings.endpoint_url
    if settings.is_local:
        import localstack_client.config

        return localstack_client.config.get_service_endpoint("dynamodb")
    return None


def reset_clients() -> None:
    with _lock:
        _clients.clear()


# Error codes (botocore ClientError, or a cancelled transaction's reasons) that mean "try again later", not
# "your request is wrong": throttling, the service's own 5xx, and transactions colliding.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceeded",
        "ThrottlingException",
        "ThrottlingError",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "TransactionInProgressException",
    }
)


def is_transient_failure(error: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from, as pynamodb wraps botocore) is a dependency being
    throttled, failing or timing out: the API answers 503 with Retry-After for these, never 500."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, (ConnectionError, HTTPClientError, TimeoutError)):
            return True  # connect/read timeouts, refused or reset connections
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons", []) or []}
            if code in TRANSIENT_CODES or status >= 500 or reasons & TRANSIENT_CODES:
                return True
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
        seen += 1
    return False
