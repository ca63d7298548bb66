"""Outbound HTTP: the one client through which the platform calls servers a tenant names (the MLflow sync, and
anything later). A tenant must not be able to turn it inward:

- the host is resolved at every request, and every address it resolves to is checked; the connection is made
  to a checked address (not resolved again), so a DNS answer that changes between check and connect
  (rebinding) reaches nothing unchecked;
- outside the `local` stages, private, loopback, link-local (169.254.169.254, the instance metadata service),
  unique-local (fd00:ec2::254), multicast, reserved and unspecified addresses are refused: only public ones;
- redirects are followed by hand, at most MAX_REDIRECTS, each target checked like the first URL; credentials
  (Authorization, Cookie) are dropped as soon as a redirect leaves the original scheme, host and port, and an
  https URL never redirects to http;
- every request has a timeout (connect and each read).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from maestro.domain.errors import DependencyUnavailable, InvalidInput

MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], Iterable[str]]


class RefusedDestination(InvalidInput):
    """The URL (or a redirect) points where the platform does not call: not http(s), or not a public address."""


def _system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public_address(address: str) -> bool:
    """A global unicast address (not private, loopback, link-local, unique-local, multicast, reserved,
    unspecified, nor an IPv4 address mapped into IPv6 that is any of those)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


@dataclass
class OutboundClient:
    """`allow_private=True` only in the local stages (the local MLflow and moto live on 127.0.0.1)."""

    allow_private: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    resolver: Resolver = _system_resolver
    # Addresses allowed although not public, and plain http (tests stand a local server in for a public one).
    allowed_addresses: frozenset[str] = field(default_factory=frozenset)
    require_https: bool | None = None  # None: whenever private addresses are refused

    @classmethod
    def for_stage(cls) -> OutboundClient:
        from maestro.settings import get_settings

        settings = get_settings()
        return cls(allow_private=settings.is_local, timeout=settings.outbound_timeout_seconds)

    # ------------------------------------------------------------ checks
    def check_url(self, url: str, field_name: str = "url") -> tuple[urllib.parse.SplitResult, list[str]]:
        """The parsed URL and the checked addresses its host resolves to now; RefusedDestination otherwise."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedDestination(f"{field_name} must be an http(s) URL", field=field_name)
        require_https = (not self.allow_private) if self.require_https is None else self.require_https
        if require_https and parts.scheme != "https":
            raise RefusedDestination(f"{field_name} must use https", field=field_name)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise RefusedDestination(f"{field_name} has an invalid port", field=field_name) from None
        try:
            addresses = list(dict.fromkeys(self.resolver(parts.hostname, port)))
        except (OSError, UnicodeError):
            raise RefusedDestination(f"{field_name}'s host does not resolve", field=field_name) from None
        if not addresses:
            raise RefusedDestination(f"{field_name}'s host does not resolve", field=field_name)
        if not self.allow_private:
            for address in addresses:
                if address not in self.allowed_addresses and not is_public_address(address):
                    raise RefusedDestination(
                        f"{field_name} must be a public address; its host resolves to a private, loopback,"
                        " link-local or metadata address",
                        field=field_name,
                    )
        return parts, addresses

    # ------------------------------------------------------------ requests
    def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> OutboundResponse:
        """One request, following up to MAX_REDIRECTS redirects under the rules above. Transport failures
        raise DependencyUnavailable; the answer (any status) is returned."""
        headers = dict(headers or {})
        origin = None
        for _hop in range(MAX_REDIRECTS + 1):
            parts, addresses = self.check_url(url)
            here = (parts.scheme, parts.hostname, parts.port)
            if origin is None:
                origin = here
            elif here != origin:
                headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
            response = self._send(parts, addresses, method, headers, body)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            target = urllib.parse.urljoin(url, location)
            if parts.scheme == "https" and urllib.parse.urlsplit(target).scheme != "https":
                raise RefusedDestination("the server redirected from https to http", field="url")
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None  # as browsers do
            url = target
        raise DependencyUnavailable(f"more than {MAX_REDIRECTS} redirects")

    def _send(
        self,
        parts: urllib.parse.SplitResult,
        addresses: list[str],
        method: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> OutboundResponse:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        last_error: Exception | None = None
        for address in addresses:
            connection = _PinnedConnection(parts.scheme, parts.hostname or "", port, address, self.timeout)
            try:
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read(MAX_RESPONSE_BYTES + 1)
                if len(data) > MAX_RESPONSE_BYTES:
                    raise DependencyUnavailable("the server's answer is too large")
                return OutboundResponse(
                    answer.status,
                    {k.lower(): v for k, v in answer.getheaders()},
                    data,
                    urllib.parse.urlunsplit(parts),
                )
            except (OSError, http.client.HTTPException) as error:
                last_error = error
            finally:
                connection.close()
        raise DependencyUnavailable(f"the server did not answer ({type(last_error).__name__})")


class _PinnedConnection:
    """An HTTP(S) connection to one already-checked address, with the URL's host name kept for the Host
    header, SNI and certificate verification."""

    def __init__(self, scheme: str, host: str, port: int, address: str, timeout: float) -> None:
        self.scheme, self.host, self.port, self.address, self.timeout = scheme, host, port, address, timeout
        self._connection: Any = None

    def _connect(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
            raw = socket.create_connection((self.address, self.port), timeout=self.timeout)
            connection.sock = context.wrap_socket(raw, server_hostname=self.host)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            connection.sock = socket.create_connection((self.address, self.port), timeout=self.timeout)
        return connection

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> None:
        self._connection = self._connect()
        self._connection.request(method, path, body=body, headers=headers)

    def getresponse(self) -> http.client.HTTPResponse:
        return self._connection.getresponse()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
