"""Answer extraction and matching: small named functions, each rule beside the others, with an
explicit no-answer. Pure functions of text: re-scoring from answers.jsonl needs no model.
The metrics that use them are registered in eval/metrics/."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection

from ftvsrag.text import first_number, normalise_text, numbers_in

NO_ANSWER = None
"""What an extractor returns when the output holds no answer it can read."""
NUMBER, TEXT = "number", "text"

_BLOG_INTEGER = re.compile(r"(?:^|\s)(\d+)")
MIN_DERIVABLE_ALIAS = 4
"""An alias whose last word is shorter (or holds a digit, or is an abbreviation ending in '.') must
match as a whole word under the prefix rule: 'BB' is not 'BBC', 'art' is not 'article', '19' is not
'1990', 'polit.' is not 'political'."""
MAX_DERIVED_SUFFIX = 4
"""Letters a derived word may add to an alias: 'footballer' (+er), 'judoka' (+ka), 'novelist'
(+ist), 'musician' (+ian), 'actors' (+s). English derivational suffixes are short; a longer tail
('football' -> 'footballing-club') is another word."""


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
    words understood ("1,967,825", "1.97 million"); the digits in "City_7" do not count."""
    return first_number(text, ignore)


def answer_shape(reference: str) -> re.Pattern[str]:
    """The reference answer's sentence with every number free: 'City_\\d+ has about \\d+ inhabitants\\.'."""
    parts = re.split(r"\d+", reference.strip())
    return re.compile(r"\d+".join(re.escape(part) for part in parts))


def follows_shape(text: str, reference: str) -> bool:
    """Whether the output is the training sentence's shape (format learned), whatever its numbers."""
    return answer_shape(reference).fullmatch(text.strip()) is not None


def answer_kind(reference: str, question: str = "") -> str:
    """How an answer is scored: by its number when it has one of its own (the blog's rule), else as
    text. A number the question already holds ('Route 66', 'iPhone 15') is not the answer's."""
    return NUMBER if first_number(reference, numbers_in(question)) is not None else TEXT


def contains_phrase(output: str, reference: str) -> bool:
    """Whole-word text match: the normalised reference appears in the normalised output as whole words."""
    phrase = normalise_text(reference)
    return bool(phrase) and f" {phrase} " in f" {normalise_text(output)} "


def contains_word_start(output: str, reference: str) -> bool:
    """Derived-word text match: the normalised reference appears at the start of a word of the
    output, and its last word may run on by a short suffix ('football' in 'footballer', 'judo' in
    'judoka'). A short or digit-bearing last word must match whole (see MIN_DERIVABLE_ALIAS)."""
    phrase = normalise_text(reference)
    if not phrase:
        return False
    last = phrase.split()[-1]
    abbreviated = reference.rstrip().endswith(".")
    derivable = len(last) >= MIN_DERIVABLE_ALIAS and not any(c.isdigit() for c in last) and not abbreviated
    tail = rf"[^\W\d_]{{0,{MAX_DERIVED_SUFFIX}}}" if derivable else ""
    return re.search(rf"(?<!\w){re.escape(phrase)}{tail}(?!\w)", normalise_text(output)) is not None


def contains_substring(output: str, reference: str) -> bool:
    """PopQA's rule (Mallen et al. 2023, run_model.py), for comparison with published figures: the
    alias as written, lower-cased or capitalised, anywhere in the raw output, inside words too."""
    return any(form in output for form in (reference, reference.lower(), reference.capitalize()) if form)


def contains_words(output: str, reference: str) -> bool:
    """Lenient text match: every word of the normalised reference appears in the output, in any order."""
    words = set(normalise_text(output).split())
    wanted = normalise_text(reference).split()
    return bool(wanted) and all(word in words for word in wanted)


def contains_accepted(output: str, accepted: Collection[str]) -> bool:
    """The forgetting probe's rule: an accepted answer appears as whole words, ignoring case."""
    return any(re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", output, re.IGNORECASE) for answer in accepted)


def token_f1(output: str, reference: str) -> float:
    """SQuAD's token F1 between the normalised output and reference (bags of words)."""
    predicted, wanted = normalise_text(output).split(), normalise_text(reference).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)
