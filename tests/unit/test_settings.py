from maestro.settings import Settings


def test_settings_read_maestro_variables_and_derive_names():
    settings = Settings.from_environ(
        {"MAESTRO_STAGE": "dev", "MAESTRO_TABLE_PREFIX": "maestro-dev", "MAESTRO_SECRETS_PREFIX": "maestro/dev"}
    )
    assert settings.stage == "dev"
    assert not settings.is_local
    assert settings.table_name("projects") == "maestro-dev-projects"
    assert settings.secret_name("jwt-signing-keys") == "maestro/dev/jwt-signing-keys"


def test_shared_aws_endpoint_applies_when_no_maestro_endpoint_is_set():
    assert Settings.from_environ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}).endpoint_url == "http://127.0.0.1:4566"
    explicit = Settings.from_environ({"AWS_ENDPOINT_URL": "http://a:1", "MAESTRO_ENDPOINT_URL": "http://b:2"})
    assert explicit.endpoint_url == "http://b:2"


def test_unknown_stage_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings.from_environ({"MAESTRO_STAGE": "staging"})
