"""What a run knows before it starts: its resolved arms, where it writes, how it summarises
(`RunContext`, built once from the config), and, once the model is resolved, how to compute
(`Setup`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftvsrag.arms import Arm
from ftvsrag.config import ExperimentConfig
from ftvsrag.eval.results import SummaryOptions
from ftvsrag.generation.generate import BatchLimits
from ftvsrag.names import NO_ADAPTER, READER_ADAPTER
from ftvsrag.rag.embeddings import Embedder
from ftvsrag.team import SOLO, Team
from ftvsrag.train.adapter import ModelRuntime

CACHE_DIR = ".cache"
"""Under runs_dir: stage outputs shared by every run (see ftvsrag/stages.py)."""


@dataclass(frozen=True)
class RunContext:
    config: ExperimentConfig
    """The resolved config, as the run folder records it."""
    arms: dict[str, Arm]
    """The arms asked, in eval.arms order."""
    probed: list[Arm]
    """The arms asked the forgetting probe (none without it)."""
    runs_dir: Path
    run_dir: Path
    """Where the finished run is published: <runs_dir>/<name>."""
    summary: SummaryOptions
    force: frozenset[str] = frozenset()
    team: Team = SOLO
    verbose: bool = False
    verify: bool = False
    """Check every reused cache entry's file digests, not only its sizes (`--verify`)."""

    @classmethod
    def of(
        cls,
        config: ExperimentConfig,
        force: frozenset[str] = frozenset(),
        team: Team = SOLO,
        verbose: bool = False,
        verify: bool = False,
    ) -> RunContext:
        runs_dir = Path(config.runs_dir).expanduser()
        return cls(
            config,
            config.resolved_arms(),
            config.probed_arms(),
            runs_dir,
            runs_dir / config.name,
            config.summary_options(),
            force,
            team,
            verbose,
            verify,
        )

    @property
    def cache_root(self) -> Path:
        return self.runs_dir / CACHE_DIR

    @property
    def retrievers(self) -> list[str]:
        """The retrievers the arms ask through, each retrieved with once per split."""
        return sorted({arm.retriever for arm in self.arms.values() if arm.retrieves})

    @property
    def adapters(self) -> list[str]:
        """The adapters the arms (and the probe) are answered by, in first-use order."""
        arms = [*self.arms.values(), *self.probed]
        return list(dict.fromkeys(arm.adapter for arm in arms if arm.adapter != NO_ADAPTER))

    @property
    def needs_embedder(self) -> bool:
        return bool(self.retrievers) or READER_ADAPTER in self.adapters


@dataclass(frozen=True)
class Setup:
    """How to compute: the model, how to batch, the embedding model and the Chroma server."""

    model: ModelRuntime
    limits: BatchLimits
    embedder: Embedder | None
    server: object | None = None
    """The `chromadb.HttpClient` of `rag.server`, when the index lives there."""
