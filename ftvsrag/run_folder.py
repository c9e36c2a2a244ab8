"""Where a run's folder goes, checked before any work: a plain name under `runs_dir`, a `runs_dir`
that can be written, and an existing folder of that name replaced only if it is a run folder (it
holds our manifest). Nothing a run did not make is ever removed."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.files import atomic_dir

MANIFEST_FILE = "manifest.json"


def is_run_folder(folder: Path) -> bool:
    """Whether `folder` is what ftvsrag writes: a real folder whose manifest names a commit."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "git_commit" in manifest


def check_run_target(final: Path) -> None:
    """One line, before any work, if the run could not be published at `final`."""
    if (final.exists() or final.is_symlink()) and not is_run_folder(final):
        raise UserInputError(
            f"{final} exists and is not an ftvsrag run folder (no {MANIFEST_FILE}): a run replaces only "
            "its own folders; choose another name= or runs_dir="
        )
    check_writable(final.parent)


def check_writable(folder: Path) -> None:
    """Whether a folder can be made in `folder` (or, if it does not exist yet, in the nearest folder
    above it): an empty folder is made there and removed at once."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserInputError(f"runs_dir {folder}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".ftvsrag-write-check-", dir=existing))
    except OSError as error:
        raise UserInputError(f"runs_dir {folder} cannot be written ({error.strerror})") from None


@contextmanager
def staged_run(final: Path) -> Iterator[Path]:
    """The run's staging folder, published as `final` when the block completes (replacing only an
    earlier run folder). On failure the staging folder goes, and so do the folders above it that
    this run created, if they are still empty."""
    created = [parent for parent in [final.parent, *final.parent.parents] if not parent.exists()]
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"runs_dir {final.parent} cannot be made ({error.strerror})") from None
    try:
        with atomic_dir(final, replaceable=is_run_folder) as staging:
            yield staging
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                break
        raise
