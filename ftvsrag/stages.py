"""Cached stages. A stage is a plain function of one typed inputs record; that same record, hashed,
is the key under which its output is stored. Rerunning an unchanged config reuses the output, a
changed input recomputes just what depends on it, `--force STAGE` recomputes on demand, and the
seconds, tokens and reuse of every stage are booked in one place (`Ledger`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ftvsrag.configtools import KEYED_UNLESS_DEFAULT, NOT_KEYED
from ftvsrag.errors import UserInputError
from ftvsrag.files import atomic_dir, write_json
from ftvsrag.locks import entry_lock

INDEX, TRAIN, ANSWERS, GENERATE = "index", "train", "answers", "generate"
"""Stage families: what `--force` names, and the prefix of each cache folder."""
CACHE_FORMAT = 4
"""Part of every key: bumped when a stage's stored output changes shape (3: stages keyed by inputs;
4: each entry lists its files' sizes and digests)."""
DONE_FILE = "stage.json"
CHECKPOINTS = ".checkpoints"
"""The suffix of the folder beside an entry where its stage checkpoints (`<entry>.checkpoints`)."""
DAMAGED_MARK = ".damaged-"
"""A damaged entry is renamed `.<entry>.damaged-<time>` beside the others: kept for a look, never read."""

Inputs = TypeVar("Inputs")
Output = TypeVar("Output")


def stage_key(*parts: Any) -> str:
    """A short, stable hash of JSON-able inputs (dataclasses by their fields, other objects by str;
    settings marked not keyed left out, at any depth)."""
    text = json.dumps([_keyed(p) for p in parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _keyed(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _keyed(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get(NOT_KEYED)
            and not (f.metadata.get(KEYED_UNLESS_DEFAULT) and getattr(value, f.name) == _default(f))
        }
    if isinstance(value, (list, tuple)):
        return [_keyed(item) for item in value]
    if isinstance(value, dict):
        return {key: _keyed(item) for key, item in value.items()}
    return value


def _default(f: dataclasses.Field) -> Any:
    """A field's default, also where it is built by a factory (a list, a nested settings block)."""
    return f.default if f.default_factory is dataclasses.MISSING else f.default_factory()


def forceable(adapters: list[str]) -> list[str]:
    """What `--force` takes: every stage, a family, or one adapter's training ('train:ft')."""
    return ["all", INDEX, GENERATE, TRAIN, *(f"{TRAIN}:{adapter}" for adapter in adapters), ANSWERS]


def check_forceable(names: list[str], adapters: list[str]) -> frozenset[str]:
    valid = forceable(adapters)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise UserInputError(f"--force {unknown[0]}: not a stage; stages are {', '.join(valid)}")
    return frozenset(names)


@dataclass(frozen=True)
class Stage(Generic[Inputs, Output]):
    """`compute(inputs, runtime, out, scratch)` writes its files into `out` and returns a record;
    `runtime` (loaded models, an embedding function) is how to compute, never what: it is not hashed,
    and whatever identifies it (a model's hash) must be a field of the inputs."""

    family: str
    compute: Callable[[Inputs, Any, Path, Path], Output]
    output: type[Output]


@dataclass(frozen=True)
class Done(Generic[Output]):
    output: Output
    folder: Path
    reused: bool
    seconds: float
    """What computing it took, whether this run computed it or an earlier one did."""


@dataclass
class Ledger:
    """The run's bookkeeping: wall seconds of this run, compute seconds, tokens and reuse per stage."""

    wall_s: dict[str, float] = field(default_factory=dict)
    compute_s: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def book(self, label: str, detail: str, done: Done, wall: float) -> None:
        self.add_wall(label, wall)
        self.compute_s[label] = round(self.compute_s.get(label, 0.0) + done.seconds, 2)
        tokens = getattr(done.output, "tokens", None) or {}
        if tokens:
            counts = self.tokens.setdefault(label, {})
            for name, count in tokens.items():
                counts[name] = counts.get(name, 0) + count
        if done.reused:
            self.reused.append(f"{label} ({detail})" if detail else label)

    def add_wall(self, label: str, seconds: float) -> None:
        self.wall_s[label] = round(self.wall_s.get(label, 0.0) + seconds, 2)

    @contextmanager
    def timed(self, label: str) -> Iterator[None]:
        """Wall seconds of an uncached step (retrieval, an upsert), added to its label's."""
        started = time.perf_counter()
        yield
        self.add_wall(label, time.perf_counter() - started)

    def timings(self) -> dict[str, float]:
        return {**self.wall_s, "total": round(time.perf_counter() - self.started, 2)}


@dataclass
class StageCache:
    root: Path
    force: frozenset[str] = frozenset()
    ledger: Ledger = field(default_factory=Ledger)
    verify: bool = False
    """Check every stored file's digest before reuse, not only its size."""

    def forced(self, label: str, family: str = "") -> bool:
        """Whether `--force` named the stage ('train:ft'), its family ('train', 'answers') or all."""
        return bool({"all", label, label.split(":")[0], family} & self.force)

    def folder(self, stage: Stage, inputs: Any) -> Path:
        """Where the output for `inputs` is (or would be) stored."""
        return self.root / f"{stage.family}-{stage_key(stage.family, CACHE_FORMAT, inputs)}"

    def lookup(self, stage: Stage, label: str, inputs: Any) -> dict | None:
        """The stored record for `inputs`, or None when there is none, it is damaged, or `--force`
        names the stage."""
        return self.stored(stage, label, inputs)[0]

    def stored(self, stage: Stage, label: str, inputs: Any) -> tuple[dict | None, str | None]:
        """(the stored record, None), or (None, why the entry there cannot be trusted), or (None, None)
        when there is none or `--force` names the stage. Sizes are checked always, digests too with
        `verify`."""
        folder = self.folder(stage, inputs)
        if self.forced(label, stage.family) or not folder.exists():
            return None, None
        record = read_done(folder)
        why = entry_damage(folder, record, self.verify)
        return (None, why) if why else (record, None)

    def run(self, stage: Stage, label: str, inputs: Any, runtime: Any = None, detail: str = "") -> Done:
        """The stage's output for `inputs`: stored, or computed now (and stored), then booked. A
        damaged entry is named in one line, moved aside and recomputed. One process at a time
        computes an entry: another run that needs it waits, then reuses it."""
        folder = self.folder(stage, inputs)
        started = time.perf_counter()
        stored, _ = self.stored(stage, label, inputs)
        if stored is None:
            with entry_lock(folder, label):
                stored = self._reuse_or_compute(stage, label, inputs, runtime, detail)
        else:
            self._say(label, detail, folder)
            (folder / DONE_FILE).touch()  # last used now: what `ftvsrag cache` prunes by
        done = Done(stage.output(**stored["output"]), folder, stored["reused"], stored["seconds"])
        self.ledger.book(label, detail, done, time.perf_counter() - started)
        return done

    def _reuse_or_compute(self, stage: Stage, label: str, inputs: Any, runtime: Any, detail: str) -> dict:
        """Under the entry's lock: what another process stored meanwhile, or computed here."""
        folder = self.folder(stage, inputs)
        stored, damage = self.stored(stage, label, inputs)
        if damage:
            aside = move_aside(folder)
            print(
                f"==> {label}: cache entry {folder.name} is damaged ({damage}); moved to {aside.name}, "
                "recomputing",
                flush=True,
            )
        self._say(label, detail, folder if stored else None)
        return stored or self._compute(stage, label, inputs, runtime, folder)

    @staticmethod
    def _say(label: str, detail: str, reused: Path | None) -> None:
        notes = ", ".join(note for note in (detail, f"reused {reused.name}" if reused else "") if note)
        print(f"==> {label}{f' ({notes})' if notes else ''}", flush=True)

    def _compute(self, stage: Stage, label: str, inputs: Any, runtime: Any, folder: Path) -> dict:
        scratch = folder.with_name(f"{folder.name}{CHECKPOINTS}")
        if self.forced(label, stage.family):  # start over, not from an earlier attempt's checkpoints
            shutil.rmtree(scratch, ignore_errors=True)
        with atomic_dir(folder) as out:
            started = time.perf_counter()
            output = stage.compute(inputs, runtime, out, scratch)
            record = {
                "output": dataclasses.asdict(output),
                "seconds": round(time.perf_counter() - started, 2),
                "files": file_digests(out),
            }
            write_json(out / DONE_FILE, record)
        shutil.rmtree(scratch, ignore_errors=True)
        return {**record, "reused": False}


def read_done(folder: Path) -> dict | None:
    """An entry's record, marked reused; None when it is missing or unreadable."""
    try:
        record = json.loads((folder / DONE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {**record, "reused": True} if isinstance(record, dict) else None


def file_digests(folder: Path) -> dict[str, list]:
    """Every file below `folder` but the entry's own record: its path -> [size, BLAKE2b digest]."""
    return {
        path.relative_to(folder).as_posix(): [path.stat().st_size, _digest(path)]
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != DONE_FILE
    }


def entry_damage(folder: Path, record: dict | None, digests: bool = False) -> str | None:
    """Why a stored entry cannot be trusted, or None: its record is unreadable or lists no files, or
    a file it lists is missing, has another size or (with `digests`) another digest."""
    if record is None or not isinstance(record.get("files"), dict) or "output" not in record:
        return f"{DONE_FILE} is missing, unreadable or lists no files"
    for name, (size, digest) in record["files"].items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, {size} recorded"
        if digests and _digest(path) != digest:
            return f"{name} differs from its recorded digest"
    return None


def move_aside(folder: Path) -> Path:
    """`folder` renamed `.<name>.damaged-<time>` beside itself (never deleted: a person may look)."""
    aside = folder.with_name(f".{folder.name}{DAMAGED_MARK}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(folder, aside)
    return aside


def _digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
