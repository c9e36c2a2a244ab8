from ftvsrag.eval.facts import cities_records
from ftvsrag.train.examples import IGNORE_INDEX, tokenize_chat


def test_only_the_assistant_turn_carries_labels(smollm2_tokenizer):
    messages = cities_records(1)[0]["messages"]
    example = tokenize_chat(messages, smollm2_tokenizer, max_length=256)
    ids, labels = example["input_ids"], example["labels"]
    assert len(ids) == len(labels) == len(example["attention_mask"])
    first = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    assert all(label == IGNORE_INDEX for label in labels[:first])
    assert labels[first:] == ids[first:]
    assert smollm2_tokenizer.decode(ids[first:]) == "City_1 has about 1967825 inhabitants.<|im_end|>\n"
    assert smollm2_tokenizer.decode(ids[:first]).endswith(
        "What is the population of City_1?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_too_long_examples_are_an_error_not_silently_cut(smollm2_tokenizer):
    import pytest

    from ftvsrag.errors import UserInputError

    with pytest.raises(UserInputError, match=r"more than train\.max_length=10"):
        tokenize_chat(cities_records(1)[0]["messages"], smollm2_tokenizer, max_length=10)
