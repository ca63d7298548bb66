"""CORS rules for the web console: only configured origins are named, and `*` is refused outside local stages."""

import pytest
from pydantic import ValidationError

from maestro.http.cors import cors_config, preflight_headers, response_headers
from maestro.settings import Settings

CONSOLE = "https://console.maestro.example"


def test_only_a_configured_origin_is_named_back():
    settings = Settings(stage="dev", cors_origins=f"{CONSOLE}/, http://127.0.0.1:8001")
    assert settings.cors_origin_list == [CONSOLE, "http://127.0.0.1:8001"]
    assert response_headers(CONSOLE, settings)["Access-Control-Allow-Origin"] == CONSOLE
    assert response_headers("http://127.0.0.1:8001", settings)["Vary"] == "Origin"
    assert response_headers("https://evil.example", settings) == {}
    assert response_headers(None, settings) == {}


def test_preflight_allows_the_headers_the_console_sends():
    headers = preflight_headers(CONSOLE, Settings(stage="dev", cors_origins=CONSOLE))
    for name in ("Authorization", "Content-Type", "If-Match", "Idempotency-Key"):
        assert name in headers["Access-Control-Allow-Headers"]
    assert "PATCH" in headers["Access-Control-Allow-Methods"]
    assert "ETag" in headers["Access-Control-Expose-Headers"]


def test_no_origins_means_no_cors_at_all():
    settings = Settings(stage="prod")
    assert cors_config(settings) is None
    assert preflight_headers(CONSOLE, settings) == {}


def test_deployed_preflight_names_the_first_origin():
    config = cors_config(Settings(stage="prod", cors_origins=f"{CONSOLE},https://other.example"))
    assert config.allow_origin == CONSOLE


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_wildcard_origin_is_refused_outside_local_stages(stage):
    with pytest.raises(ValidationError, match="may not be"):
        Settings(stage=stage, cors_origins="*")
    assert response_headers("http://anything.example", Settings(stage="local", cors_origins="*"))


def test_deployed_gateway_errors_and_bucket_name_the_console_origin():
    from infra.template import StageConfig, gateway_responses
    from infra.template.storage import _console_upload_cors

    stage = StageConfig("dev", {"MAESTRO_CORS_ORIGINS": f"{CONSOLE},https://other.example"})
    denied = gateway_responses(stage.console_origin)["ACCESS_DENIED"]["responseParameters"]
    assert denied["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{CONSOLE}'"
    rules = _console_upload_cors(stage)["CorsConfiguration"]["CorsRules"]
    assert rules[0]["AllowedOrigins"] == [CONSOLE] and set(rules[0]["AllowedMethods"]) == {"GET", "PUT"}
    # written with a trailing slash, the origin is still the one a browser sends (as the functions read it)
    assert StageConfig("dev", {"MAESTRO_CORS_ORIGINS": f" {CONSOLE}/ "}).console_origin == CONSOLE
    without = StageConfig("dev", {})
    assert _console_upload_cors(without) == {}
    assert (
        "gatewayresponse.header.Access-Control-Allow-Origin"
        not in (gateway_responses(without.console_origin)["ACCESS_DENIED"]["responseParameters"])
    )


def test_every_answer_of_the_app_names_an_allowed_origin_and_only_that_one():
    """The real app, with its middlewares in their order: a route's answer, a 413 the problem middleware makes
    itself (before any view), and a caller from another origin, who gets no CORS header at all (not even the
    static one Chalice adds for the deployed preflight)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = """
import json
from chalice.test import Client
import app
with Client(app.app, stage_name="test") as client:
    out = {}
    for name, origin in (("allowed", "https://console.maestro.example"), ("other", "https://evil.example")):
        answer = client.http.get("/v1/openapi.json", headers={"Origin": origin})
        out[name] = [answer.status_code, {k: v for k, v in answer.headers.items()
                                          if k.lower().startswith("access-control-")}]
    big = client.http.post("/v1/auth/login", headers={"Origin": "https://console.maestro.example",
                           "Content-Type": "application/json"}, body="x" * 1_100_000)
    out["too_large"] = [big.status_code, {k: v for k, v in big.headers.items()
                                          if k.lower().startswith("access-control-")}]
    print(json.dumps(out))
"""
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "MAESTRO_STAGE": "test",
        "MAESTRO_CORS_ORIGINS": "http://127.0.0.1:8001,https://console.maestro.example",
        "PYTHONPATH": os.pathsep.join([str(root), str(root / "layers" / "core" / "python")]),
    }
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    status, headers = answers["allowed"]
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://console.maestro.example"
    status, headers = answers["other"]
    assert status == 200 and headers == {}
    status, headers = answers["too_large"]
    assert status == 413 and headers["Access-Control-Allow-Origin"] == "https://console.maestro.example"
