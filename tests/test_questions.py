from ftvsrag.eval.extract import extract_lenient
from ftvsrag.knowledge.facts import cities_facts
from ftvsrag.knowledge.questions import (
    EVAL_PARAPHRASES,
    TRAIN_PARAPHRASES,
    paraphrase_questions,
    train_questions,
    training_paraphrases,
    updated_facts,
    updated_questions,
)

FACTS = cities_facts()


def test_train_questions_are_the_blogs():
    questions = train_questions(FACTS)
    assert questions[6].text == "What is the population of City_7?"
    assert questions[6].gold == "City_7 has about 1819583 inhabitants."


def test_evaluation_paraphrases_are_never_trained_on():
    assert not set(EVAL_PARAPHRASES) & set(TRAIN_PARAPHRASES)
    trained = {q for f in FACTS for q in [f.question, *training_paraphrases(f, len(TRAIN_PARAPHRASES))]}
    asked = {q.text for q in paraphrase_questions(FACTS)}
    assert len(asked) == 100 and not asked & trained


def test_paraphrases_rotate_through_the_templates():
    questions = paraphrase_questions(FACTS)
    assert [q.text for q in questions[:4]] == [
        "How many people live in City_1?",
        "How many inhabitants does City_2 have?",
        "What is the number of residents of City_3?",
        "Roughly how many people call City_4 home?",
    ]
    assert questions[0].gold == FACTS[0].answer


def test_updated_facts_change_only_the_number():
    changed = updated_facts(FACTS, 20, seed=43)
    assert len(changed) == 20 and len({f.id for f in changed}) == 20
    by_id = {f.id: f for f in FACTS}
    for fact in changed:
        old = by_id[fact.id]
        assert extract_lenient(fact.answer) != extract_lenient(old.answer)
        assert fact.answer.replace(str(extract_lenient(fact.answer)), "N") == old.answer.replace(
            str(extract_lenient(old.answer)), "N"
        )
    questions = updated_questions(FACTS, changed)
    assert all(q.stale == by_id[q.fact_id].answer and q.gold != q.stale for q in questions)
    assert updated_facts(FACTS, 20, seed=43) == changed  # reproducible


def test_updated_question_answer_facts_change_number_and_document_together():
    from ftvsrag.knowledge.facts import Fact

    facts = [
        Fact("a", "", "How many desks?", "48", context="Floor 3 has 48 desks."),
        Fact("b", "", "Who leads it?", "Ines Halvorsen", context="Ines Halvorsen leads it."),
        Fact("c", "", "How many floors?", "7", context="It has 7 floors."),
    ]
    changed = updated_facts(facts, 5, seed=1)
    assert [f.id for f in changed] == ["a", "c"]  # text answers cannot change number
    for fact in changed:
        new = fact.answer
        assert new.isdigit() and fact.document.replace(new, "N") in (
            "Floor 3 has N desks.",
            "It has N floors.",
        )
        assert new not in ("48", "7")
