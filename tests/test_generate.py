"""Generation that computes the prompts' shared start once gives the same answers as without."""

import pytest

from ftvsrag.generation import generate
from ftvsrag.rag.prompts import rag_messages


@pytest.mark.slow
def test_prefix_cache_gives_the_answers_of_plain_generation(smollm2, smollm2_tokenizer, monkeypatch):
    from ftvsrag.train.model import load_model, plan_device

    model = load_model(smollm2, plan_device("cpu", "float32"))
    # Different lengths, so some rows carry padding between the shared start and their own part.
    conversations = [
        rag_messages("What is the population of City_7?", ["City_7 has about 12345 inhabitants."]),
        rag_messages(
            "How many people live in City_12?",
            ["City_12 has about 777 inhabitants.", "City_1 has about 4242 inhabitants."],
        ),
        rag_messages("What is the population of City_3?", ["City_3 has about 98765 inhabitants."] * 3),
    ]
    prompts = [
        smollm2_tokenizer.apply_chat_template(c, tokenize=True, add_generation_prompt=True)["input_ids"]
        for c in conversations
    ]
    assert generate.shared_prefix_length(prompts) == 54

    limits = generate.batch_limits("cpu", 3)
    cached = generate.generate_answers(model, smollm2_tokenizer, conversations, limits, 24, desc="cached")
    monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**6)
    plain = generate.generate_answers(model, smollm2_tokenizer, conversations, limits, 24, desc="plain")

    assert cached.texts == plain.texts
    assert "12345" in cached.texts[0]
    assert cached.prompt_tokens == [len(p) for p in prompts]
    assert cached.computed_prompt_tokens == 54 + sum(len(p) - 54 for p in prompts)
    assert plain.computed_prompt_tokens == sum(len(p) for p in prompts)
    assert cached.generated_tokens == plain.generated_tokens
    assert cached.generated_tokens[0] == len(smollm2_tokenizer(cached.texts[0])["input_ids"]) + 1


def test_batches_are_balanced_within_the_token_budget():
    limits = generate.BatchLimits(max_tokens=8192, max_questions=128)
    assert [len(b) for b in generate.balanced_batches(100, 210, limits)] == [34, 33, 33]
    assert [len(b) for b in generate.balanced_batches(220, 30, limits)] == [110, 110]
    assert [len(b) for b in generate.balanced_batches(5, 10**6, limits)] == [1, 1, 1, 1, 1]
    assert generate.balanced_batches(0, 0, limits) == []
    batches = generate.balanced_batches(220, 210, limits)
    assert [i for b in batches for i in b] == list(range(220))


def test_a_fixed_batch_size_caps_the_questions_alone():
    assert generate.batch_limits("cpu", 3) == generate.BatchLimits(max_tokens=3 * 2**20, max_questions=3)
    assert [len(b) for b in generate.balanced_batches(7, 5000, generate.batch_limits("cpu", 3))] == [3, 2, 2]


def test_an_answer_ends_at_its_first_stop_token():
    assert generate.answer_length([11, 12, 2, 2, 2], {2}) == 3
    assert generate.answer_length([11, 12, 13], {2}) == 3
