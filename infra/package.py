"""Build the deployable package of a stage: `python -m infra.package --stage dev [--out build/package/dev]`.

1. builds the core layer (infra/layers.py) and the embedding layer (infra/embedding_layer.py, which exports the
   model first unless build/embedding-model holds a matching export);
2. stages the project under build/ (app.py, chalicelib/, and functions/ as vendor/functions, since Chalice
   packages only app.py, chalicelib/ and vendor/), so the repository tree stays clean;
3. runs `chalice package` once to read the functions Chalice emits, derives the merge template from that
   (infra/template/), and runs `chalice package --merge-template` into the output directory;
4. checks the merged template and reports each function's unzipped size plus its layers against Lambda's limit,
   and the size a function would have with the embedding layer beside the core layer.

Needs AWS_DEFAULT_REGION (defaulted here) but no credentials. To deploy the result (CodeUri and the layer's
ContentUri are paths relative to sam.json, uploaded by `package`):
    aws cloudformation package --template-file build/package/dev/sam.json --s3-bucket <deploy bucket> \
        --output-template-file build/package/dev/packaged.yaml
    aws cloudformation deploy --template-file build/package/dev/packaged.yaml --stack-name maestro-ml-dev \
        --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.embedding_layer import build_embedding_layer
from infra.layers import BUILD_DIR, PROJECT_DIR, LayerBuild, build_core_layer, unzipped_size
from infra.template import (
    CORE_LAYER,
    CORE_LAYER_CONTENT_URI,
    EMBEDDING_LAYER,
    EMBEDDING_LAYER_CONTENT_URI,
    chalice_functions,
    check_merged,
    load_stage_config,
    merge_template,
    use_container_images,
)

LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # function code plus all its layers
SIZE_REPORT = BUILD_DIR / "package-sizes.txt"
# Chalice's own role management is switched off in the staged config; infra/template/ gives each function
# its own role, and check_merged() fails the build if this placeholder survives the merge.
ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/replaced-by-infra-template"

# `chalice package` imports app.py with the stage's environment and no credentials; the start-up secret check
# runs only inside Lambda (maestro.startup), so packaging needs no secrets.
_CHALICE_CLI = """
import sys
from chalice.cli import main
sys.argv = ["chalice", *sys.argv[1:]]
sys.exit(main())
"""


@dataclass
class FunctionSize:
    logical_id: str
    code_bytes: int
    layer_bytes: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + sum(self.layer_bytes.values())


@dataclass
class PackageBuild:
    stage: str
    out_dir: Path
    template_path: Path
    deployment_zip: Path
    layers: dict[str, LayerBuild]  # logical id -> build
    sizes: list[FunctionSize]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def embedding_function_size(self) -> FunctionSize:
        """A function that embeds text: the deployment package with the core and the embedding layers (no
        function attaches the embedding layer yet; the ones that will must fit)."""
        code_bytes = max((size.code_bytes for size in self.sizes), default=0)
        return FunctionSize(
            f"<function>+{EMBEDDING_LAYER}",
            code_bytes,
            {k: self.layers[k].unzipped_bytes for k in (CORE_LAYER, EMBEDDING_LAYER)},
        )

    @property
    def too_large(self) -> list[str]:
        return [
            s.logical_id
            for s in (*self.sizes, self.embedding_function_size)
            if s.total_bytes >= LAMBDA_UNZIPPED_LIMIT_BYTES
        ]

    @property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())

    def size_report(self) -> str:
        rows = [f"{'function':<28}{'code MB':>10}{'layers MB':>12}{'total MB':>11}{'limit MB':>10}  verdict"]
        for size in (*self.sizes, self.embedding_function_size):
            verdict = "fits" if size.total_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES else "TOO LARGE"
            layer_mb = _mb(sum(size.layer_bytes.values()))
            rows.append(
                f"{size.logical_id:<28}{_mb(size.code_bytes):>10.2f}{layer_mb:>12.2f}"
                f"{_mb(size.total_bytes):>11.2f}{_mb(LAMBDA_UNZIPPED_LIMIT_BYTES):>10.0f}  {verdict}"
            )
        layers = ", ".join(f"{k} {_mb(b.unzipped_bytes):.2f} MB" for k, b in self.layers.items())
        rows.append(f"stage {self.stage}; unzipped sizes (MiB); layers: {layers}")
        return "\n".join(rows) + "\n"


def _mb(size: int) -> float:
    return size / (1024 * 1024)


def stage_project(stage: str, staging_dir: Path) -> Path:
    """A copy of what Chalice packages, with functions/ vendored and Chalice's IAM role management off."""
    if staging_dir.exists():
        shutil.rmtree(staging_dir)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    (staging_dir / ".chalice").mkdir(parents=True)
    shutil.copy2(PROJECT_DIR / "app.py", staging_dir / "app.py")
    for optional in ("chalicelib", "vendor"):
        if (PROJECT_DIR / optional).is_dir():
            shutil.copytree(PROJECT_DIR / optional, staging_dir / optional, ignore=ignore)
    shutil.copytree(PROJECT_DIR / "functions", staging_dir / "vendor" / "functions", ignore=ignore)
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    stage_config = config["stages"][stage]
    # Set at every level Chalice reads, so no per-stage or per-function setting can turn it back on.
    for scope in (config, stage_config, *stage_config.get("lambda_functions", {}).values()):
        scope["manage_iam_role"] = False
        scope["iam_role_arn"] = ROLE_PLACEHOLDER
    (staging_dir / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    return staging_dir


def _chalice_environment(region: str) -> dict[str, str]:
    # Chalice applies the stage's variables itself; anything from the caller's shell (a test stage, a local
    # endpoint) must not leak into the import of app.py.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MAESTRO_", "AWS_ENDPOINT_URL", "POWERTOOLS_"))}
    environ["AWS_DEFAULT_REGION"] = region
    environ.pop("PYTHONPATH", None)
    return environ


def run_chalice_package(project: Path, stage: str, out_dir: Path, region: str, merge: Path | None = None) -> Path:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    command = [sys.executable, "-c", _CHALICE_CLI, "--project-dir", str(project), "package", "--stage", stage]
    if merge is not None:
        command += ["--merge-template", str(merge)]
    result = subprocess.run(
        [*command, str(out_dir)], cwd=project, env=_chalice_environment(region), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    template = out_dir / "sam.json"
    if not template.is_file():
        raise RuntimeError(f"chalice package wrote no sam.json into {out_dir}: {sorted(os.listdir(out_dir))}")
    return template


def _function_sizes(template: dict[str, Any], out_dir: Path, layers: dict[str, LayerBuild]) -> list[FunctionSize]:
    sizes = []
    for function in chalice_functions(template):
        properties = template["Resources"][function.logical_id]["Properties"]
        if properties.get("PackageType") == "Image":
            continue  # infra/retrain.Dockerfile: an image, up to 10 GB
        code = out_dir / properties["CodeUri"]
        layer_bytes = {}
        for layer in properties.get("Layers", []):
            logical_id = layer["Ref"] if isinstance(layer, dict) else layer
            layer_bytes[logical_id] = layers[logical_id].unzipped_bytes
        sizes.append(FunctionSize(function.logical_id, unzipped_size(code), layer_bytes))
    return sizes


def add_bytecode(zip_path: Path) -> None:
    """Ship compiled bytecode in the function's zip. Lambda's /var/task is read-only, so modules without a .pyc
    (Chalice ships none) are compiled on every cold start. Unchecked-hash pycs stay valid whatever timestamps
    the unzip leaves; this machine's Python is the Lambda runtime's (3.11)."""
    import importlib.util
    import py_compile
    import tempfile
    import zipfile

    with zipfile.ZipFile(zip_path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    if any(info.filename.endswith(".pyc") for info, _ in entries):
        return
    with tempfile.TemporaryDirectory() as scratch:
        compiled = []
        for info, data in entries:
            if not info.filename.endswith(".py"):
                continue
            source_path = Path(scratch) / info.filename
            source_path.parent.mkdir(parents=True, exist_ok=True)
            source_path.write_bytes(data)
            cache_path = Path(importlib.util.cache_from_source(str(source_path)))
            py_compile.compile(
                str(source_path),
                cfile=str(cache_path),
                dfile=info.filename,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            pyc = zipfile.ZipInfo(cache_path.relative_to(scratch).as_posix(), date_time=info.date_time)
            pyc.compress_type, pyc.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            compiled.append((pyc, cache_path.read_bytes()))
        partial = zip_path.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info, data in [*entries, *compiled]:
                target.writestr(info, data)
        partial.replace(zip_path)


def build_package(stage: str = "dev", out_dir: Path | None = None, region: str | None = None) -> PackageBuild:
    region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    out_dir = (out_dir or BUILD_DIR / "package" / stage).resolve()
    work_dir = BUILD_DIR / "chalice" / stage
    timings: dict[str, float] = {}
    started = time.perf_counter()

    layer = build_core_layer()
    timings["layer"] = time.perf_counter() - started
    mark = time.perf_counter()
    embedding_layer = build_embedding_layer()
    timings["embedding layer"] = time.perf_counter() - mark

    mark = time.perf_counter()
    project = stage_project(stage, work_dir / "project")
    base = json.loads(run_chalice_package(project, stage, work_dir / "base", region).read_text())
    merge_path = work_dir / "merge-template.json"
    merge_path.write_text(json.dumps(merge_template(base, load_stage_config(stage)), indent=2))
    template_path = run_chalice_package(project, stage, out_dir, region, merge=merge_path)
    add_bytecode(out_dir / "deployment.zip")
    timings["chalice"] = time.perf_counter() - mark

    for layer_build, content_uri in ((layer, CORE_LAYER_CONTENT_URI), (embedding_layer, EMBEDDING_LAYER_CONTENT_URI)):
        layer_copy = out_dir / content_uri
        layer_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(layer_build.zip_path, layer_copy)
    template = use_container_images(json.loads(template_path.read_text()))
    template_path.write_text(json.dumps(template, indent=2))
    problems = check_merged(template, load_stage_config(stage))
    if ROLE_PLACEHOLDER in template_path.read_text():
        problems.append("a function still has Chalice's placeholder role")
    if problems:
        raise RuntimeError("merged template is not deployable:\n  " + "\n  ".join(problems))

    layers = {CORE_LAYER: layer, EMBEDDING_LAYER: embedding_layer}
    build = PackageBuild(
        stage,
        out_dir,
        template_path,
        out_dir / "deployment.zip",
        layers,
        _function_sizes(template, out_dir, layers),
        timings,
    )
    report = build.size_report()
    (out_dir / "package-sizes.txt").write_text(report)
    timings["total"] = time.perf_counter() - started
    return build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default build/package/<stage>)")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    build = build_package(args.stage, args.out, args.region)
    SIZE_REPORT.write_text(build.size_report())
    print(f"merged template: {build.template_path}")
    print(f"deployment package: {build.deployment_zip}")
    print(build.size_report(), end="")
    print("took " + ", ".join(f"{k} {v:.1f}s" for k, v in build.timings.items()))
    return 1 if build.too_large else 0


if __name__ == "__main__":
    sys.exit(main())
