"""The text rules side by side on real-looking outputs: 'prefix' (the default) reads a word derived
from an alias, 'strict' wants whole words, 'substring' is PopQA's own rule (for comparison with
published figures, over-matches included), and numbers keep their own rules under all of them."""

import pytest

from tests.conftest import score_text

FOOTBALL = ["association football", "football", "soccer"]
JUDO = ["judo"]
BB = ["BB"]
POLITICIAN = ["politician", "political leader", "polit.", "pol"]


@pytest.mark.parametrize(
    ("output", "aliases", "prefix", "strict", "substring"),
    [
        # A word formed from the alias answers it.
        ("Henk Groot is a Dutch footballer.", FOOTBALL, True, False, True),
        ("He was a former Estonian judoka.", JUDO, True, False, True),
        ("She played association football for Ajax.", FOOTBALL, True, True, True),
        ("He plays soccer.", FOOTBALL, True, True, True),
        ("Footballers earn well.", FOOTBALL, True, False, True),
        # A short alias matches only as a whole word: 'BB' is not 'BBC'.
        ("He worked for the BBC.", BB, False, False, True),
        ("He is a BB gun collector.", BB, True, True, True),
        # An abbreviation is not extended: 'polit.' is not 'political science'.
        ("He studied political science.", POLITICIAN, False, False, True),
        ("The pol. of the region", POLITICIAN, True, True, True),
        # A long tail is another word, not a derived one: 'chessboards' is not 'chess'.
        ("He sold chessboards.", ["chess"], False, False, True),
        ("He was a chess player.", ["chess"], True, True, True),
        # Nothing alike.
        ("He was a policeman.", POLITICIAN, False, False, True),  # 'pol' inside 'policeman'
        ("I don't know.", JUDO, False, False, False),
        ("", JUDO, False, False, False),
    ],
)
def test_text_rules_on_real_looking_outputs(output, aliases, prefix, strict, substring):
    scores = score_text(output, aliases[0], "What is X's occupation?", aliases=aliases)
    metrics = scores["metrics"]
    assert (metrics["prefix"], metrics["strict"], metrics["substring"]) == (prefix, strict, substring)
    assert scores["correct"] == prefix  # the default rule


@pytest.mark.parametrize(
    ("output", "alias", "found"),
    [
        ("The club was founded in 1990.", "19", False),  # a number inside a longer number
        ("It is on Route 66.", "Route 6", False),
        ("It is on Route 66.", "Route 66", True),
        ("He flew the B-52s.", "B 52", False),
        ("A Dutch footballer", "FOOTBALL", True),  # case and punctuation are normalised away
    ],
)
def test_digits_never_run_on_under_the_prefix_rule(output, alias, found):
    """Text answers that hold digits (numeric answers are scored by the number rules before this)."""
    from ftvsrag.eval.extract import contains_word_start

    assert contains_word_start(output, alias) is found


def test_numbers_keep_their_rules_under_every_text_rule():
    for metric in ("prefix", "strict", "substring"):
        scores = score_text(
            "City_7 has about 1,200 inhabitants.", "1200", "Population of City_7?", metric=metric
        )
        assert (scores["kind"], scores["correct"], scores["correct_lenient"]) == ("number", False, True)
        assert score_text("About 12000 people.", "1200", "Population?", metric=metric)["correct"] is False


def test_the_chosen_rule_is_what_correct_counts():
    output, aliases = "Henk Groot is a Dutch footballer.", FOOTBALL
    assert score_text(output, "football", aliases=aliases, metric="strict")["correct"] is False
    assert score_text(output, "football", aliases=aliases, metric="prefix")["correct"] is True
