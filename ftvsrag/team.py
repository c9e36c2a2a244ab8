"""The processes of one run (torchrun / `accelerate launch`): one leader, and followers that lend
their device to the steps worth sharing.

The leader runs the whole pipeline alone: it converts the model, decides cache hits, retrieves,
writes the stage cache and the run folder. When a stage computes something worth sharing (a LoRA
training, a set of answers) it hands the followers the same task; they train DDP beside it, or
answer their share of the batches and send the answers back. Followers never write a file of
their own. A process launched alone is a team of one (`SOLO`), and nothing is shared.

Followers wait for the next task by polling a key in the launcher's store, not inside a
collective, so a leader busy for an hour alone (an index of 100,000 facts) never trips the
collectives' timeout; that timeout (`process_timeout_s`) only bounds a rank that hangs mid-task.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

POLL_S = 0.5
"""How often a waiting follower looks for the next task."""
_TASK, _DONE, _FAILED = b"task", b"done", b"failed"


class Task(Protocol):
    def run(self, team: Team, bench: dict) -> None:
        """Do this process's part; `bench` keeps what a follower loaded (models) between tasks."""


@dataclass(frozen=True)
class Team:
    rank: int = 0
    size: int = 1
    backend: str | None = None
    distributed_type: str = "NO"
    _signals: Iterator[int] = field(default_factory=itertools.count, compare=False, repr=False)
    """Numbers the leader's signals (a task, the end) in the order followers read them."""

    @property
    def leads(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict[str, Any]:
        """What the manifest and the adapters' keys record: DDP over 2 processes trains (to float
        rounding) the same adapter as one process, but not bit for bit."""
        return {"world_size": self.size, "backend": self.backend, "distributed_type": self.distributed_type}

    def assign(self, task: Task) -> None:
        """Leader: give every follower `task` (the leader then does its own part)."""
        if self.size == 1:
            return
        self._ring(_TASK)
        _broadcast(task)

    def dismiss(self, failed: bool) -> None:
        """Leader: no more tasks; followers exit, with a non-zero status if the run `failed`."""
        if self.size > 1:
            self._ring(_FAILED if failed else _DONE)

    def next_task(self) -> Task | None:
        """Follower: the next task, or None once dismissed. Raises `TeamFailed` if the run failed."""
        key = f"ftvsrag/task/{next(self._signals)}"
        store = _store()
        while not store.check([key]):  # not yet: the leader is busy alone
            time.sleep(POLL_S)
        signal = store.get(key)
        if signal == _FAILED:
            raise TeamFailed("the leader failed; see its error above")
        return _broadcast(None) if signal == _TASK else None

    def gather(self, part: Any) -> list[Any] | None:
        """Every process's `part`, in rank order, on the leader; None on a follower."""
        if self.size == 1:
            return [part]
        import torch.distributed as dist

        parts = [None] * self.size if self.leads else None
        dist.gather_object(part, parts, dst=0)
        return parts

    def _ring(self, signal: bytes) -> None:
        _store().set(f"ftvsrag/task/{next(self._signals)}", signal)


SOLO = Team()


def serve(team: Team) -> None:
    """Follower: do each task the leader assigns until it dismisses the team."""
    import datasets
    import transformers

    datasets.disable_progress_bars()  # the leader's bars speak for the team
    transformers.utils.logging.disable_progress_bar()
    bench: dict = {}
    while (task := team.next_task()) is not None:
        task.run(team, bench)


class TeamFailed(Exception):
    """A follower's exit when the leader's run failed (the leader has said why)."""


def launched_together() -> bool:
    """Whether a launcher (torchrun, `accelerate launch`) started this process beside others."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join_team(cpu: bool, timeout_s: float) -> Team:
    """This process's place in the team its launcher started: accelerate picks the backend (gloo on
    CPU, nccl on CUDA) and the distributed type (an accelerate config file can make it FSDP)."""
    if not launched_together():
        return SOLO
    from accelerate import PartialState

    state = PartialState(cpu=cpu, timeout=timedelta(seconds=timeout_s))
    return Team(
        state.process_index, state.num_processes, state.backend, str(state.distributed_type).split(".")[-1]
    )


def _store():
    # The store the launcher's rendezvous made (torchrun hosts it in its agent): alive as long
    # as the launch, whichever rank is busy.
    from torch.distributed import distributed_c10d

    return distributed_c10d._get_default_store()


def _broadcast(task: Task | None) -> Task:
    import torch.distributed as dist

    box = [task]
    dist.broadcast_object_list(box, src=0)
    return box[0]
