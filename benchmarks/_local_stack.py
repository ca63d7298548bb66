"""Shared by the benchmarks: a moto server with every resource, in this process's environment."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

# The functions' runtime environment (.chalice/config.json: one BLAS thread among it), before numpy is imported.
from infra.local.run import function_environment  # noqa: E402

for _name, _value in function_environment().items():
    os.environ.setdefault(_name, _value)


def sizes(doc: str, **defaults: int) -> argparse.Namespace:
    """The benchmark's command line: one integer option a size (`large_mb=50` is `--large-mb`, default 50)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    return parser.parse_args()


@contextmanager
def local_stack():
    from infra.local.moto_server import MotoServer, free_port

    server = MotoServer(free_port()).start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "MAESTRO_STAGE": "test",
            "MAESTRO_TABLE_PREFIX": "maestro-bench",
            "MAESTRO_ARTIFACT_BUCKET": "maestro-bench-artifacts",
            "MAESTRO_SECRETS_PREFIX": "maestro/bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "MAESTRO_SIGNUPS_PER_IP_PER_HOUR": "1000000",
            # benchmarks time the work, not the per-caller throttle (0 turns a limit off)
            "MAESTRO_THROTTLE_PRINCIPAL_UNITS": "0",
            "MAESTRO_THROTTLE_TENANT_UNITS": "0",
        }
    )
    try:
        import app
        from infra.local.bootstrap import bootstrap
        from maestro.settings import get_settings

        bootstrap(get_settings(), app.app)
        yield app
    finally:
        server.stop()


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(call, runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of `runs` calls."""
    import time

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)
