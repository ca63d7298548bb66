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
        # numpy's own test extensions (_umath_tests...) are not runtime modules; numpy 1.26's refuse to load
        # without NUMPY_EXPERIMENTAL_DTYPE_API.
        if name.endswith(".so") and not name.split(".")[0].endswith("_tests"):
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


# The embedding layer on top of the core layer, as Lambda stacks them in /opt: one embedding with nothing else on
# the path, every compiled extension of the embedding layer loaded, and where each module came from.
EMBED_FROM_LAYERS = r"""
import importlib, importlib.machinery, json, os, sys, sysconfig
task, opt, result_path = sys.argv[1:4]
sys.path[:0] = [task, os.path.join(opt, "python")]
from maestro_embedding import Encoder, model_dir

vectors = Encoder.load(model_dir()).encode(["The model drifted after the schema change.", "Le modèle a dérivé."])
layer = os.path.join(opt, "python")
suffixes = tuple(s for s in importlib.machinery.EXTENSION_SUFFIXES if s != ".so")  # not plain shared libraries
for package in ("onnxruntime", "tokenizers"):
    for root, dirs, files in os.walk(os.path.join(layer, package)):
        for name in files:
            if name.endswith(suffixes):
                module = os.path.relpath(os.path.join(root, name.split(".")[0]), layer).replace(os.sep, ".")
                importlib.import_module(module)
stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
result = {
    "model_dir": str(model_dir()),
    "vectors": vectors.tolist(),
    "origins": {name: sys.modules[name].__file__
                for name in ("maestro_embedding", "onnxruntime", "tokenizers", "numpy")},
    "heavy": [name for name in ("torch", "transformers", "sentence_transformers") if name in sys.modules],
    "outside": sorted(
        f"{name}: {module.__file__}" for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and not module.__file__.startswith((task, opt))
        and not (module.__file__.startswith(stdlib) and "site-packages" not in module.__file__)
    ),
}
with open(result_path, "w") as f:
    json.dump(result, f)
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
        [
            sys.executable,
            "-S",
            "-c",
            LAMBDA_INVOKE,
            str(root / "task"),
            str(root / "opt"),
            str(EVENTS_DIR),
            str(result_path),
        ],
        cwd=root / "task",
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
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


# The functions that run onnxruntime: text embedding (API queries, the embed function), reading a pushed model's
# ONNX signature when its upload is verified, and serving pushed models.
ONNX_RUNTIME_FUNCTIONS = {"APIHandler", "EmbedArtifacts", "VerifyArtifactUpload", "ServePredictions"}


def test_every_function_with_its_layers_fits_lambda(dev_package, lambda_filesystem, capsys):
    _, unpacked_bytes = lambda_filesystem
    report = dev_package.size_report()
    SIZE_REPORT.write_text(report)
    with capsys.disabled():
        print("\n" + report, end="")
    assert dev_package.sizes
    for size in dev_package.sizes:
        assert size.total_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES, report
        # The functions that run onnxruntime carry the embedding layer too; every function carries the core layer.
        expected = {"CoreLayer", "EmbeddingLayer"} if size.logical_id in ONNX_RUNTIME_FUNCTIONS else {"CoreLayer"}
        assert set(size.layer_bytes) == expected, size.logical_id
    # The report counts what unzipping really puts on disk.
    core_only = next(s for s in dev_package.sizes if set(s.layer_bytes) == {"CoreLayer"})
    assert unpacked_bytes == core_only.total_bytes


@pytest.fixture(scope="module")
def embedding_filesystem(dev_package, tmp_path_factory):
    """task/ with the function's code, opt/ with the core layer and the embedding layer unpacked over it."""
    root = tmp_path_factory.mktemp("lambda-embedding")
    layers = [dev_package.layers[name].zip_path for name in ("CoreLayer", "EmbeddingLayer")]
    names = [set(zipfile.ZipFile(layer).namelist()) for layer in layers]
    assert not names[0] & names[1], "a file in both layers: which one Lambda keeps depends on their order"
    task_bytes = _unpack(dev_package.deployment_zip, root / "task")
    (root / "opt").mkdir()
    for layer in layers:
        with zipfile.ZipFile(layer) as zipped:
            zipped.extractall(root / "opt")
    opt_bytes = sum(p.stat().st_size for p in (root / "opt").rglob("*") if p.is_file())
    return root, task_bytes + opt_bytes


def test_an_embedding_runs_from_the_unpacked_core_and_embedding_layers(embedding_filesystem):
    from infra.embedding_model import export_model
    from maestro_embedding import Encoder

    root, _ = embedding_filesystem
    result_path = root / "embedding.json"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "MAESTRO_EMBEDDING_MODEL_DIR": str(root / "opt" / "embedding-model"),
    }
    completed = subprocess.run(
        [sys.executable, "-S", "-c", EMBED_FROM_LAYERS, str(root / "task"), str(root / "opt"), str(result_path)],
        cwd=root / "task",
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(result_path.read_text())
    assert result["outside"] == [] and result["heavy"] == []
    assert result["model_dir"] == str(root / "opt" / "embedding-model")
    for name, origin in result["origins"].items():
        assert origin.startswith(str(root / "opt" / "python" / name)), (name, origin)
    import numpy as np

    in_layer = np.array(result["vectors"], dtype=np.float32)
    assert in_layer.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(in_layer, axis=1), 1.0, atol=1e-5)
    in_venv = Encoder.load(export_model().directory).encode(
        ["The model drifted after the schema change.", "Le modèle a dérivé."]
    )
    assert ((in_layer * in_venv).sum(axis=1) >= 0.9999).all()


def test_a_function_with_the_core_and_embedding_layers_fits_lambda(dev_package, embedding_filesystem):
    _, unpacked_bytes = embedding_filesystem
    size = dev_package.embedding_function_size
    assert set(size.layer_bytes) == {"CoreLayer", "EmbeddingLayer"}
    assert size.total_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES, dev_package.size_report()
    assert unpacked_bytes == size.total_bytes
    # Deployed as its own layer version, attached only to the functions that embed text.
    resources = dev_package.template["Resources"]
    assert resources["EmbeddingLayer"]["Properties"]["ContentUri"] == "./layers/embedding.zip"
    assert (dev_package.out_dir / "layers" / "embedding.zip").is_file()
    carriers = {
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function" and {"Ref": "EmbeddingLayer"} in r["Properties"].get("Layers", [])
    }
    assert carriers == ONNX_RUNTIME_FUNCTIONS
