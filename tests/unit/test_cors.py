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
    from infra.template import StageConfig, _console_upload_cors, gateway_responses

    stage = StageConfig("dev", {"MAESTRO_CORS_ORIGINS": f"{CONSOLE},https://other.example"})
    denied = gateway_responses(stage.console_origin)["ACCESS_DENIED"]["responseParameters"]
    assert denied["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{CONSOLE}'"
    rules = _console_upload_cors(stage)["CorsConfiguration"]["CorsRules"]
    assert rules[0]["AllowedOrigins"] == [CONSOLE] and set(rules[0]["AllowedMethods"]) == {"GET", "PUT"}
    without = StageConfig("dev", {})
    assert _console_upload_cors(without) == {}
    assert "gatewayresponse.header.Access-Control-Allow-Origin" not in (
        gateway_responses(without.console_origin)["ACCESS_DENIED"]["responseParameters"])
