"""Outside local mode the app refuses to start on a missing or local-only secret (Secrets Manager on moto)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.domain.errors import ConfigurationError
from maestro.settings import Settings
from maestro.startup import assert_deployable

pytestmark = pytest.mark.integration
PROJECT_DIR = Path(__file__).resolve().parents[2]


IN_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "maestro-ml-prod-APIHandler"}


def _stage(prefix, endpoint):
    return Settings(stage="prod", secrets_prefix=prefix, endpoint_url=endpoint, secrets_max_age_seconds=0)


def test_missing_secret_refuses_to_start(moto_endpoint):
    with pytest.raises(ConfigurationError, match="missing"):
        assert_deployable(_stage("maestro/prod-missing", moto_endpoint), IN_LAMBDA)


def test_local_only_secret_refuses_to_start(moto_endpoint):
    from maestro.aws_clients import client

    client("secretsmanager").create_secret(
        Name="maestro/prod-copied/jwt-signing-keys", SecretString=json.dumps({"local_only": True, "keys": []})
    )
    with pytest.raises(ConfigurationError, match="local-only"):
        assert_deployable(_stage("maestro/prod-copied", moto_endpoint), IN_LAMBDA)


def test_real_secret_lets_it_start(moto_endpoint):
    from maestro.aws_clients import client

    client("secretsmanager").create_secret(
        Name="maestro/prod-real/jwt-signing-keys",
        SecretString=json.dumps({"active_kid": "k1", "keys": [{"kid": "k1", "secret": os.urandom(32).hex()}]}),
    )
    assert_deployable(_stage("maestro/prod-real", moto_endpoint), IN_LAMBDA)


def test_importing_the_app_in_prod_without_secrets_fails(moto_endpoint):
    env = {
        **os.environ,
        **IN_LAMBDA,
        "MAESTRO_STAGE": "prod",
        "MAESTRO_SECRETS_PREFIX": "maestro/prod-nothing",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr and "maestro/prod-nothing/jwt-signing-keys" in result.stderr


def test_tools_that_only_import_the_app_are_not_checked(moto_endpoint):
    """`chalice package` imports app.py with the stage's environment and no credentials."""
    env = {
        **os.environ,
        "MAESTRO_STAGE": "prod",
        "MAESTRO_SECRETS_PREFIX": "maestro/prod-nothing",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
