"""The operator command creates a tenant where open signup is closed, and its admin can sign in."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import STRONG_PASSWORD, ApiClient

pytestmark = pytest.mark.integration
PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_operator_creates_a_tenant_and_admin(moto_endpoint, api_url):
    email = f"ops-{uuid.uuid4().hex[:6]}@ops.example"
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "MAESTRO_OPEN_SIGNUP": "false"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.operator",
            "create-tenant",
            "--tenant-name",
            "Ops",
            "--email",
            email,
            "--name",
            "Ops Admin",
            "--password-stdin",
        ],
        input=STRONG_PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert STRONG_PASSWORD not in result.stdout + result.stderr
    login = ApiClient(api_url).post("/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD})
    assert login.status_code == 200
    assert login.json()["user"]["tenant_id"] == created["tenant_id"] and login.json()["user"]["role"] == "admin"


def test_operator_refuses_a_weak_password(moto_endpoint):
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.operator",
            "create-tenant",
            "--tenant-name",
            "W",
            "--email",
            f"w-{uuid.uuid4().hex[:6]}@w.example",
            "--name",
            "W",
            "--password-stdin",
        ],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "password" in result.stderr
