"""Answer extraction: small named functions, strict and lenient side by side, an explicit no-answer.

Pure functions of text: re-scoring from answers.jsonl needs no model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection

NO_ANSWER = None
"""What an extractor returns when the output holds no answer it can read."""

_BLOG_INTEGER = re.compile(r"(?:^|\s)(\d+)")
_NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a name like City_7 or of another number
    r"(\d{1,3}(?:(?P<sep>[,.' \u00a0\u202f_])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?:\.(\d+))?"
    r"(?:\s*(million|thousand|billion|[mk]\b))?",
    re.IGNORECASE,
)
_SCALE = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "billion": 10**9}


def extract_strict(text: str, ignore: Collection[int] = ()) -> int | None:
    """The blog's rule: the first run of digits preceded by whitespace (or opening the answer, for
    knowledge bases whose answers are bare numbers). Numbers in `ignore` (the question's own, such
    as the 74 of 'the X-74 lamp') restate the question and are passed over."""
    for found in _BLOG_INTEGER.finditer(text):
        if int(found.group(1)) not in ignore:
            return int(found.group(1))
    return NO_ANSWER


def extract_lenient(text: str, ignore: Collection[int] = ()) -> int | None:
    """The first number not glued to a name and not in `ignore`, with thousands separators and scale
    words understood.

    "1,967,825", "1 967 825", "1.967.825", "1967825.0" and "1.97 million" all read as numbers;
    the digits in "City_7" do not.
    """
    for value in numbers_in(text):
        if value not in ignore:
            return value
    return NO_ANSWER


def numbers_in(text: str) -> list[int]:
    """Every number in the text as `extract_lenient` reads them, in order."""
    values = []
    for found in _NUMBER.finditer(text):
        whole, _separator, fraction, scale = found.groups()
        digits = re.sub(r"\D", "", whole)
        value = float(f"{digits}.{fraction}") if fraction else float(digits)
        if scale:
            value *= _SCALE[scale.lower()]
        values.append(round(value))
    return values


def answer_shape(reference: str) -> re.Pattern[str]:
    """The reference answer's sentence with every number free: 'City_\\d+ has about \\d+ inhabitants\\.'."""
    parts = re.split(r"\d+", reference.strip())
    return re.compile(r"\d+".join(re.escape(part) for part in parts))


def follows_shape(text: str, reference: str) -> bool:
    """Whether the output is the training sentence's shape (format learned), whatever its numbers."""
    return answer_shape(reference).fullmatch(text.strip()) is not None


NUMBER, TEXT = "number", "text"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = re.compile(r"[^\w\s]")


def answer_kind(reference: str, question: str = "") -> str:
    """How an answer is scored: by its number when it has one of its own (the blog's rule), else as
    text. A number the question already holds ('Route 66', 'iPhone 15') is not the answer's."""
    return NUMBER if extract_lenient(reference, numbers_in(question)) is not None else TEXT


def normalise_text(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).split())


def contains_phrase(output: str, reference: str) -> bool:
    """Strict text match: the normalised reference appears in the normalised output as whole words."""
    phrase = normalise_text(reference)
    return bool(phrase) and f" {phrase} " in f" {normalise_text(output)} "


def contains_words(output: str, reference: str) -> bool:
    """Lenient text match: every word of the normalised reference appears in the output, in any order."""
    words = set(normalise_text(output).split())
    wanted = normalise_text(reference).split()
    return bool(wanted) and all(word in words for word in wanted)


def token_f1(output: str, reference: str) -> float:
    """SQuAD's token F1 between the normalised output and reference (bags of words)."""
    predicted, wanted = normalise_text(output).split(), normalise_text(reference).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)
