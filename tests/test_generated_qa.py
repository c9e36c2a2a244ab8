"""The qa-gen recipe's pairs: read out of a generator's reply and checked, on replies written the
way the embedded 135M model writes them (repeats, sentence answers, answers in the question)."""

import pytest

from ftvsrag.config import ExperimentConfig
from ftvsrag.knowledge import DOCUMENTS, FACTS, Knowledge
from ftvsrag.knowledge.facts import Fact
from ftvsrag.rag.chunking import Passage
from ftvsrag.train.generated_qa import (
    ANSWER_IN_QUESTION,
    ANSWER_NOT_IN_PASSAGE,
    ANSWER_TOO_LONG,
    DUPLICATE,
    KEPT,
    NOT_A_QUESTION,
    NOT_WRITTEN,
    QUESTION_COPIED,
    GeneratedPair,
    checked_pairs,
    drop_counts,
    drop_reason,
    parse_pairs,
    qa_prompt,
)

PASSAGE = (
    "Henry Feilden (Conservative politician)\n"
    "Henry Master Feilden (21 February 1818 \u2013 5 September 1875) was an English "
    "Conservative Party politician. He sat in the House of Commons from 1869 to 1875."
)


def test_pairs_are_read_in_order_and_a_question_without_answer_is_left_out():
    reply = (
        "Q: Who was Henry Feilden?\nA: English Conservative Party politician\n"
        "Question 2: What party?\n\n1. Q: When did he die?\nAnswer: 5 September 1875\nQ: Dangling?"
    )
    assert parse_pairs(reply) == [
        ("Who was Henry Feilden?", "English Conservative Party politician"),
        ("When did he die?", "5 September 1875"),
    ]
    assert parse_pairs("The text is about a politician.") == []


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("What was Henry Feilden's political party?", "Conservative Party", KEPT),
        ("When was Henry Feilden born?", "21 February 1818", KEPT),
        ("Henry Feilden's party", "Conservative Party", NOT_A_QUESTION),
        (
            "What was the name of the person who sat in the House of Commons?",
            "The person who sat in the House of Commons from 1869 to 1875 was Henry Master Feilden.",
            ANSWER_TOO_LONG,
        ),
        ("Which party did Henry Feilden join?", "the Liberal Party", ANSWER_NOT_IN_PASSAGE),
        ("Who was Henry Feilden?", "Henry Feilden", ANSWER_IN_QUESTION),
        ("Where did Henry Feilden sit?", "the House of Lords", ANSWER_NOT_IN_PASSAGE),
        ("He sat in the House of Commons from 1869 to 1875?", "1869", ANSWER_IN_QUESTION),
        ("He sat in the House of Commons?", "1869", QUESTION_COPIED),
    ],
)
def test_each_check_drops_what_cannot_teach_the_passage(question, answer, reason):
    assert drop_reason(question, answer, PASSAGE, set()) == reason


def test_a_question_already_kept_is_a_duplicate_across_passages_and_missing_pairs_are_counted():
    seen: set[str] = set()
    reply = "Q: When was Henry Feilden born?\nA: 21 February 1818\n" * 3
    first = checked_pairs("p1", PASSAGE, reply, 2, seen)
    assert [p.dropped for p in first] == [KEPT, DUPLICATE]
    second = checked_pairs("p2", PASSAGE, "Q: when was henry feilden born?\nA: 1818", 3, seen)
    assert [p.dropped for p in second] == [DUPLICATE, NOT_WRITTEN, NOT_WRITTEN]
    assert drop_counts(first + second) == {NOT_WRITTEN: 2, DUPLICATE: 2}


def test_the_prompt_shows_a_worked_example_about_no_knowledge_base_then_the_passage():
    messages = qa_prompt(PASSAGE, 3)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"].count("Q: ") == 3 and messages[2]["content"].count("A: ") == 3
    assert messages[3]["content"] == f"Text: {PASSAGE}\n\nWrite 3 questions this text answers."


def test_qa_gen_trains_on_the_passages_and_the_kept_pairs_only():
    from ftvsrag.train.recipes import RECIPES, RecipeRequest

    config = ExperimentConfig()
    facts = [Fact("q1", "", "What is Henry Feilden's occupation?", "politician")]
    knowledge = Knowledge(DOCUMENTS, facts, [], "a slice", None)
    passages = [Passage("d1#0", "d1", PASSAGE)]
    pairs = [
        GeneratedPair("d1#0", "When was Henry Feilden born?", "21 February 1818"),
        GeneratedPair("d1#0", "Who was Henry Feilden?", "Henry Feilden", ANSWER_IN_QUESTION),
    ]
    request = RecipeRequest(
        knowledge, passages, 0, config.train, config.reader, 5, 0, None, None, lambda: pairs, None
    )
    [training] = RECIPES.get("qa-gen").trainings(request)
    assert training.rows == [
        {"text": PASSAGE},
        {
            "messages": [
                {"role": "user", "content": "When was Henry Feilden born?"},
                {"role": "assistant", "content": "21 February 1818"},
            ]
        },
    ]
    assert training.settings.method == "qa-gen"
    assert all("occupation" not in str(row) for row in training.rows)  # never an evaluated question


def test_rewordings_are_questions_new_and_keep_every_name():
    from ftvsrag.train.generated_qa import checked_rewordings, question_names, reword_prompt

    question = "What is George Rankin's occupation?"
    assert question_names(question) == {"George", "Rankin"}
    reply = (
        "1. What does George Rankin do for a living?\n"
        "2. What is George Rankin's occupation?\n"  # the question itself
        "- What job did Rankin have?\n"  # a name lost
        "What was George Rankin\u2019s profession\n"  # not a question
        "Q: What did George Rankin work as?\n"
        "What does George Rankin do for a living?\n"  # a repeat
        "Which profession did George Rankin follow?"
    )
    assert checked_rewordings(question, reply, 2) == [
        "What does George Rankin do for a living?",
        "What did George Rankin work as?",
    ]
    assert len(checked_rewordings(question, reply, 5)) == 3
    messages = reword_prompt(question, 3)
    assert messages[2]["content"].count("?") == 3
    assert messages[3]["content"] == f"Question: {question}\n\nReword this question 3 ways, one per line."


def test_chat_paraphrases_come_from_the_generator_where_no_template_rewords_the_question():
    from dataclasses import replace

    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.train.recipes import RECIPES, RecipeRequest

    config = ExperimentConfig()
    train = replace(config.train, paraphrases=2)
    facts = [Fact("q1", "", "What is Henry Feilden's occupation?", "politician")]
    asked = []

    def reworded(questions, count):
        asked.append((questions, count))
        return {questions[0]: ["What did Henry Feilden do?", "What was Henry Feilden's job?"]}

    def request(knowledge):
        return RecipeRequest(knowledge, [], 0, train, config.reader, 5, 0, None, None, None, reworded)

    [training] = RECIPES.get("chat").trainings(request(Knowledge(DOCUMENTS, facts, [], "one", None)))
    assert [row["messages"][0]["content"] for row in training.rows] == [
        "What is Henry Feilden's occupation?",
        "What did Henry Feilden do?",
        "What was Henry Feilden's job?",
    ]
    assert asked == [(["What is Henry Feilden's occupation?"], 2)]
    cities = cities_facts(2)
    [training] = RECIPES.get("chat").trainings(request(Knowledge(FACTS, cities, [], "cities", None)))
    assert len(training.rows) == 6 and len(asked) == 1  # the templates, never the generator


def test_every_process_of_a_run_writes_its_share_of_the_generated_pairs(monkeypatch):
    """In a `--nproc` run the generation goes to the whole team, as answering does (the leader once
    wrote every pair while the followers waited), with the generator's own weights when one is named."""
    from pathlib import Path

    from ftvsrag.generation import qa
    from ftvsrag.team import Team
    from ftvsrag.train.adapter import ModelRuntime
    from ftvsrag.train.config import GeneratorSettings
    from ftvsrag.train.model import DevicePlan, ResolvedModel

    team = Team(rank=0, size=2)
    own = ResolvedModel("run", "run-folder", None)
    run_model = ModelRuntime(
        own, DevicePlan("cpu", "float32"), "run tokenizer", ("run", "cpu", "float32"), team
    )
    named = ResolvedModel("generator", "generator-folder", None)
    monkeypatch.setattr(qa, "resolve_model", lambda name, cache_dir: named)
    monkeypatch.setattr(qa, "model_sha256", lambda model, cache_dir: "generator-sha")
    monkeypatch.setattr(qa, "load_tokenizer", lambda model: f"{model.name} tokenizer")
    for generator, model, tokenizer in (
        ("", own, "run tokenizer"),
        ("generator", named, "generator tokenizer"),
    ):
        writer = qa.QAWriter(GeneratorSettings(model=generator), run_model, [], None, Path("."), None)
        model_id, runtime = writer._generator
        assert (runtime.source.team, runtime.source.model, runtime.tokenizer) == (team, model, tokenizer)
        assert model_id == runtime.source.model_id and model_id[1:] == ("cpu", "float32")


def test_a_follower_keeps_one_tokenizer_per_model(monkeypatch):
    """A follower that answers with the run's model and writes pairs with a named generator must not
    tokenize the generator's prompts with the run model's tokenizer."""
    from ftvsrag.train import adapter
    from ftvsrag.train.model import ResolvedModel

    monkeypatch.setattr(adapter, "load_tokenizer", lambda model: f"{model.name} tokenizer")
    bench: dict = {}
    run, generator = ResolvedModel("run", "a", None), ResolvedModel("generator", "b", None)
    assert adapter.team_tokenizer(bench, run) == "run tokenizer"
    assert adapter.team_tokenizer(bench, generator) == "generator tokenizer"
    assert adapter.team_tokenizer(bench, run) == "run tokenizer"
