"""Logits on labelled positions only: the same loss as full logits, for less work."""

import torch
from transformers import DataCollatorForSeq2Seq

from ftvsrag.eval.facts import cities_records
from ftvsrag.train.collate import LabelledLogitsCollator, training_collator
from ftvsrag.train.examples import IGNORE_INDEX, tokenize_chat
from tests.conftest import tiny_llama


def test_the_loss_is_unchanged_and_logits_cover_labelled_positions_only(smollm2_tokenizer, tmp_path):
    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    features = [tokenize_chat(r["messages"], smollm2_tokenizer, 256) for r in cities_records(3)]
    # Different lengths, so the batch has padding that must not be scored.
    features[0] = tokenize_chat(
        [{"role": "user", "content": "Population of City_1, please?"}, {"role": "assistant", "content": "1"}],
        smollm2_tokenizer,
        256,
    )
    padding = DataCollatorForSeq2Seq(smollm2_tokenizer, padding=True, pad_to_multiple_of=8)
    collator = training_collator(model, smollm2_tokenizer)
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
