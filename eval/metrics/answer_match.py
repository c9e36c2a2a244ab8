"""Right or wrong: numbers by their own rules (the blog's strict integer, or a lenient reading),
text by one of four ways an alias may appear in the output. The forgetting probe's questions are
right when an accepted answer appears as whole words, under every rule."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ftvsrag.eval.extract import (
    NUMBER,
    contains_accepted,
    contains_phrase,
    contains_substring,
    contains_word_start,
    contains_words,
    extract_lenient,
    extract_strict,
)
from ftvsrag.eval.metrics import METRICS, Reference


def _rule(output: str, reference: Reference, text_rule: Callable[[str, str], bool], lenient: bool) -> bool:
    if reference.accepted:
        return contains_accepted(output, reference.accepted)
    if reference.kind == NUMBER:
        extract = extract_lenient if lenient else extract_strict
        found = extract(output, reference.restated)
        return found is not None and found == reference.gold_number
    return any(text_rule(output, wording) for wording in reference.wordings)


RULES = (
    (
        "prefix",
        contains_word_start,
        False,
        "an alias at the start of a word of the output, so a derived word counts ('football' in "
        "'footballer'; short aliases whole); numbers by the blog's strict rule",
    ),
    (
        "strict",
        contains_phrase,
        False,
        "an alias as whole words of the output (case, punctuation and articles ignored, SQuAD-normalised); "
        "numbers by the blog's rule: the first integer after whitespace equals the gold number",
    ),
    (
        "substring",
        contains_substring,
        False,
        "PopQA's rule (Mallen et al. 2023): an alias as written, lower-cased or capitalised anywhere in the "
        "output, inside words too; numbers by the blog's strict rule",
    ),
    (
        "lenient",
        contains_words,
        True,
        "every word of an alias anywhere in the output; numbers read with thousands separators and "
        "number words ('1,967,825', '1.97 million')",
    ),
)
"""(name, text rule, lenient number reading, description): the registered right-or-wrong rules."""

for _name, _text_rule, _lenient, _description in RULES:
    METRICS.register(_name, _description, matches=True)(
        partial(_rule, text_rule=_text_rule, lenient=_lenient)
    )
