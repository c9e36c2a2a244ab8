"""Files and folders that appear whole or not at all (written aside, then renamed), and JSON I/O.

Every writer in the package goes through here (run folders, stage outputs, adapters, converted
models, single files), so an interrupted process never leaves half an output under a final name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ftvsrag.errors import UserInputError

STAGING_MARK = ".partial-"
"""In the name of every staging file and folder, followed by the writer's process id."""
_STAGING_NAME = re.compile(rf"^\..*{re.escape(STAGING_MARK)}(\d+)-")


def _staging_prefix(final: Path) -> str:
    return f".{final.name}{STAGING_MARK}{os.getpid()}-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_dir(final: Path, replaceable: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder beside `final`; when the block completes it replaces `final`
    (an earlier `final` is swapped out, then removed). On failure it is removed and `final` is untouched.
    With `replaceable`, an existing `final` it refuses is left alone and the publication fails."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(final), dir=final.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; a plain folder is expected
    try:
        yield staging
        if replaceable is not None and (final.exists() or final.is_symlink()) and not replaceable(final):
            raise UserInputError(f"{final} appeared during the run and is not a run folder: left as it was")
        previous = final.with_name(f"{_staging_prefix(final)}previous")
        shutil.rmtree(previous, ignore_errors=True)
        if final.exists():
            os.replace(final, previous)
        os.replace(staging, final)
        shutil.rmtree(previous, ignore_errors=True)
    except Exception as error:
        named = isinstance(error, OSError) and error.errno in _FULL and error.filename
        # A library's writer may hide the system's error ("basic_ios::clear: iostream error" from
        # torch): whether the disk is full is known only now, while the staging folder fills it.
        if not named and (_disk_full(error) or not _room_left(final.parent)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final.parent)) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_staging_prefix(path), dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a plain file is expected
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stale_staging(folder: Path) -> list[Path]:
    """The staging leftovers in `folder` of writers that no longer run (SIGKILL skips every cleanup);
    a writer still running beside this one keeps its own."""
    if not folder.is_dir():
        return []
    return [
        path
        for path in sorted(folder.iterdir())
        if (found := _STAGING_NAME.match(path.name)) and not _process_alive(int(found.group(1)))
    ]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class DiskFull(UserInputError):
    """The disk ran full (or the user's quota ran out) while the run was writing."""


@contextmanager
def disk_full_in_one_line(folder: Path) -> Iterator[None]:
    """A full disk met inside the block becomes one line naming where and how much space is left.
    Every writer publishes by renaming a finished staging folder, so by the time this is said the
    staging folders are gone and every earlier output is as it was."""
    try:
        yield
    except Exception as error:
        if not _disk_full(error):
            raise
        where = Path(error.filename) if getattr(error, "filename", None) else folder
        where = where if where.is_dir() else where.parent
        while not where.exists() and where != where.parent:
            where = where.parent
        free = shutil.disk_usage(where).free
        raise DiskFull(
            f"the disk holding {where} is full ({free / 1e6:.1f} MB free): nothing was damaged (earlier "
            "run folders and cache entries are as they were); free some space (`ftvsrag cache "
            "--max-size SIZE` prunes the cache) and run again"
        ) from None


_FULL = (errno.ENOSPC, errno.EDQUOT)


def _disk_full(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised from, is a full disk: torch and safetensors wrap the
    system's error in their own, keeping its message."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        if any(os.strerror(code) in str(error) for code in _FULL):
            return True
        error = error.__cause__ or error.__context__
    return False


ROOM_PROBE = 1 << 20
"""Bytes a write must still find room for: less, and the disk counts as full."""
ROOM_PROBE_PREFIX = ".ftvsrag-room-probe-"


def _room_left(folder: Path) -> bool:
    """Whether `folder`'s disk takes another MiB (written to a probe file, then removed)."""
    try:
        with tempfile.NamedTemporaryFile(prefix=ROOM_PROBE_PREFIX, dir=folder) as probe:
            probe.write(b"\0" * ROOM_PROBE)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        return error.errno not in _FULL
    return True


def sha256_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(record) + "\n" for record in records))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path}:{number}: malformed JSON ({error.msg})") from None
    return records
