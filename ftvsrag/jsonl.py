"""Reading the user's files: UTF-8 text, and JSONL of one JSON object per line, with errors that name
the file (and the line)."""

from __future__ import annotations

import json
from pathlib import Path

from ftvsrag.errors import UserInputError


def read_user_text(path: Path) -> str:
    """The file's text; a file that is not UTF-8 or cannot be read is a one-line error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise UserInputError(f"{path}: cannot be read ({error.strerror})") from None


def read_json_records(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) for each non-blank line, after checking each is a JSON object."""
    if not path.is_file():
        raise UserInputError(f"data file not found: {path}")
    text = read_user_text(path)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path}:{number}: malformed JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UserInputError(f"{path}:{number}: each line must be a JSON object")
        records.append((number, record))
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
