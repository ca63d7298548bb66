"""Integration fixtures: a real moto server process on 127.0.0.1, reached over HTTP, started and stopped here."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from infra.local.moto_server import MotoServer, free_port

BUILD_DIR = Path(__file__).resolve().parents[2] / "build"
PACKAGED_STAGE = "dev"


def _rebind() -> None:
    from maestro.aws_clients import reset_clients
    from maestro.secrets import reset_secret_cache
    from maestro.settings import reset_settings

    reset_settings()
    reset_clients()
    reset_secret_cache()


@pytest.fixture(scope="session")
def moto_endpoint():
    BUILD_DIR.mkdir(exist_ok=True)
    server = MotoServer(free_port(), log_path=BUILD_DIR / "moto-test.log").start()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    _rebind()
    yield server.endpoint
    server.stop()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    _rebind()


@pytest.fixture(scope="session")
def local_stack(moto_endpoint):
    """Every resource created on the moto server; returns the dispatcher's queue map."""
    import app
    from infra.local.bootstrap import bootstrap
    from maestro.settings import get_settings

    return bootstrap(get_settings(), app.app)


@pytest.fixture(scope="session")
def dispatcher(local_stack):
    import app
    from infra.local.dispatcher import EventDispatcher, chalice_handlers
    from maestro.settings import get_settings

    running = EventDispatcher(get_settings(), local_stack, chalice_handlers(app, list(local_stack))).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api_url(local_stack):
    """The API served by Chalice's local server (with the deployed gateway responses) on a free port."""
    from chalice.config import Config

    import app
    from infra.local.api_server import create_api_server

    config = Config.create(
        chalice_stage="test", app_name="maestro-ml", chalice_app=app.app, project_dir=str(Path(app.__file__).parent)
    )
    port = free_port()
    server = create_api_server(app.app, config, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def s3(moto_endpoint):
    from maestro.aws_clients import client

    return client("s3")


@pytest.fixture
def dynamodb(moto_endpoint):
    from maestro.aws_clients import client

    return client("dynamodb")


# ---------------------------------------------------------------- API clients
def problem(response, status: int) -> dict:
    """The body of an error answer, after checking it is `status` and RFC 9457 problem+json."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["title"] and body["type"].startswith("https://") and body["status"] == status
    return body


STRONG_PASSWORD = "orchestra-tuning-fork-42"


def add_user(client, role: str, prefix: str = "u", name: str = "U") -> dict:
    """A new user of `role` with a fresh email (`<prefix>-<hex>@x.example`) and STRONG_PASSWORD."""
    email = f"{prefix}-{uuid.uuid4().hex[:6]}@x.example"
    return client.post(
        "/v1/users", json={"email": email, "name": name, "role": role, "password": STRONG_PASSWORD}
    ).json()


def create_project(client, name: str, problem_class: str = "classification", **fields) -> dict:
    """A new project (201 checked), with a mid-sized default profile that `fields` may override."""
    body = {"name": name, "problem_class": problem_class, "complexity_score": 5, "team_size": 3, **fields}
    response = client.post("/v1/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def declare_version(client, artifact_id: str, content: bytes, content_type: str, version: str = "1.0.0"):
    """The answer to declaring `version` of an artifact as `content` (its size and SHA-256): on 201, the
    presigned upload is in its body."""
    return client.post(
        f"/v1/artifacts/{artifact_id}/versions",
        json={
            "version": version,
            "size_bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "content_type": content_type,
        },
    )


def poll(fetch, finished, timeout_s: float, interval_s: float):
    """Call `fetch` until `finished(answer)` or the time is up; the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = fetch()
        if finished(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(interval_s)


class ApiClient:
    """A thin requests wrapper bound to the local API and, optionally, a credential."""

    def __init__(
        self, base_url: str, token: str | None = None, api_key: str | None = None, refresh_token: str | None = None
    ) -> None:
        self.base_url = base_url
        self.headers = {}
        self.refresh_token = refresh_token
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if api_key:
            self.headers["X-Api-Key"] = api_key

    def request(self, method: str, path: str, json=None, headers=None, **kwargs):
        import requests

        def send():
            return requests.request(
                method,
                self.base_url + path,
                json=json,
                timeout=30,
                headers={**self.headers, **(headers or {})},
                **kwargs,
            )

        response = send()
        # Session fixtures outlive a 15-minute access token on a long run: renew it as the SDK does, once.
        if self.refresh_token and response.status_code == 401 and "token expired" in response.text:
            renewed = requests.post(
                self.base_url + "/v1/auth/refresh", json={"refresh_token": self.refresh_token}, timeout=30
            )
            if renewed.status_code == 200:
                self.refresh_token = renewed.json()["refresh_token"]
                self.headers["Authorization"] = f"Bearer {renewed.json()['access_token']}"
                response = send()
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class TenantFixture:
    """A tenant made through the API: its admin's tokens, and clients for any role."""

    def __init__(self, api_url: str, name: str) -> None:
        import uuid

        self.api_url = api_url
        self.email = f"admin-{uuid.uuid4().hex[:10]}@{name.lower()}.example"
        response = ApiClient(api_url).post(
            "/v1/auth/signup",
            json={"tenant_name": name, "email": self.email, "password": STRONG_PASSWORD, "name": f"{name} Admin"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        self.tokens = body
        self.tenant_id = body["user"]["tenant_id"]
        self.admin_id = body["user"]["id"]
        self.admin = ApiClient(api_url, token=body["access_token"], refresh_token=body["refresh_token"])
        self._role_clients: dict[str, ApiClient] = {}

    def client_for(self, role: str) -> ApiClient:
        """A client holding an API key of `role` (keys avoid an argon2 login per role)."""
        if role not in self._role_clients:
            response = self.admin.post("/v1/api-keys", json={"name": f"{role} key", "role": role})
            assert response.status_code == 201, response.text
            self._role_clients[role] = ApiClient(self.api_url, api_key=response.json()["key"])
        return self._role_clients[role]


@pytest.fixture
def new_tenant(api_url):
    import uuid

    return lambda name=None: TenantFixture(api_url, name or f"T{uuid.uuid4().hex[:8]}")


@pytest.fixture
def tenant(new_tenant):
    return new_tenant()


@pytest.fixture(scope="session")
def embedding_model():
    """The MiniLM export semantic search runs on (cached in build/embedding-model; a fresh clone has none until
    this runs, and the API then searches by keyword and says so)."""
    from infra.embedding_model import export_model

    return export_model()


@pytest.fixture(scope="session")
def dev_package():
    """The dev stage's deployment package (chalice package + merged template + core layer), built once."""
    from infra.package import build_package

    return build_package(PACKAGED_STAGE)


# ---------------------------------------------------------------- meta-learning: one trained tenant per session
SEEDED_PROJECTS = 100
PROFILE = {
    "problem_class": "classification",
    "complexity_score": 5.5,
    "team_size": 4,
    "description": "churn classification for retail customers with a feature pipeline",
    "members": [
        {"role": "ml_engineer", "experience_level": "senior"},
        {"role": "analyst", "experience_level": "mid"},
        {"role": "data_engineer", "experience_level": "mid"},
        {"role": "ml_scientist", "experience_level": "junior"},
    ],
}


@pytest.fixture(scope="session")
def mlflow_tracking(moto_endpoint, local_stack, tmp_path_factory):
    """A real `mlflow server` whose artifacts land in the moto bucket, named by MAESTRO_MLFLOW_TRACKING_URI."""
    from infra.local.mlflow_server import MlflowServer
    from maestro.settings import get_settings, reset_settings

    bucket = get_settings().artifact_bucket
    server = MlflowServer(
        tmp_path_factory.mktemp("mlflow-meta"), artifacts_destination=f"s3://{bucket}/mlflow", s3_endpoint=moto_endpoint
    ).start()
    os.environ["MAESTRO_MLFLOW_TRACKING_URI"] = server.uri
    reset_settings()
    yield server.uri
    os.environ.pop("MAESTRO_MLFLOW_TRACKING_URI", None)
    reset_settings()
    server.stop()


class TrainedTenant:
    def __init__(self, tenant, history, before, accepted, job) -> None:
        self.tenant, self.history, self.before, self.accepted, self.job = tenant, history, before, accepted, job


@pytest.fixture(scope="session")
def trained_tenant(api_url, dispatcher, mlflow_tracking):
    """A tenant seeded with a generated history of SEEDED_PROJECTS projects and retrained through the API (the
    dispatcher delivers the job's event to the retrain handler). Serving re-reads the champion pointers on
    every request in this session (in AWS: every 30 s)."""
    from infra.local.demo_history import seed_history
    from maestro.domain.meta.synthetic import generate_history
    from maestro.services.meta import champions

    champions.CHAMPION_TTL_SECONDS = 0.0
    tenant = TenantFixture(api_url, "History")
    history = generate_history(n_projects=SEEDED_PROJECTS, n_artifacts=30, seed=11)
    seed_history(tenant.tenant_id, history, actor=tenant.admin_id, progress=lambda message: None)
    before = tenant.admin.post("/v1/predictions", json={"profile": PROFILE}).json()
    accepted = tenant.admin.post("/v1/models/meta/retrain")
    assert accepted.status_code == 202, accepted.text
    return TrainedTenant(tenant, history, before, accepted.json(), wait_for_job(tenant.admin, accepted.json()["id"]))


def wait_for_job(client, job_id: str, timeout_s: float = 600) -> dict:
    """Poll a retrain job until it finished (or the time is up); the last view of it."""
    return poll(
        lambda: client.get(f"/v1/models/meta/jobs/{job_id}").json(),
        lambda job: job["state"] in ("succeeded", "failed"),
        timeout_s,
        1,
    )


# ---------------------------------------------------------------- the CLI (tests/integration/test_cli*.py)
@pytest.fixture
def maestro(tmp_path, api_url):
    """Run the CLI in a fresh process with its own config dir; returns the CompletedProcess."""
    config = tmp_path / "maestro-config"

    import subprocess
    import sys

    def run(*args, stdin: str | bytes | None = None, env: dict | None = None, cwd=None, timeout: float = 120):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_API_")}
        environment.update(
            {"MAESTRO_CONFIG_DIR": str(config), "MAESTRO_API_URL": api_url, "COLUMNS": "200", **(env or {})}
        )
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return subprocess.run(
            [sys.executable, "-m", "maestro_client.cli", *args],
            input=data,
            capture_output=True,
            env=environment,
            cwd=cwd or tmp_path,
            timeout=timeout,
        )

    run.config = config
    run.credentials = config / "credentials.json"
    return run


@pytest.fixture
def logged_in(maestro, tenant):
    result = maestro("login", "--email", tenant.email, "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr.decode()
    return maestro, tenant
