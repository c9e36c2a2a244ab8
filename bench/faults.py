"""A fault campaign against the stage cache, as trusted stores test themselves: a small real run (a
10-city slice with every stage kind: index, generate, train, answers) is faulted again and again,
each fault followed by a clean rerun of the same command. Faults: SIGKILL at a random moment of each
stage and of the run as a whole, a random cache file cut or one byte of it flipped, a full disk (a
small tmpfs as runs_dir, filled to a random free space), and two runs at once (two names sharing the
stages; one name twice). For each: where it hit, whether the rerun succeeded, whether its answers
equal the unfaulted run's, the seconds lost, and what was left behind. Writes bench-faults.json.

    python bench/faults.py                # the campaign (about 40 faults)
    python bench/faults.py --quick        # three faults, as the test suite runs it
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftvsrag.files import ROOM_PROBE_PREFIX, STAGING_MARK
from ftvsrag.stages import CHECKPOINTS

REPO = Path(__file__).resolve().parent.parent
CITIES = str(REPO / "configs" / "cities.yaml")
SLICE = [
    "data.num_cities=10",
    "train.epochs=1",
    "train.method=qa-gen",
    "eval.arms=[ft,rag]",
    "eval.splits=[train,updated]",
    "eval.updated_facts=3",
    "eval.forgetting_probe=false",
]
QUICK_SLICE = ["data.num_cities=10", "train.epochs=1", "eval.arms=[ft,rag]", "eval.splits=[train]"]
QUICK_SLICE += ["eval.forgetting_probe=false"]
"""--quick: no generated pairs and one split, so that it fits the test suite."""
STAGE_LABELS = {"index": "index", "generate": "generate:", "train": "train:", "answers": "answer:"}
"""Each stage kind's labels begin so, on the console ('==> train:ft') and in the manifest's timings."""
LEFTOVER_MARKS = (STAGING_MARK, CHECKPOINTS, ROOM_PROBE_PREFIX)


@dataclass
class Attempt:
    code: int
    seconds: float
    out: str
    err: str

    @property
    def said(self) -> list[str]:
        """The error lines (what a person reads), without progress bars."""
        return [line for line in self.err.splitlines() if line.startswith("ftvsrag:")]


@dataclass
class Fault:
    kind: str
    """kill, cut, flip, disk-full, two-names, one-name."""
    where: str
    """The stage or file it hit, or what it did."""
    faulted_exit: int
    faulted_said: str
    rerun_exit: int
    answers_equal: bool
    seconds_lost: float
    leftovers: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    """Damaged entries moved aside (`.NAME.damaged-…`): kept for a person to look at, by design."""
    damaged_loaded: bool = False
    """A damaged entry was reused as if whole: must never be true."""
    note: str = ""


def run(runs: Path, *flags: str, overrides: list[str], name: str = "cities") -> subprocess.Popen:
    command = [sys.executable, "-m", "ftvsrag", "run", *flags, CITIES, f"runs_dir={runs}", f"name={name}"]
    command += overrides
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def finish(process: subprocess.Popen, started: float) -> Attempt:
    out, err = process.communicate(timeout=900)
    return Attempt(process.returncode, time.perf_counter() - started, out, err)


def complete(runs: Path, *flags: str, overrides: list[str], name: str = "cities") -> Attempt:
    started = time.perf_counter()
    return finish(run(runs, *flags, overrides=overrides, name=name), started)


def answers(run_dir: Path) -> list[tuple]:
    path = run_dir / "answers.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["arm"], r["split"], r["seed"], r["id"], r["output"]) for r in records]


def leftovers(runs: Path) -> tuple[list[str], list[str]]:
    """(what interrupted writers left, damaged entries set aside) under `runs`."""
    names = [p.name for folder in (runs, runs / ".cache") if folder.is_dir() for p in folder.iterdir()]
    left = [name for name in names if any(mark in name for mark in LEFTOVER_MARKS)]
    return left, [name for name in names if ".damaged-" in name]


@dataclass
class Reference:
    answers: list[tuple]
    cold_s: float
    warm_s: float
    stage_s: dict[str, float]
    """Wall seconds of each stage kind in the cold run: where a kill can land."""
    cache: Path
    overrides: list[str]
    """The slice every run of the campaign is."""


def reference(scratch: Path, overrides: list[str]) -> Reference:
    runs = scratch / "reference"
    cold = complete(runs, overrides=overrides)
    assert cold.code == 0, cold.err[-3000:]
    timings = json.loads((runs / "cities" / "manifest.json").read_text())["timings_s"]
    warm = complete(runs, overrides=overrides)
    assert warm.code == 0, warm.err[-3000:]
    stage_s = {
        kind: round(sum(s for label, s in timings.items() if label.startswith(prefix)), 2)
        for kind, prefix in STAGE_LABELS.items()
    }
    return Reference(
        answers(runs / "cities"), cold.seconds, warm.seconds, stage_s, runs / ".cache", overrides
    )


def outcome(
    kind: str, where: str, faulted: Attempt, runs: Path, ref: Reference, clean_s: float, **extra
) -> Fault:
    """The clean rerun after a fault, and what it found."""
    rerun = complete(runs, *extra.pop("rerun_flags", ()), overrides=ref.overrides)
    left, aside = leftovers(runs)
    return Fault(
        kind,
        where,
        faulted.code,
        (faulted.said or [""])[-1][:300],
        rerun.code,
        rerun.code == 0 and answers(runs / "cities") == ref.answers,
        round(faulted.seconds + rerun.seconds - clean_s, 1),
        left,
        aside,
        **extra,
    )


def kill_fault(scratch: Path, ref: Reference, rng: random.Random, stage: str | None) -> Fault:
    """SIGKILL at a random moment of `stage` (None: of the whole cold run)."""
    runs = scratch / f"kill-{rng.getrandbits(32):08x}"
    started = time.perf_counter()
    process = run(runs, overrides=ref.overrides)
    if stage is None:
        delay = rng.uniform(0, ref.cold_s)
        where = f"{delay:.1f} s into the run"
        time.sleep(delay)
    else:
        delay = rng.uniform(0, max(ref.stage_s[stage], 0.2))
        _wait_for_line(process, f"==> {STAGE_LABELS[stage]}")
        time.sleep(delay)
        where = f"{stage}, {delay:.2f} s after it started"
    process.send_signal(signal.SIGKILL)
    faulted = finish(process, started)
    return outcome("kill", where, faulted, runs, ref, ref.cold_s)


def _wait_for_line(process: subprocess.Popen, start: str) -> None:
    for line in process.stdout:
        if line.startswith(start):
            return


def damage_fault(scratch: Path, ref: Reference, rng: random.Random, how: str) -> Fault:
    """A random file of a random entry cut to a random length, or one of its bytes flipped; the
    rerun of a flip checks digests (`--verify`), as sizes alone cannot see it."""
    runs = scratch / f"{how}-{rng.getrandbits(32):08x}"
    shutil.copytree(ref.cache.parent, runs, symlinks=True)
    files = sorted(  # an empty file cannot be cut or flipped (Chroma keeps some)
        p
        for p in (runs / ".cache").rglob("*")
        if p.is_file() and p.stat().st_size and p.name != "stage.json" and ".locks" not in p.parts
    )
    target = rng.choice(files)
    entry = target.relative_to(runs / ".cache").parts[0]
    data = bytearray(target.read_bytes())
    if how == "cut":
        cut = rng.randrange(len(data))
        target.write_bytes(data[:cut])
        where = f"{target.relative_to(runs / '.cache')} cut from {len(data)} to {cut} bytes"
    else:
        offset = rng.randrange(len(data))
        data[offset] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(data))
        where = f"{target.relative_to(runs / '.cache')}: byte {offset} of {len(data)} flipped"
    planned = complete(runs, "--dry-run", *(["--verify"] if how == "flip" else []), overrides=ref.overrides)
    noticed = "damaged: recompute" in planned.out
    faulted = Attempt(0, 0.0, "", "")
    fault = outcome(
        how, where, faulted, runs, ref, ref.warm_s, rerun_flags=["--verify"] if how == "flip" else []
    )
    fault.damaged_loaded = not any(entry in name for name in fault.set_aside)
    fault.note = "the dry run said 'damaged: recompute'" if noticed else "the dry run did NOT name it"
    return fault


def disk_full_fault(scratch: Path, ref: Reference, rng: random.Random, room_mb: float) -> Fault:
    """A cold run on a tmpfs with a random `free` below what the run needs; the rerun on the same
    disk once the ballast is gone."""
    disk = scratch / f"disk-{rng.getrandbits(32):08x}"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode:
        raise PermissionError("cannot mount a tmpfs here")
    try:
        free = rng.uniform(1, room_mb)
        ballast = disk / "ballast"
        ballast.write_bytes(b"\0" * int(shutil.disk_usage(disk).free - free * 1e6))
        faulted = complete(disk / "runs", overrides=ref.overrides)
        ballast.unlink()
        return outcome("disk-full", f"{free:.1f} MB free", faulted, disk / "runs", ref, ref.cold_s)
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def two_names_fault(scratch: Path, ref: Reference) -> Fault:
    """Two names started together on an empty runs/: each stage is computed by one of them."""
    runs = scratch / "two-names"
    started = time.perf_counter()
    first = run(runs, overrides=ref.overrides, name="cities")
    second = run(runs, overrides=ref.overrides, name="other")
    one, two = finish(first, started), finish(second, started)
    stages = [len(_reused(runs / name)) for name in ("cities", "other")]
    total = (
        len(json.loads((runs / "cities" / "manifest.json").read_text())["timings_s"]) if one.code == 0 else 0
    )
    both_equal = answers(runs / "cities") == ref.answers and answers(runs / "other") == ref.answers
    left, aside = leftovers(runs)
    return Fault(
        "two-names",
        "two runs with two names started together",
        two.code,
        (two.said or [""])[-1],
        one.code,
        both_equal,
        round(max(one.seconds, two.seconds) - ref.cold_s, 1),  # beyond one run alone
        left,
        aside,
        note=f"stages reused by each: {stages} (of {total} timings); waiting lines: "
        f"{(one.out + two.out).count('waiting for it')}",
    )


def _reused(run_dir: Path) -> list[str]:
    manifest = run_dir / "manifest.json"
    return json.loads(manifest.read_text())["reused_stages"] if manifest.is_file() else []


def one_name_fault(scratch: Path, ref: Reference) -> Fault:
    """The same name twice: the second, started while the first runs, is refused in one line."""
    runs = scratch / "one-name"
    started = time.perf_counter()
    first = run(runs, overrides=ref.overrides)
    _wait_for_line(first, "==> index")
    second = complete(runs, overrides=ref.overrides)
    one = finish(first, started)
    left, aside = leftovers(runs)
    refused = (
        second.code == 2 and len(second.said) == 1 and "another ftvsrag process is writing" in second.said[0]
    )
    return Fault(
        "one-name",
        "a second run of the same name while the first runs",
        second.code,
        (second.said or [""])[-1],
        one.code,
        one.code == 0 and answers(runs / "cities") == ref.answers,
        round(one.seconds - ref.cold_s, 1),
        left,
        aside,
        note="refused in one line" if refused else "NOT refused in one line",
    )


def planned(scratch: Path, ref: Reference, rng: random.Random, quick: bool) -> list:
    """The faults to inject, as calls: each returns its `Fault`."""
    if quick:
        return [
            lambda: kill_fault(scratch, ref, rng, "train"),
            lambda: damage_fault(scratch, ref, rng, "cut"),
        ]
    calls = [
        lambda stage=stage: kill_fault(scratch, ref, rng, stage) for stage in STAGE_LABELS for _ in range(4)
    ]
    calls += [lambda: kill_fault(scratch, ref, rng, None) for _ in range(4)]
    calls += [
        lambda how=how: damage_fault(scratch, ref, rng, how) for how in ("cut", "flip") for _ in range(5)
    ]
    room_mb = _bytes(ref.cache.parent) / 1e6
    calls += [lambda: disk_full_fault(scratch, ref, rng, room_mb) for _ in range(4)]
    return [*calls, lambda: two_names_fault(scratch, ref), lambda: one_name_fault(scratch, ref)]


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def summary(faults: list[Fault]) -> dict:
    kinds = sorted({f.kind for f in faults})
    return {
        "faults": len(faults),
        "by_kind": {kind: sum(f.kind == kind for f in faults) for kind in kinds},
        "stage_kinds_killed": sorted(
            {f.where.split(",")[0] for f in faults if f.kind == "kill" and "," in f.where}
        ),
        "reruns_succeeded": sum(f.rerun_exit == 0 for f in faults),
        "answers_equal": sum(f.answers_equal for f in faults),
        "damaged_entries_loaded": sum(f.damaged_loaded for f in faults),
        "leftovers": sum(len(f.leftovers) for f in faults),
        "seconds_lost_median": sorted(f.seconds_lost for f in faults)[len(faults) // 2],
        "seconds_lost_max": max(f.seconds_lost for f in faults),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two faults (a kill mid-training, a cut file)")
    parser.add_argument("--seed", type=int, default=0, help="where the faults land (default 0)")
    parser.add_argument("--out", type=Path, default=REPO / "bench-faults.json")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from bench.run import machine_facts
    from ftvsrag.train.model import plan_device

    record = {
        "command": "python bench/faults.py" + (" --quick" if args.quick else "") + f" --seed {args.seed}",
        "machine": machine_facts(plan_device("auto", "auto")),
        "slice": QUICK_SLICE if args.quick else SLICE,
    }
    with tempfile.TemporaryDirectory(prefix="ftvsrag-faults-") as scratch:
        rng = random.Random(args.seed)
        ref = reference(Path(scratch), QUICK_SLICE if args.quick else SLICE)
        record["reference"] = {
            "cold_s": round(ref.cold_s, 1),
            "warm_s": round(ref.warm_s, 1),
            "stage_s": ref.stage_s,
        }
        faults: list[Fault] = []
        for inject in planned(Path(scratch), ref, rng, args.quick):
            try:
                faults.append(inject())
            except PermissionError as error:  # a full disk needs a tmpfs this machine may not mount
                print(f"fault left out: {error}", file=sys.stderr)
                continue
            record |= {"summary": summary(faults), "faults": [asdict(fault) for fault in faults]}
            args.out.write_text(json.dumps(record, indent=2) + "\n")  # a crash keeps what was measured
            print(f"{len(faults)} faults: {faults[-1].kind}, {faults[-1].where}", flush=True)
    print(json.dumps(record["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
