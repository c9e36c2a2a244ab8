"""Markdown pieces and number formats shared by the report's sections."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    return "\n".join([row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)])


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def pct(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.0f} %" if value in (0, 1) else f"{100 * value:.1f} %"


def signed(value: float) -> str:
    return f"{100 * value:+.1f} pt"


def p_value(value: float) -> str:
    return f"{value:.2g}" if value >= 1e-4 else "< 0.0001"


def p_equals(value: float) -> str:
    """'p = 0.031', or 'p < 0.0001' below what the report prints."""
    text = p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"
