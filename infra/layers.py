"""The core Lambda layer: the runtime dependencies (built for Lambda's platform) and the `maestro` package.

`python -m infra.layers` builds build/layers/core.zip. Two caches keep rebuilds cheap:
- the installed dependencies, keyed by a hash of constraints.txt, the dependency list and the pip arguments;
- the zip itself, keyed by that hash plus the content of layers/core/python/maestro.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BUILD_DIR = PROJECT_DIR / "build"
LAYERS_BUILD_DIR = BUILD_DIR / "layers"
CORE_SOURCE_DIR = PROJECT_DIR / "layers" / "core" / "python"
CORE_PACKAGES = ("maestro",)

# Lambda's python3.11 runtime runs on Amazon Linux 2 (glibc 2.26): wheels built for glibc up to 2.26 load
# there, manylinux_2_28 ones would not. This pip does not expand a manylinux tag to the older ones, so each
# is listed (argon2-cffi-bindings ships manylinux_2_26 only, pydantic-core manylinux2014 only).
LAMBDA_RUNTIME = "python3.11"
LAMBDA_ARCHITECTURE = "x86_64"
_MANYLINUX_TAGS = ("manylinux_2_26", "manylinux_2_24", "manylinux_2_17", "manylinux2014", "manylinux2010", "manylinux1")
PIP_PLATFORM_ARGS = (
    *(arg for tag in _MANYLINUX_TAGS for arg in ("--platform", f"{tag}_{LAMBDA_ARCHITECTURE}")),
    "--implementation",
    "cp",
    "--python-version",
    "3.11",
    "--only-binary=:all:",
)
# Chalice copies its own runtime (chalice/app.py) into every deployment package; installing the chalice
# distribution here as well would only add its command-line dependencies (click, pip, inquirer...) to the layer.
PACKAGED_BY_CHALICE = {"chalice"}
# Bump when the way the layer is assembled changes, so cached builds are not reused across the change.
RECIPE_VERSION = "1"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = {"__pycache__", "bin"}


@dataclass(frozen=True)
class LayerBuild:
    name: str
    zip_path: Path
    unzipped_bytes: int
    rebuilt_dependencies: bool
    rebuilt_zip: bool

    def summary(self) -> str:
        return (
            f"{self.zip_path} ({self.unzipped_bytes / 1e6:.1f} MB unzipped; "
            f"dependencies {'installed' if self.rebuilt_dependencies else 'cached'}, "
            f"zip {'written' if self.rebuilt_zip else 'cached'})"
        )


def _distribution_name(requirement: str) -> str:
    name = requirement.split(";")[0]
    for separator in "[=<>!~ ":
        name = name.split(separator)[0]
    return name.strip().lower().replace("_", "-")


def runtime_requirements(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> list[str]:
    """The `[project].dependencies` every function needs at run time, less what Chalice packages itself."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [r for r in dependencies if _distribution_name(r) not in PACKAGED_BY_CHALICE]


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def lambda_pins(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> dict[str, str]:
    """`[tool.maestro.lambda-pins]`: versions Lambda's runtime needs that differ from the dev virtualenv's."""
    pins = tomllib.loads(pyproject.read_text()).get("tool", {}).get("maestro", {}).get("lambda-pins", {})
    return {_distribution_name(name): version for name, version in pins.items()}


def lambda_constraints(constraints: Path = PROJECT_DIR / "constraints.txt") -> str:
    """constraints.txt (the dev virtualenv's freeze) with the Lambda pins put in place of the lines they override."""
    pins = lambda_pins()
    lines = [
        line
        for line in constraints.read_text().splitlines()
        if not line.strip() or _distribution_name(line) not in pins
    ]
    lines += [f"{name}=={version}" for name, version in sorted(pins.items())]
    return "\n".join(lines) + "\n"


def dependencies_key(requirements: list[str], pip_args: tuple[str, ...] = ()) -> str:
    recipe = json.dumps([RECIPE_VERSION, requirements, PIP_PLATFORM_ARGS, *([list(pip_args)] if pip_args else [])])
    recipe = recipe.encode()
    return _digest([recipe, lambda_constraints().encode()])[:16]


def _source_files(root: Path, packages: Iterable[str]) -> Iterator[Path]:
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and not _skipped(path.relative_to(root)):
                yield path


def _skipped(relative: Path) -> bool:
    in_skipped_dir = any(part in _SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts)
    return in_skipped_dir or relative.suffix == ".pyc"


def install_dependencies(
    requirements: list[str], key: str, cache_root: Path = LAYERS_BUILD_DIR / "cache", pip_args: tuple[str, ...] = ()
) -> tuple[Path, bool]:
    """The dependencies installed for Lambda under <cache>/deps-<key>/python; (path, whether it was built now).
    Each layer needs its own cache_root: older deps-* folders in it are removed."""
    target = cache_root / f"deps-{key}"
    if (target / "python").is_dir():
        return target / "python", False
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=cache_root))
    constraints = staging / "lambda-constraints.txt"
    constraints.write_text(lambda_constraints())
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(staging / "python"),
                *PIP_PLATFORM_ARGS,
                *pip_args,
                "-c",
                str(constraints),
                *requirements,
            ],
            check=True,
        )
        _compile(staging / "python")
        staging.chmod(0o755)
        staging.rename(target)  # atomic: an interrupted install never looks like a finished one
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for stale in cache_root.glob("deps-*"):
        if stale != target and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return target / "python", True


def _compile(root: Path) -> None:
    # /opt is read-only in Lambda, so bytecode not shipped is recompiled on every cold start. Unchecked-hash
    # pycs stay valid whatever timestamps the unzip leaves (the zip is rebuilt whenever a source changes).
    compileall.compile_dir(
        str(root), quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )


def _layer_entries(dependencies: Path, sources: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(dependencies.rglob("*")):
        relative = path.relative_to(dependencies)
        if path.is_file() and relative.parts[0] not in _SKIPPED_DIRS:
            yield f"python/{relative.as_posix()}", path
    for path in sorted(sources.rglob("*")):
        if path.is_file():
            yield f"python/{path.relative_to(sources).as_posix()}", path


def _write_zip(zip_path: Path, entries: Iterable[tuple[str, Path]]) -> int:
    """A reproducible zip (sorted, fixed timestamps and modes): the same inputs give the same bytes."""
    unzipped = 0
    partial = zip_path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    partial.replace(zip_path)
    return unzipped


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def write_layer(
    name: str,
    out_dir: Path,
    dependencies: Path,
    key: str,
    rebuilt_dependencies: bool,
    source_root: Path,
    packages: Iterable[str],
    extra_entries: Sequence[tuple[str, Path]] = (),
) -> LayerBuild:
    """Write (or reuse) <out_dir>/<name>.zip: `python/` holds the installed dependencies (cached under `key`) and
    the packages from source_root, compiled; extra_entries (zip name, file) go in as they are."""
    zip_path = out_dir / f"{name}.zip"
    stamp_path = out_dir / f"{name}.zip.key"
    sources = list(_source_files(source_root, packages))
    zip_key = _digest(
        [
            key.encode(),
            *(str(p.relative_to(source_root)).encode() + b"\0" + p.read_bytes() for p in sources),
            *(entry.encode() + b"\0" + path.read_bytes() for entry, path in extra_entries),
        ]
    )
    if zip_path.is_file() and stamp_path.is_file() and stamp_path.read_text() == zip_key:
        return LayerBuild(name, zip_path, unzipped_size(zip_path), rebuilt_dependencies, False)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{name}-src-", dir=out_dir) as staging_name:
        staging = Path(staging_name)
        for path in sources:
            copy = staging / path.relative_to(source_root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
        _compile(staging)
        unzipped = _write_zip(zip_path, [*_layer_entries(dependencies, staging), *extra_entries])
    stamp_path.write_text(zip_key)
    return LayerBuild(name, zip_path, unzipped, rebuilt_dependencies, True)


def build_core_layer(out_dir: Path = LAYERS_BUILD_DIR) -> LayerBuild:
    """Build (or reuse) <out_dir>/core.zip: `python/` holds the dependencies and the maestro package."""
    requirements = runtime_requirements()
    key = dependencies_key(requirements)
    dependencies, rebuilt_dependencies = install_dependencies(requirements, key)
    return write_layer("core", out_dir, dependencies, key, rebuilt_dependencies, CORE_SOURCE_DIR, CORE_PACKAGES)


def main() -> None:
    print(build_core_layer().summary())


if __name__ == "__main__":
    main()
