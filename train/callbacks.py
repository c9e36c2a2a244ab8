"""The trainer's logs go to the run's log, not the console: its progress bar stays, and the loss
dicts it would print between the bar's lines go to the `ftvsrag.train` logger (run.log)."""

from __future__ import annotations

import logging

from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

LOG = logging.getLogger("ftvsrag.train")


class LoggedProgressCallback(ProgressCallback):
    """The progress bar, with each log line sent to the logger."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            LOG.info("step %d: %s", state.global_step, logs)


class LossLogCallback(TrainerCallback):
    """No bar (a follower): log lines to the logger."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            LOG.info("step %d: %s", state.global_step, logs)


def log_instead_of_printing(trainer) -> None:
    """Swap the trainer's printing callbacks for ones that log."""
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(LoggedProgressCallback)
    if trainer.pop_callback(PrinterCallback) is not None:
        trainer.add_callback(LossLogCallback)
