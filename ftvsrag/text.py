"""Text primitives that loading, training rows and scoring all read the same way: SQuAD's
normalisation and numbers as a person writes them. Pure functions, no model."""

from __future__ import annotations

import re

_NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a name like City_7 or of another number
    r"(\d{1,3}(?:(?P<sep>[,.' \u00a0\u202f_])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?:\.(\d+))?"
    r"(?:\s*(million|thousand|billion|[mk]\b))?",
    re.IGNORECASE,
)
_SCALE = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "billion": 10**9}
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = re.compile(r"[^\w\s]")


def numbers_in(text: str) -> list[int]:
    """Every number in the text, in order, with thousands separators and scale words understood:
    "1,967,825", "1 967 825", "1.967.825", "1967825.0" and "1.97 million" all read as numbers; the
    digits in "City_7" do not."""
    values = []
    for found in _NUMBER.finditer(text):
        whole, _separator, fraction, scale = found.groups()
        digits = re.sub(r"\D", "", whole)
        value = float(f"{digits}.{fraction}") if fraction else float(digits)
        if scale:
            value *= _SCALE[scale.lower()]
        values.append(round(value))
    return values


def first_number(text: str, ignore: set[int] | list[int] | tuple[int, ...] = ()) -> int | None:
    """The first number of the text not in `ignore` (a question's own numbers), or None."""
    return next((value for value in numbers_in(text) if value not in ignore), None)


def normalise_text(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).split())


def padded_words(text: str) -> str:
    """`normalise_text` with a space at each end: a phrase padded alike is found in it only as
    whole words ('judo' is not in ' judoka ')."""
    return f" {normalise_text(text)} "


ABSTENTION = "I don't know."
"""What the prompts ask a model to say when it does not know, and what the reader is trained to say."""
_ABSTAINING = tuple(normalise_text(p) for p in (ABSTENTION, "I do not know"))


def abstains(output: str) -> bool:
    """The answer opens by saying it does not know ('I don't know.', 'I do not know the answer')."""
    return normalise_text(output).startswith(_ABSTAINING)
