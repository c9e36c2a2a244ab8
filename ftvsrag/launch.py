"""`ftvsrag run --nproc N`: this command again in N processes, as `torchrun --standalone
--nproc-per-node N -m ftvsrag ...` would start it, through torchrun's own launcher API, so a failed
process ends in one line rather than torchrun's report."""

from __future__ import annotations

import logging
import os
import signal
import sys
import uuid

from ftvsrag.errors import UserInputError


def launch(nproc: int, argv: list[str]) -> int:
    """Run `python -m ftvsrag ARGV` in `nproc` local processes; their exit status (the leader's if it
    failed, else the first failed process's), 0 when all succeed."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # torchrun's rule: the cores shared out, or N processes each start one thread per core.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
    )
    try:
        elastic_launch(config, sys.executable)("-m", "ftvsrag", *argv)
    except ChildFailedError as error:
        return _failure_status(error, nproc)
    except SignalException as error:
        print(f"ftvsrag: stopped by {error.sigval.name}; no run folder was changed", file=sys.stderr)
        return 128 + int(error.sigval)
    return 0


def _failure_status(error, nproc: int) -> int:
    rank, failure = error.get_first_failure()  # the root cause: the others were stopped after it
    if failure.exitcode < 0:
        name = signal.Signals(-failure.exitcode).name
        print(
            f"ftvsrag: error: process {rank} of {nproc} was ended by {name}; the run stopped and no run "
            "folder was changed",
            file=sys.stderr,
        )
        return 128 - failure.exitcode
    return failure.exitcode


def check_nproc(nproc: int) -> None:
    if nproc < 1:
        raise UserInputError(f"--nproc must be at least 1, got {nproc}")
