"""The embedding Lambda layer: `python -m infra.embedding_layer` builds build/layers/embedding.zip.

    python/            onnxruntime and tokenizers built for Lambda (numpy comes from the core layer), and the
                       maestro_embedding package;
    embedding-model/   the exported MiniLM (infra/embedding_model.py): /opt/embedding-model in Lambda.

A function that embeds text carries it beside the core layer; both together must stay under Lambda's 250 MB
unzipped (infra/package.py reports it). Cached like the core layer: the dependencies by a hash of the
requirements and constraints.txt, the zip by that plus the package sources and the model files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

from infra.embedding_model import MODEL_FILES, export_model
from infra.layers import (
    LAYERS_BUILD_DIR,
    PROJECT_DIR,
    LayerBuild,
    dependencies_key,
    install_dependencies,
    write_layer,
)

EMBEDDING_SOURCE_DIR = PROJECT_DIR / "layers" / "embedding" / "python"
EMBEDDING_PACKAGES = ("maestro_embedding",)
MODEL_DIR_IN_LAYER = "embedding-model"  # unpacks to /opt/embedding-model, maestro_embedding.encoder.LAYER_MODEL_DIR
# Only the wheels themselves: the inference path imports none of onnxruntime's declared dependencies (numpy is in
# the core layer; coloredlogs, flatbuffers, packaging, protobuf and sympy serve its tools) nor tokenizers'
# huggingface_hub (only from_pretrained downloads). The packaging test runs an embedding from the unpacked
# layers with nothing else on the path.
PIP_ARGS = ("--no-deps",)


def embedding_requirements(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> list[str]:
    """The `embedding` extra of pyproject.toml: the layer's runtime dependencies."""
    return tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["embedding"]


def _model_entries(model_dir: Path) -> Iterator[tuple[str, Path]]:
    for name in MODEL_FILES:
        yield f"{MODEL_DIR_IN_LAYER}/{name}", model_dir / name


def build_embedding_layer(out_dir: Path = LAYERS_BUILD_DIR) -> LayerBuild:
    """Build (or reuse) <out_dir>/embedding.zip, exporting the model first if no cached export matches."""
    model_dir = export_model().directory
    requirements = embedding_requirements()
    key = dependencies_key(requirements, pip_args=PIP_ARGS)
    dependencies, rebuilt_dependencies = install_dependencies(
        requirements, key, cache_root=LAYERS_BUILD_DIR / "cache" / "embedding", pip_args=PIP_ARGS
    )
    return write_layer(
        "embedding",
        out_dir,
        dependencies,
        key,
        rebuilt_dependencies,
        EMBEDDING_SOURCE_DIR,
        EMBEDDING_PACKAGES,
        list(_model_entries(model_dir)),
    )


def main() -> None:
    print(build_embedding_layer().summary())


if __name__ == "__main__":
    main()
