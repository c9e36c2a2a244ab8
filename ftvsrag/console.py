"""A quiet console: stage lines, progress bars and the result on screen; library warnings, library
logs and the trainer's loss lines in the run's `run.log` (on screen too with `--verbose`)."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_FILE = "run.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def run_log(path: Path | None, verbose: bool = False) -> Iterator[None]:
    """Inside the block, every warning and log record goes to `path` (nowhere if None), and to
    stderr as well when `verbose`. The logging setup before the block is restored after it."""
    handlers: list[logging.Handler] = [
        logging.FileHandler(path, encoding="utf-8") if path else logging.NullHandler()
    ]
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    root.handlers, root.level = handlers, logging.INFO
    logging.captureWarnings(True)
    library_defaults = _send_libraries_to_root()
    bars = _hide_library_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once, into the log
            yield
    finally:
        _show_library_bars(bars)
        _restore_libraries(library_defaults)
        logging.captureWarnings(False)
        root.level, root.handlers = saved
        for handler in handlers:
            handler.close()


LIBRARIES = ("transformers", "datasets", "trl", "peft", "accelerate", "sentence_transformers", "chromadb")
"""Libraries whose loggers print through handlers of their own (or would, once configured)."""


def _send_libraries_to_root() -> list[tuple[logging.Logger, list[logging.Handler], bool]]:
    """Route the libraries' own loggers to the root's handlers (ours); what to restore after."""
    try:  # transformers installs its stderr handler on first use: install it now, then lift it
        from transformers.utils import logging as transformers_logging

        transformers_logging.get_logger()
    except ImportError:
        pass
    saved = []
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers, logger.propagate = [], True
    return saved


def _restore_libraries(saved: list[tuple[logging.Logger, list[logging.Handler], bool]]) -> None:
    for logger, handlers, propagate in saved:
        logger.handlers, logger.propagate = handlers, propagate


def _hide_library_bars() -> list:
    """The libraries' own bars (loading weights, tokenizing a dataset) last a fraction of a second
    each and crowd the stage lines; the trainer's and the answering bars stay."""
    hidden = []
    try:
        import datasets
        from transformers.utils import logging as transformers_logging
    except ImportError:
        return hidden
    if transformers_logging.is_progress_bar_enabled():
        transformers_logging.disable_progress_bar()
        hidden.append(transformers_logging.enable_progress_bar)
    if datasets.is_progress_bar_enabled():
        datasets.disable_progress_bars()
        hidden.append(datasets.enable_progress_bars)
    return hidden


def _show_library_bars(hidden: list) -> None:
    for enable in hidden:
        enable()
