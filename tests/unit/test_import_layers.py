"""The import structure holds: no production module reaches the synthetic tenant generator, and the layering
contracts of pyproject.toml ([tool.importlinter]) are kept."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import grimp

PROJECT_DIR = Path(__file__).resolve().parents[2]
SYNTHETIC = "maestro.domain.meta.synthetic"
# Everything that ships to Lambda or serves a request: the layers' packages and the Chalice app's functions.
PRODUCTION_PACKAGES = ("maestro", "maestro_embedding", "functions")


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_production_module_imports_the_synthetic_generator():
    graph = grimp.build_graph(*PRODUCTION_PACKAGES, cache_dir=None)
    assert SYNTHETIC in graph.modules
    # Direct or through any chain of imports, function-level imports included.
    importers = graph.find_downstream_modules(SYNTHETIC)
    assert importers == set(), f"production modules import the synthetic generator: {sorted(importers)}"
    # app.py is a lone module (grimp builds graphs of packages): read its imports directly. Anything it imports
    # from the packages above is already covered by the graph.
    assert not {n for n in _imported_names(PROJECT_DIR / "app.py") if n.startswith(SYNTHETIC)}


def test_the_guard_sees_an_import_of_the_synthetic_generator(tmp_path):
    """The check above can fail: a package that imports the generator inside a function is caught."""
    package = tmp_path / "probe_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "serving.py").write_text(
        "def predict():\n    from maestro.domain.meta.synthetic import generate_history\n    return generate_history\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("probe_package", "maestro", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert graph.find_downstream_modules(SYNTHETIC) == {"probe_package.serving"}


def test_the_import_contracts_are_kept():
    source_path = ["layers/core/python", "layers/embedding/python", "sdk", "."]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(str(PROJECT_DIR / p) for p in source_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
