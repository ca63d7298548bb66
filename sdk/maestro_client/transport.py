"""HTTP for the client: credentials (API key or access + refresh token, refreshed before expiry and once on a
401), an Idempotency-Key on every POST (the same key on each retry), and retries with exponential backoff and
jitter on 429/503 and on connection failures, honouring Retry-After."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from maestro_client.errors import TransportError, error_for, parse_retry_after

RETRY_STATUSES = frozenset({429, 503})
REFRESH_MARGIN_SECONDS = 30  # refresh this long before the access token expires (clock skew, request time)
USER_AGENT = "maestro-client/0.1.0"


@dataclass
class RetryPolicy:
    """`max_retries` retries after the first attempt; the n-th waits Retry-After when the answer gives one,
    else `backoff * 2**n` seconds with jitter (half fixed, half random), capped at `max_backoff`. A Retry-After
    longer than `max_retry_after` is not waited out: the error is raised with it (e.g. a locked account)."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base / 2 + random.uniform(0, base / 2)


class Credentials:
    """Adds authentication headers to a request. Subclasses: ApiKey, Tokens."""

    def headers(self, transport: Transport) -> dict[str, str]:
        return {}

    def can_refresh(self) -> bool:
        return False

    def refresh(self, transport: Transport) -> None:
        raise NotImplementedError


class ApiKey(Credentials):
    def __init__(self, key: str) -> None:
        self.key = key

    def headers(self, transport: Transport) -> dict[str, str]:
        return {"X-Api-Key": self.key}


class Tokens(Credentials):
    """A JWT access token, and optionally the refresh token that renews it. `on_refresh(tokens)` is called
    after each renewal, e.g. to save them (refresh tokens are single use: the old one is spent)."""

    def __init__(
        self,
        access_token: str,
        refresh_token: str | None = None,
        expires_at: float | None = None,
        on_refresh: Callable[[Tokens], None] | None = None,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.on_refresh = on_refresh
        self._lock = threading.Lock()

    def headers(self, transport: Transport) -> dict[str, str]:
        if self.expiring() and self.can_refresh():
            self.refresh(transport)
        return {"Authorization": f"Bearer {self.access_token}"}

    def expiring(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - REFRESH_MARGIN_SECONDS

    def can_refresh(self) -> bool:
        return bool(self.refresh_token)

    def refresh(self, transport: Transport) -> None:
        with self._lock:
            body = transport.call(
                "POST", "/v1/auth/refresh", json={"refresh_token": self.refresh_token}, authenticated=False
            )
            self.update(body)
        if self.on_refresh:
            self.on_refresh(self)

    def update(self, body: dict[str, Any]) -> None:
        """Take the tokens of a login/refresh/signup answer."""
        self.access_token = body["access_token"]
        self.refresh_token = body.get("refresh_token", self.refresh_token)
        expires_in = body.get("expires_in")
        self.expires_at = time.time() + float(expires_in) if expires_in is not None else None

    @classmethod
    def from_answer(cls, body: dict[str, Any]) -> Tokens:
        """The tokens of a login/refresh/signup answer."""
        tokens = cls(body["access_token"])
        tokens.update(body)
        return tokens


class Transport:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.sleep = sleep
        self.user_agent = user_agent

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        idempotency_key: str | None = None,
    ) -> Any:
        """The decoded JSON body of a successful answer (None when empty); raises ApiError for >= 400."""
        response = self.send(
            method,
            path,
            params=params,
            json=json,
            data=data,
            headers=headers,
            authenticated=authenticated,
            idempotency_key=idempotency_key,
        )
        return _body(response)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        idempotency_key: str | None = None,
    ) -> requests.Response:
        method = method.upper()
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        base_headers = {
            "Accept": "application/json, application/problem+json",
            "User-Agent": self.user_agent,
            **(headers or {}),
        }
        if method == "POST":
            # One key for the whole call: a retried POST returns the first answer and creates nothing new.
            base_headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
        params = {k: v for k, v in (params or {}).items() if v is not None} or None
        attempt, refreshed = 0, False
        while True:
            request_headers = dict(base_headers)
            if authenticated and self.credentials is not None:
                request_headers.update(self.credentials.headers(self))
            try:
                response = self.session.request(
                    method, url, params=params, json=json, data=data, headers=request_headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                # PATCH is the one method a blind resend could apply twice (POST carries its idempotency key).
                delay = None if method == "PATCH" else self.retry.delay(attempt, None)
                if delay is None:
                    raise TransportError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
                self.sleep(delay)
                attempt += 1
                continue
            if (
                response.status_code == 401
                and authenticated
                and not refreshed
                and self.credentials is not None
                and self.credentials.can_refresh()
            ):
                refreshed = True
                self.credentials.refresh(self)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if delay is not None:
                    self.sleep(delay)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise error_for(
                    response.status_code, _body(response), method=method, url=url, headers=dict(response.headers)
                )
            return response


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


__all__ = ["ApiKey", "Credentials", "RetryPolicy", "Tokens", "Transport", "parse_retry_after"]
