"""Generation that computes the prompts' shared start once gives the same answers as without."""

import pytest

from ftvsrag.eval import generate
from ftvsrag.rag.prompts import rag_messages


@pytest.mark.slow
def test_prefix_cache_gives_the_answers_of_plain_generation(smollm2, smollm2_tokenizer, monkeypatch):
    from ftvsrag.train.model import load_model, plan_device

    model = load_model(smollm2, plan_device("cpu"))
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

    cached = generate.generate_answers(model, smollm2_tokenizer, conversations, 3, 24, desc="cached")
    monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**6)
    plain = generate.generate_answers(model, smollm2_tokenizer, conversations, 3, 24, desc="plain")

    assert cached.texts == plain.texts
    assert "12345" in cached.texts[0]
    assert cached.prompt_tokens == [len(p) for p in prompts]
