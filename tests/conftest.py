"""Test environment: stage `test`, its own table prefix and bucket, throwaway credentials, no hub downloads.

Set before anything imports the app: the app reads its settings once per process, as Lambda does.
"""

import os

TEST_ENV = {
    "MAESTRO_STAGE": "test",
    "MAESTRO_TABLE_PREFIX": "maestro-test",
    "MAESTRO_ARTIFACT_BUCKET": "maestro-test-artifacts",
    "MAESTRO_EVENT_BUS_NAME": "maestro-test",
    "MAESTRO_SECRETS_PREFIX": "maestro/test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "MaestroML",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    # The suite signs up many tenants from 127.0.0.1; the per-IP limit itself is tested with a low limit.
    "MAESTRO_SIGNUPS_PER_IP_PER_HOUR": "100000",
    # Likewise one admin seeds hundreds of objects in seconds; per-caller throttling is tested with low limits
    # (tests/integration/test_hardening.py) and the defaults are asserted in tests/unit/test_settings.py.
    "MAESTRO_THROTTLE_PRINCIPAL_UNITS": "1000000",
    "MAESTRO_THROTTLE_TENANT_UNITS": "1000000",
}
for _name, _value in TEST_ENV.items():
    os.environ[_name] = _value
for _name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "AWS_PROFILE"):
    os.environ.pop(_name, None)
