"""The deployment package really runs on Lambda's file layout: the function zip unpacked as the task root, the
core layer as /opt, and a Python that sees nothing else (no site-packages), invoked with real events against
the moto server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.package import LAMBDA_UNZIPPED_LIMIT_BYTES, SIZE_REPORT
from tests.conftest import TEST_ENV

pytestmark = [pytest.mark.packaging, pytest.mark.integration]

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
DROP_KEY = "ingest/t1/p1/x.jsonl"
DROP_BODY = b'{"run": 1}\n'  # size and MD5 match the fixture event's detail.object

# Runs with `python -S`: the standard library only, then the task root and the layer, as Lambda orders them.
LAMBDA_INVOKE = r"""
import importlib, json, os, sys, sysconfig
task, opt, events, result_path = sys.argv[1:5]
sys.path[:0] = [task, os.path.join(opt, "python")]


class LambdaContext:
    function_name = "maestro-ml-dev-api_handler"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:maestro-ml-dev-api_handler"
    memory_limit_in_mb = 512
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/maestro-ml-dev-api_handler"
    log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 30_000


def load(name):
    with open(os.path.join(events, name)) as f:
        return json.load(f)


import app

result = {
    "health": app.app(load("apigw_get_health.json"), LambdaContext()),
    "ingest": app.ingest_object_created(load("eventbridge_s3_object_created.json"), LambdaContext()),
}
# Every compiled extension in the layer loads here (manylinux wheels for Lambda's platform, not this machine's).
layer = os.path.join(opt, "python")
for root, dirs, files in os.walk(layer):
    # <package>.libs folders hold the shared libraries auditwheel vendored (e.g. numpy's OpenBLAS): loaded by
    # the extensions that need them, not importable modules themselves.
    dirs[:] = [d for d in dirs if not d.endswith(".libs")]
    for name in files:
        if name.endswith(".so"):
            module = os.path.relpath(os.path.join(root, name.split(".")[0]), layer).replace(os.sep, ".")
            importlib.import_module(module)

stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
result["origins"] = {
    name: getattr(module, "__file__", None) for name, module in sys.modules.items()
    if name.split(".")[0] in ("app", "chalice", "functions", "maestro", "pydantic", "pynamodb", "boto3", "botocore")
    and "." not in name
}
result["outside"] = sorted(
    f"{name}: {module.__file__}" for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith((task, opt))
    and not (module.__file__.startswith(stdlib) and "site-packages" not in module.__file__)
)
result["sys_path"] = sys.path
with open(result_path, "w") as f:
    json.dump(result, f, default=str)
"""


def _unpack(archive: Path, into: Path) -> int:
    into.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(into)
    return sum(p.stat().st_size for p in into.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def lambda_filesystem(dev_package, tmp_path_factory):
    """An empty directory with only the function's code in task/ and its layer in opt/ (opt/python/...)."""
    root = tmp_path_factory.mktemp("lambda")
    task_bytes = _unpack(dev_package.deployment_zip, root / "task")
    opt_bytes = _unpack(dev_package.layers["CoreLayer"].zip_path, root / "opt")
    return root, task_bytes + opt_bytes


@pytest.fixture(scope="module")
def invocation(lambda_filesystem, local_stack, moto_endpoint):
    from maestro.aws_clients import client

    root, _ = lambda_filesystem
    client("s3").put_object(Bucket=TEST_ENV["MAESTRO_ARTIFACT_BUCKET"], Key=DROP_KEY, Body=DROP_BODY)
    result_path = root / "result.json"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **{k: v for k, v in TEST_ENV.items() if k != "HF_HUB_OFFLINE"},
        "AWS_ENDPOINT_URL": moto_endpoint,
        "POWERTOOLS_SERVICE_NAME": "maestro",
        "LAMBDA_TASK_ROOT": str(root / "task"),
    }
    completed = subprocess.run(
        [sys.executable, "-S", "-c", LAMBDA_INVOKE, str(root / "task"), str(root / "opt"), str(EVENTS_DIR),
         str(result_path)],
        cwd=root / "task", env=environ, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(result_path.read_text())


def test_the_package_imports_only_what_it_ships(invocation, lambda_filesystem):
    root, _ = lambda_filesystem
    assert invocation["outside"] == []
    origins = invocation["origins"]
    assert origins["app"] == str(root / "task" / "app.py")
    assert origins["functions"].startswith(str(root / "task" / "functions"))
    assert origins["chalice"].startswith(str(root / "task" / "chalice"))  # Chalice ships its runtime itself
    for layered in ("maestro", "pydantic", "pynamodb", "boto3", "botocore"):
        assert origins[layered].startswith(str(root / "opt" / "python" / layered)), layered
    assert not any("site-packages" in entry for entry in invocation["sys_path"])


def test_health_answers_from_the_unpacked_package(invocation):
    response = invocation["health"]
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["status"] == "ok"
    assert body["dependencies"]["dynamodb"]["ok"] and body["dependencies"]["s3"]["ok"]


def test_ingest_handler_handles_a_drop_from_the_unpacked_package(invocation, s3):
    # Tenant t1 does not exist on this endpoint: the handler ran (DynamoDB and S3 reached from the unpacked
    # package) and rejected the drop with its reason in the manifest.
    manifest = invocation["ingest"]
    assert (manifest["status"], manifest["reason"]) == ("rejected", "unknown tenant or project")
    assert (manifest["tenant_id"], manifest["project_id"]) == ("t1", "p1")
    stored = s3.get_object(Bucket=TEST_ENV["MAESTRO_ARTIFACT_BUCKET"], Key="ingest-results/t1/p1/x.jsonl.json")
    assert json.loads(stored["Body"].read())["object_key"] == DROP_KEY


def test_every_function_with_its_layers_fits_lambda(dev_package, lambda_filesystem, capsys):
    _, unpacked_bytes = lambda_filesystem
    report = dev_package.size_report()
    SIZE_REPORT.write_text(report)
    with capsys.disabled():
        print("\n" + report, end="")
    assert dev_package.sizes
    for size in dev_package.sizes:
        assert size.total_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES, report
        assert set(size.layer_bytes) == {"CoreLayer"}
    # The report counts what unzipping really puts on disk.
    assert unpacked_bytes == dev_package.sizes[0].total_bytes
