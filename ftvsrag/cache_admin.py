"""`ftvsrag cache`: what runs/.cache/ holds, and pruning it by age or total size."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.locks import LOCKS_DIR

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    """Bytes of every file below it."""
    age_s: float
    """Seconds since it was last written or reused."""


def list_entries(root: Path) -> list[Entry]:
    """Every cached stage output and leftover checkpoint folder, oldest first."""
    if not root.is_dir():
        return []
    now = time.time()
    entries = [
        Entry(
            folder, sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()), now - _last_use(folder)
        )
        for folder in root.iterdir()
        if folder.is_dir() and folder.name != LOCKS_DIR
    ]
    return sorted(entries, key=lambda e: -e.age_s)


def verify_entries(entries: list[Entry]) -> list[tuple[Entry, str]]:
    """Every stage entry's files checked against their recorded sizes and digests; each damaged one
    moved aside (`.<name>.damaged-<time>`, never deleted) and returned with what is wrong."""
    from ftvsrag.stages import CHECKPOINTS, entry_damage, move_aside, read_done

    damaged = []
    for entry in entries:
        if entry.path.name.startswith(".") or entry.path.name.endswith(CHECKPOINTS):
            continue  # a staging, checkpoint or already set-aside folder: not an entry
        why = entry_damage(entry.path, read_done(entry.path), digests=True)
        if why:
            move_aside(entry.path)
            damaged.append((entry, why))
    return damaged


def _last_use(folder: Path) -> float:
    return max([folder.stat().st_mtime] + [f.stat().st_mtime for f in folder.iterdir()])


def prune(
    entries: list[Entry], older_than_s: float | None, max_size: int | None, dry_run: bool
) -> list[Entry]:
    """Remove entries older than `older_than_s`, then the oldest until the rest fit `max_size`."""
    doomed = [e for e in entries if older_than_s is not None and e.age_s > older_than_s]
    kept = [e for e in entries if e not in doomed]
    while max_size is not None and kept and sum(e.size for e in kept) > max_size:
        doomed.append(kept.pop(0))
    if not dry_run:
        for entry in doomed:
            shutil.rmtree(entry.path, ignore_errors=True)
    return doomed


def table(entries: list[Entry]) -> str:
    rows = [f"{'size':>10}  {'age':>8}  entry"]
    rows += [f"{size_text(e.size):>10}  {_age(e.age_s):>8}  {e.path.name}" for e in entries]
    rows.append(f"{size_text(sum(e.size for e in entries)):>10}  {'':>8}  total ({len(entries)} entries)")
    return "\n".join(rows)


def parse_size(text: str) -> int:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*", text.lower())
    if not found:
        raise UserInputError(f"--max-size {text!r}: expected a size like 500MB or 2GB")
    return int(float(found.group(1)) * _UNITS[found.group(2) or ""])


def parse_age(text: str) -> float:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not found:
        raise UserInputError(f"--older-than {text!r}: expected an age like 12h, 30d or 2w")
    return float(found.group(1)) * _AGES[found.group(2)]


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _age(seconds: float) -> str:
    return f"{seconds / 86400:.1f} d" if seconds >= 86400 else f"{seconds / 3600:.1f} h"
