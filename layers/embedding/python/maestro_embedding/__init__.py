"""Text embeddings in Lambda: all-MiniLM-L6-v2 exported to ONNX, run with onnxruntime and tokenizers.

Lives in the embedding layer only (with the model under /opt/embedding-model); never imports torch,
transformers or sentence-transformers.
"""

from maestro_embedding.encoder import Encoder, default_encoder, model_dir

__all__ = ["Encoder", "default_encoder", "model_dir"]
