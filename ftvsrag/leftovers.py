"""What interrupted runs leave in `runs/` and its cache, removed by the next run with one line: the
staging folders and files of writers that no longer run, and training checkpoint folders nothing
will resume (their training finished, or was interrupted and the next run did not take it up).
A live writer's staging folder and a checkpoint folder whose training holds its lock stay."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ftvsrag.cache_admin import size_text
from ftvsrag.files import stale_staging
from ftvsrag.locks import idle_entry
from ftvsrag.stages import CHECKPOINTS


@dataclass(frozen=True)
class Removed:
    path: Path
    size: int


def remove_dead_writers(runs_dir: Path, cache_root: Path) -> str | None:
    """At the start of a run: dead writers' staging, and the checkpoints of finished trainings."""
    removed = [_remove(path) for path in stale_staging(runs_dir) + stale_staging(cache_root)]
    removed += _remove_idle_checkpoints(cache_root, finished=True)
    return _line(removed, "left by interrupted runs")


def remove_abandoned_checkpoints(cache_root: Path) -> str | None:
    """At the end of a run: checkpoints of interrupted trainings that this run did not resume."""
    removed = _remove_idle_checkpoints(cache_root, finished=False)
    return _line(removed, "of interrupted trainings no run resumed")


def _remove_idle_checkpoints(cache_root: Path, finished: bool) -> list[Removed]:
    if not cache_root.is_dir():
        return []
    removed = []
    for folder in sorted(cache_root.glob(f"*{CHECKPOINTS}")):
        entry = folder.with_name(folder.name.removesuffix(CHECKPOINTS))
        with idle_entry(entry) as idle:
            if idle and folder.is_dir() and entry.is_dir() == finished:
                removed.append(_remove(folder))
    return removed


def _remove(path: Path) -> Removed:
    size = _bytes(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return Removed(path, size)


def _bytes(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size if path.exists() or path.is_symlink() else 0
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _line(removed: list[Removed], what: str) -> str | None:
    if not removed:
        return None
    names = ", ".join(r.path.name for r in removed[:3])
    if len(removed) > 3:
        names += f" and {len(removed) - 3} more"
    return (
        f"==> removed {len(removed)} leftover{'s' if len(removed) > 1 else ''} {what} "
        f"({size_text(sum(r.size for r in removed))}): {names}"
    )
