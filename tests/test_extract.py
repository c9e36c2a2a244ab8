import pytest

from ftvsrag.eval.extract import NO_ANSWER, extract_lenient, extract_strict, follows_shape
from tests.conftest import score_text

GOLD = "City_1 has about 1967825 inhabitants."


@pytest.mark.parametrize(
    ("output", "strict", "lenient"),
    [
        ("City_1 has about 1967825 inhabitants.", 1967825, 1967825),
        ("The population of City_1 is 1967825.", 1967825, 1967825),
        ("The population of City_1 is 1,967,825.", 1, 1967825),
        ("City_1 has 1 967 825 people", 1, 1967825),
        ("1967825", 1967825, 1967825),  # a bare number opening the answer counts too
        ("x1967825", NO_ANSWER, NO_ANSWER),
        ("About 1.97 million people live there.", 1, 1970000),
        ("It has 1967825.0 inhabitants", 1967825, 1967825),
        ("I don't know.", NO_ANSWER, NO_ANSWER),
        ("City_77 has about 3784531 inhabitants.", 3784531, 3784531),
        ("", NO_ANSWER, NO_ANSWER),
    ],
)
def test_extraction(output, strict, lenient):
    assert extract_strict(output) == strict
    assert extract_lenient(output) == lenient


@pytest.mark.parametrize(
    ("output", "ok"),
    [
        ("City_1 has about 1967825 inhabitants.", True),
        ("City_9 has about 4444422 inhabitants.", True),  # the shape, not the fact
        (" City_1 has about 1 inhabitants. ", True),
        ("City_1 has a population of 1967825.", False),
        ("The population of City_1 is 1967825.", False),
        ("City_1 has about 1967825 inhabitants. It is nice.", False),
    ],
)
def test_format_follows_the_training_sentence(output, ok):
    assert follows_shape(output, GOLD) is ok


def test_score_compares_with_the_gold_number():
    scored = score_text("The population of City_1 is 1,967,825.", GOLD)
    metrics = scored.pop("metrics")
    assert metrics == {
        "prefix": False,
        "strict": False,
        "substring": False,
        "lenient": True,
        "f1": None,
        "format": False,
        "stale": None,
    }
    assert scored == {
        "kind": "number",
        "gold_number": 1967825,
        "extracted_strict": 1,
        "extracted_lenient": 1967825,
        "correct": False,
        "correct_lenient": True,
        "format_ok": False,
        "stale": None,
    }


def test_stale_answers_are_the_old_number():
    scored = score_text(
        "City_1 has about 1967825 inhabitants.", "City_1 has about 5 inhabitants.", stale=GOLD
    )
    assert (scored["correct"], scored["stale"], scored["format_ok"]) == (False, True, True)


def test_text_answers_use_the_accepted_list():
    assert score_text("The capital of France is Paris.", "Paris", accepted=["Paris"])["correct"] is True
    assert score_text("Parisian food is good.", "Paris", accepted=["Paris"])["correct"] is False


@pytest.mark.parametrize(
    ("output", "strict", "lenient"),
    [
        ("Ines Halvorsen", True, True),
        ("The Tessel Lab is led by Ines Halvorsen.", True, True),
        ("ines halvorsen!", True, True),
        ("Halvorsen, Ines", False, True),
        ("Ines Halvorsens", False, False),
        ("Ines", False, False),
        ("I don't know.", False, False),
    ],
)
def test_text_answers_are_matched_after_normalisation(output, strict, lenient):
    scored = score_text(output, "Ines Halvorsen", metric="strict")
    assert (scored["kind"], scored["correct"], scored["correct_lenient"]) == ("text", strict, lenient)


def test_each_answer_picks_its_rule():
    from ftvsrag.eval.extract import answer_kind, normalise_text

    assert [answer_kind(a) for a in ("48", "Dock 14", "the Tessel Lab", "slate blue")] == [
        "number",
        "number",
        "text",
        "text",
    ]
    assert normalise_text("The  Lantern Regatta!") == "lantern regatta"
    assert score_text("1987.", "1987")["correct"] is True  # a bare number opening the answer
    assert score_text("In 1987.", "1987")["correct"] is True


@pytest.mark.parametrize(
    ("output", "correct"),
    [
        ("The X-74 lamp weighs 6551 grams.", True),
        ("It weighs 6551 g.", True),
        ("The X-74 lamp is a type of LED lamp.", False),
        ("The X-74 lamp weighs 74 grams.", False),
    ],
)
def test_a_number_in_the_subjects_name_is_not_the_answer(output, correct):
    """Defect: for "The X-74 lamp weighs 6551 grams." the gold number was read as 74, so the right
    6551 scored wrong and an answer that merely repeated the name scored right."""
    gold, question = "The X-74 lamp weighs 6551 grams.", "How much does the X-74 lamp weigh?"
    scored = score_text(output, gold, question)
    assert scored["gold_number"] == 6551
    assert scored["correct_lenient"] is correct


def test_a_number_that_only_names_the_subject_makes_a_text_answer():
    from ftvsrag.eval.extract import TEXT, answer_kind, numbers_in

    assert numbers_in("Who designed the Boeing 747 and the iPhone 15?") == [747, 15]
    assert answer_kind("The Boeing 747 was designed by Joe Sutter.", "Who designed the Boeing 747?") == TEXT
    assert answer_kind("Route 66 is 3940 km long.", "How long is Route 66?") == "number"
