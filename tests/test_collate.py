"""`train.loss: labelled`: logits on labelled positions only and each batch's shared prompt start
run once give the same loss and gradients as TRL's plain padded batch, for less work."""

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from ftvsrag.knowledge.facts import cities_records
from ftvsrag.train.collate import (
    IGNORE_INDEX,
    LabelledLogitsCollator,
    forward_with_shared_prefix,
    training_collator,
)
from tests.conftest import tiny_llama


def tokenize_chat(messages, tokenizer, max_length):
    """A training example as TRL prepares one: the conversation's ids, the prompt's labels masked."""
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True)["input_ids"]
    ids = tokenizer.apply_chat_template(messages)["input_ids"]
    assert ids[: len(prompt)] == prompt and len(ids) <= max_length
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * len(prompt) + ids[len(prompt) :]}


@pytest.mark.slow
def test_the_loss_is_unchanged_and_logits_cover_labelled_positions_only(smollm2_tokenizer, tmp_path):
    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    features = [tokenize_chat(r["messages"], smollm2_tokenizer, 256) for r in cities_records(3)]
    # Different lengths, so the batch has padding that must not be scored.
    features[0] = tokenize_chat(
        [{"role": "user", "content": "Population of City_1, please?"}, {"role": "assistant", "content": "1"}],
        smollm2_tokenizer,
        256,
    )
    padding = DataCollatorForLanguageModeling(smollm2_tokenizer.pad_token_id, pad_to_multiple_of=8)
    collator = training_collator(smollm2_tokenizer, share_prefix=False)
    assert isinstance(collator, LabelledLogitsCollator)

    full = padding([dict(f) for f in features])
    sliced = collator([dict(f) for f in features])
    labelled = sum(sum(label != IGNORE_INDEX for label in f["labels"][1:]) for f in features)

    assert sliced["shift_labels"].tolist() == [
        label for f in features for label in f["labels"][1:] if label != IGNORE_INDEX
    ]
    with torch.no_grad():
        full_out = model(**full)
        sliced_out = model(**sliced)
    assert sliced_out.logits.shape == (labelled, model.config.vocab_size)
    assert full_out.logits.shape[1] * len(features) > 2 * labelled
    assert torch.allclose(sliced_out.loss, full_out.loss, atol=1e-6)


@pytest.mark.slow
def test_a_shared_prefix_run_once_gives_the_same_loss_and_gradients(smollm2_tokenizer, tmp_path):
    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    features = [tokenize_chat(r["messages"], smollm2_tokenizer, 256) for r in cities_records(12)[9:]]
    # City_10, City_11, City_12: the prompts share everything up to "City_1", one token more than
    # the digits they differ in.
    padding = DataCollatorForLanguageModeling(smollm2_tokenizer.pad_token_id, pad_to_multiple_of=8)
    collator = training_collator(smollm2_tokenizer, share_prefix=True)
    shared = collator([dict(f) for f in features])
    prompt = smollm2_tokenizer.decode(shared["prefix_ids"][0])
    assert prompt.endswith("What is the population of City_1")
    assert (
        shared["input_ids"].shape[1] + shared["prefix_ids"].shape[1]
        == padding([dict(f) for f in features])["input_ids"].shape[1]
    )

    def loss_and_grads(batch, forward):
        model.zero_grad()
        loss = forward(batch).loss
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    plain_loss, plain_grads = loss_and_grads(padding([dict(f) for f in features]), lambda b: model(**b))
    shared_loss, shared_grads = loss_and_grads(shared, lambda b: forward_with_shared_prefix(model, b))
    assert torch.allclose(shared_loss, plain_loss, atol=1e-6)
    assert len(shared_grads) == len(plain_grads)
    for got, expected in zip(shared_grads, plain_grads, strict=True):
        assert torch.allclose(got, expected, atol=1e-6)


def test_a_batch_of_one_or_of_unrelated_prompts_shares_nothing(smollm2_tokenizer):
    collator = training_collator(smollm2_tokenizer, share_prefix=True)
    features = [tokenize_chat(r["messages"], smollm2_tokenizer, 256) for r in cities_records(2)]
    assert "prefix_ids" not in collator([dict(features[0])])
    other = [{"role": "system", "content": "Be brief."}, *cities_records(1)[0]["messages"][1:]]
    assert "prefix_ids" not in collator([dict(features[0]), tokenize_chat(other, smollm2_tokenizer, 256)])
