"""Sentence embeddings from the exported MiniLM: onnxruntime for the encoder, tokenizers for the tokens.

Reproduces sentence-transformers' all-MiniLM-L6-v2 pipeline (Transformer -> mean Pooling -> Normalize): the
same tokenizer, truncation at max_seq_length tokens special tokens included, padding to the longest text of a
batch, the mean of the token embeddings under the attention mask, and L2 normalisation.
tests/unit/test_embedding_parity.py holds it to cosine >= 0.9999 against sentence-transformers on every text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

MODEL_DIR_VARIABLE = "MAESTRO_EMBEDDING_MODEL_DIR"
THREADS_VARIABLE = "MAESTRO_EMBEDDING_THREADS"
LAYER_MODEL_DIR = Path("/opt/embedding-model")  # the embedding layer's embedding-model/ in Lambda
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "embedding.json"
_NORM_EPSILON = 1e-12  # torch.nn.functional.normalize's
_COUNT_EPSILON = 1e-9  # sentence-transformers' clamp of the token count


def model_dir() -> Path:
    """Where the model is: $MAESTRO_EMBEDDING_MODEL_DIR, else the layer's /opt/embedding-model, else the
    repository's build/embedding-model."""
    configured = os.environ.get(MODEL_DIR_VARIABLE)
    if configured:
        return Path(configured)
    if LAYER_MODEL_DIR.is_dir():
        return LAYER_MODEL_DIR
    # In the repository this file is layers/embedding/python/maestro_embedding/encoder.py; the export
    # (python -m infra.embedding_model) writes build/embedding-model at the root.
    return Path(__file__).resolve().parents[4] / "build" / "embedding-model"


def _threads() -> int:
    # Lambda gives a function vCPUs in proportion to its memory (1 up to 1,769 MB, at most 6); the affinity mask
    # is what this environment may really use, where onnxruntime's own default counts the host's cores.
    configured = os.environ.get(THREADS_VARIABLE)
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


class Encoder:
    """A loaded model. Load once per execution environment (`default_encoder()`), then call `encode`."""

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: Tokenizer, settings: dict) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.settings = settings
        self.dimension: int = settings["dimension"]
        self.max_seq_length: int = settings["max_seq_length"]
        self._inputs = list(settings["inputs"])
        self._output = settings["output"]

    @classmethod
    def load(cls, directory: Path | str | None = None, threads: int | None = None) -> Encoder:
        directory = Path(directory) if directory is not None else model_dir()
        settings = json.loads((directory / SETTINGS_FILE).read_text())
        if settings.get("pooling") != "mean" or not settings.get("normalize"):
            raise ValueError(f"{directory}: this encoder does mean pooling and normalisation, not {settings}")
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        # Set here whatever the file says: these are the settings the parity with sentence-transformers rests on.
        tokenizer.enable_truncation(max_length=settings["max_seq_length"], strategy="longest_first")
        padding = tokenizer.padding or {}
        tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or _threads()
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(session, tokenizer, settings)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One unit-length float32 vector per text, in order: an array of shape (len(texts), dimension)."""
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; wrap a single text in a list")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        texts = list(texts)
        if not all(isinstance(text, str) for text in texts):
            raise TypeError("every text must be a str")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Longest first, as sentence-transformers batches: texts of similar length pad the least.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            out[chosen] = self._encode_batch([texts[i] for i in chosen])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (tokens,) = self._session.run([self._output], {name: feeds[name] for name in self._inputs})
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        summed = (tokens * mask).sum(axis=1)
        counts = np.maximum(mask.sum(axis=1), _COUNT_EPSILON)
        pooled = summed / counts
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), _NORM_EPSILON)
        return (pooled / norms).astype(np.float32, copy=False)


@lru_cache(maxsize=1)
def default_encoder() -> Encoder:
    """The encoder of `model_dir()`, loaded on first use and kept for the execution environment's life."""
    return Encoder.load()
