"""Integration fixtures: a real moto server process on 127.0.0.1, reached over HTTP, started and stopped here."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from infra.local.moto_server import MotoServer, free_port

BUILD_DIR = Path(__file__).resolve().parents[2] / "build"


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
    import app
    from chalice.config import Config
    from infra.local.api_server import create_api_server

    config = Config.create(chalice_stage="test", app_name="maestro-ml", chalice_app=app.app,
                           project_dir=str(Path(app.__file__).parent))
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
