"""Locks that let several ftvsrag processes share one `runs/`: a run name is written by one process
at a time (a second is refused before any work), and a cache entry is computed by one process at a
time (a second waits, then reuses what the first stored). OS file locks (`filelock`): a process
that dies, even by SIGKILL, lets go of its locks with it, so no lock ever outlives its holder.

A run name's lock lives in this user's temporary folder, named by the run folder's absolute path:
a run refused for bad input, or failing before its first stage, leaves nothing in `runs/`. An
entry's lock lives beside the entries, in the cache folder that computing it writes anyway."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ftvsrag.errors import UserInputError

LOCKS_DIR = ".locks"
"""Inside the cache folder: one empty lock file per entry ever computed."""


def _lock(folder: Path, name: str) -> FileLock:
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{name}.lock")


def run_lock_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"ftvsrag-locks-{os.getuid()}"


@contextmanager
def claimed_run(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s name while the block runs; refused in one line when another process holds it."""
    where = hashlib.sha256(str(run_dir.absolute()).encode("utf-8")).hexdigest()[:24]
    lock = _lock(run_lock_folder(), f"run-{where}")
    try:
        lock.acquire(blocking=False)
    except Timeout:
        raise UserInputError(
            f"another ftvsrag process is writing {run_dir} now: wait for it to finish, "
            "or choose another name="
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def entry_lock(entry: Path, label: str) -> Iterator[bool]:
    """Hold the lock of the cache entry `entry` while the block runs; yields whether another process
    held it first (and so may have stored the entry meanwhile)."""
    lock = _lock(entry.parent / LOCKS_DIR, entry.name)
    waited = False
    try:
        lock.acquire(blocking=False)
    except Timeout:
        print(f"==> {label}: another run is computing {entry.name}; waiting for it", flush=True)
        lock.acquire()
        waited = True
    try:
        yield waited
    finally:
        lock.release()


@contextmanager
def idle_entry(entry: Path) -> Iterator[bool]:
    """Yields whether no process holds `entry`'s lock (none computes it or trains into its
    checkpoints); when so, the lock is held here while the block runs, so none starts meanwhile."""
    lock = _lock(entry.parent / LOCKS_DIR, entry.name)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
