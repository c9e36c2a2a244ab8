"""The trainer's logs go to the run's log, not the console: its progress bar stays, and the loss
dicts it would print between the bar's lines go to the `ftvsrag.train` logger (run.log). The last
step's loss is always logged, so the training curves end where the training did."""

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


class LogLastStep(TrainerCallback):
    """The loss of the last optimiser step is logged too, whatever `logging_steps` says: with
    `logging_first_step`, every training's curve spans it from the first step to the last."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == state.max_steps:
            control.should_log = True
        return control


def log_instead_of_printing(trainer) -> None:
    """Swap the trainer's printing callbacks for ones that log."""
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(LoggedProgressCallback)
    if trainer.pop_callback(PrinterCallback) is not None:
        trainer.add_callback(LossLogCallback)
    trainer.add_callback(LogLastStep)
