"""The outbound HTTP client (maestro.outbound) against real local servers that redirect: every hop checked,
credentials dropped when a redirect leaves the origin, metadata and private addresses refused."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from maestro.domain.errors import DependencyUnavailable
from maestro.outbound import OutboundClient, RefusedDestination, is_public_address

pytestmark = pytest.mark.integration


class Recorder(BaseHTTPRequestHandler):
    """Answers per path: /redirect?to=<url> redirects there; anything else answers 200 with what it got."""

    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.server.server_address, self.path, self.headers.get("Authorization")))
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    Recorder.seen = []
    started = []
    for host in ("127.0.0.1", "127.0.0.1", "127.0.0.2"):
        server = ThreadingHTTPServer((host, 0), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in started]
    for server in started:
        server.shutdown()
        server.server_close()


def _public_stand_in(**kwargs):
    """The production policy (no private, loopback, link-local addresses), except that 127.0.0.1 stands in for
    a public tracking server and speaks plain http (the only way to have one on this machine)."""
    return OutboundClient(
        allow_private=False, require_https=False, allowed_addresses=frozenset({"127.0.0.1"}), **kwargs
    )


@pytest.fixture
def client():
    return _public_stand_in(timeout=5)


def test_a_redirect_to_another_origin_loses_the_credentials(servers, client):
    first, second, _ = servers
    response = client.request(
        "GET", f"{first}/redirect?to={second}/api/2.0/x", headers={"Authorization": "Bearer tenant-secret"}
    )
    assert response.status == 200
    assert [auth for _, _, auth in Recorder.seen] == ["Bearer tenant-secret", None]


def test_a_redirect_within_the_origin_keeps_them(servers, client):
    first, _, _ = servers
    client.request("GET", f"{first}/redirect?to=/api/2.0/x", headers={"Authorization": "Bearer tenant-secret"})
    assert [auth for _, _, auth in Recorder.seen] == ["Bearer tenant-secret", "Bearer tenant-secret"]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.5/",
        "http://127.0.0.3:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "file:///etc/passwd",
    ],
)
def test_a_redirect_inward_is_refused_before_connecting(servers, client, target):
    first, _, _ = servers
    with pytest.raises(RefusedDestination):
        client.request("GET", f"{first}/redirect?to={target}", headers={"Authorization": "Bearer tenant-secret"})
    assert len(Recorder.seen) == 1  # only the first, allowed hop was ever contacted


def test_a_redirect_to_another_loopback_address_is_refused(servers, client):
    first, _, elsewhere = servers  # 127.0.0.2: loopback, not the stand-in
    with pytest.raises(RefusedDestination):
        client.request("GET", f"{first}/redirect?to={elsewhere}/")
    assert [address[0] for address, _, _ in Recorder.seen] == ["127.0.0.1"]


def test_the_name_is_resolved_at_every_request_and_the_checked_address_is_the_one_dialled(servers):
    first, _, _ = servers
    port = int(first.rsplit(":", 1)[1])
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])  # a DNS answer that changes after the first sync
    client = OutboundClient(
        allow_private=True, resolver=lambda host, _port: next(answers), allowed_addresses=frozenset()
    )
    assert client.request("GET", f"http://tracking.example:{port}/ok").status == 200
    production = OutboundClient(
        allow_private=False, resolver=lambda host, _port: ["169.254.169.254"], allowed_addresses=frozenset()
    )
    with pytest.raises(RefusedDestination):
        production.request("GET", f"https://tracking.example:{port}/ok")


def test_redirect_loops_and_silent_servers_end(servers, client):
    first, _, _ = servers
    loop = f"{first}/redirect?to=/redirect?to=/redirect?to=/redirect?to=/redirect?to=/x"
    with pytest.raises(DependencyUnavailable):
        client.request("GET", loop)
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never answers
    try:
        quick = _public_stand_in(timeout=0.5)
        with pytest.raises(DependencyUnavailable):
            quick.request("GET", f"http://127.0.0.1:{silent.getsockname()[1]}/")
    finally:
        silent.close()


def test_the_production_policy_refuses_http_and_private_names():
    production = OutboundClient(allow_private=False)
    for url in (
        "http://mlflow.example.com",
        "https://127.0.0.1:5000",
        "https://169.254.169.254",
        "ftp://x",
        "https://localhost",
    ):
        with pytest.raises(RefusedDestination):
            production.check_url(url)
    assert is_public_address("8.8.8.8") and not is_public_address("::ffff:169.254.169.254")
