"""Reading the user's files: UTF-8 text (a byte-order mark accepted, as Excel and many Windows
tools write one), and records of one object each from JSONL, CSV or Parquet (the last two through
`datasets`), with errors that name the file and the line."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from ftvsrag.errors import UserInputError

Records = list[tuple[int, dict]]
"""(line or row number, record) for each record of a file."""


def read_user_text(path: Path) -> str:
    """The file's text; a file that is not UTF-8 or cannot be read is a one-line error naming it."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise UserInputError(f"{path}: cannot be read ({error.strerror})") from None


def read_json_lines(path: Path) -> Records:
    """One JSON object per non-blank line."""
    records = []
    for number, line in enumerate(read_user_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path}:{number}: malformed JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UserInputError(f"{path}:{number}: each line must be a JSON object")
        records.append((number, record))
    return records


def read_table(path: Path) -> Records:
    """A CSV or Parquet file's rows through `datasets` (row 2 is the first row under a CSV header).
    A cell that is empty is left out of its record, and a text cell holding a JSON list (an
    'answers' or 'document_ids' column in CSV, which has no lists) is that list."""
    import datasets

    builder = (
        datasets.Dataset.from_parquet if path.suffix.lower() == ".parquet" else datasets.Dataset.from_csv
    )
    extra = {} if path.suffix.lower() == ".parquet" else {"encoding": "utf-8-sig"}
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(prefix="ftvsrag-table-") as cache:
            rows = builder(str(path), cache_dir=cache, keep_in_memory=True, **extra).to_list()
    except Exception as error:  # pyarrow and pandas raise many types for a damaged table
        raise UserInputError(f"{path}: cannot be read as a table ({str(error).splitlines()[0]})") from None
    finally:
        if bars:
            datasets.enable_progress_bars()
    first = 1 if path.suffix.lower() == ".parquet" else 2
    return [(first + i, {k: _cell(v) for k, v in row.items() if v is not None}) for i, row in enumerate(rows)]


def _cell(value):
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return value
        return decoded if isinstance(decoded, list) else value
    return value


READERS: dict[str, Callable[[Path], Records]] = {
    ".jsonl": read_json_lines,
    ".json": read_json_lines,
    ".csv": read_table,
    ".parquet": read_table,
}
"""Record files by suffix; any other suffix is read as JSONL."""


def read_records(path: Path) -> Records:
    """(line number, record) for each record of a JSONL, CSV or Parquet file, none of them empty."""
    if not path.is_file():
        raise UserInputError(f"data file not found: {path}")
    records = READERS.get(path.suffix.lower(), read_json_lines)(path)
    if not records:
        raise UserInputError(f"{path}: the file is empty")
    return records


def text_field(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if value is None:
        raise UserInputError(f"{where}: no '{key}'")
    if not isinstance(value, str):
        raise UserInputError(f"{where}: '{key}' must be text, got {type(value).__name__}")
    if not value.strip():
        raise UserInputError(f"{where}: empty '{key}'")
    return value.strip()
