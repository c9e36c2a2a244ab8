"""Cached stages. A stage's output is stored under a key that hashes everything it depends on, so
rerunning an unchanged config reuses it, a changed input recomputes just what depends on it, and
`--force STAGE` recomputes on demand. Outputs appear whole or not at all (built aside, then renamed)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftvsrag.errors import UserInputError
from ftvsrag.eval.rundir import write_json

FORCEABLE = ("all", "index", "train", "train:ft", "train:reader", "answers")
"""Names `--force` takes: a stage, or a family ('train' is both trainings)."""

COMPLETE = ".complete"


def stage_key(*parts: Any) -> str:
    """A short, stable hash of JSON-able inputs (paths and other objects by their str)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def check_forceable(names: list[str]) -> frozenset[str]:
    unknown = [name for name in names if name not in FORCEABLE]
    if unknown:
        raise UserInputError(f"--force {unknown[0]}: not a stage; stages are {', '.join(FORCEABLE)}")
    return frozenset(names)


@dataclass
class StageCache:
    root: Path
    force: frozenset[str] = field(default_factory=frozenset)

    def forced(self, stage: str) -> bool:
        family = stage.split(":")[0]
        return bool({"all", stage, family} & self.force)

    def folder(self, kind: str, key: str) -> Path:
        return self.root / f"{kind}-{key}"

    def find(self, stage: str, kind: str, key: str) -> Path | None:
        """The stored output of a completed stage, unless the stage is forced or never completed."""
        folder = self.folder(kind, key)
        if self.forced(stage) or not (folder / COMPLETE).is_file():
            return None
        return folder

    @contextmanager
    def build(self, kind: str, key: str) -> Iterator[Path]:
        """An empty folder to write a stage's output into; it becomes the stored output only if the
        block completes, replacing any earlier one."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.folder(kind, key)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=self.root))
        try:
            yield staging
            write_json(staging / COMPLETE, {"kind": kind, "key": key})
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def ensure(self, stage: str, kind: str, key: str, produce: Callable[[Path], None]) -> tuple[Path, bool]:
        """The stage's stored output, and whether it was reused; `produce(folder)` writes it first
        when there is none (or the stage is forced)."""
        found = self.find(stage, kind, key)
        if found:
            return found, True
        with self.build(kind, key) as out:
            produce(out)
        return self.folder(kind, key), False

    def scratch(self, kind: str, key: str) -> Path:
        """A folder that survives an interrupted stage (training checkpoints), for the next attempt."""
        folder = self.root / f"{kind}-{key}.partial"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def drop_scratch(self, kind: str, key: str) -> None:
        shutil.rmtree(self.root / f"{kind}-{key}.partial", ignore_errors=True)
