"""The LoRA path on a tiny randomly initialised Llama: seconds, not minutes."""

import pytest
import torch

from ftvsrag.knowledge.facts import cities_records
from ftvsrag.train.config import LoraSettings, TrainSettings
from ftvsrag.train.lora import load_adapter, train_lora
from ftvsrag.train.model import plan_device
from tests.conftest import tiny_llama


@pytest.mark.slow
def test_lora_trains_adapters_only_and_reloads_identically(smollm2_tokenizer, tmp_path):
    from transformers import LlamaForCausalLM

    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    base_before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    settings = TrainSettings(
        epochs=2,
        batch_size=4,
        learning_rate=1e-2,
        logging_steps=1,
        lora=LoraSettings(r=4, alpha=8, dropout=0.0),
    )
    conversations = [r["messages"] for r in cities_records(8)]

    report = train_lora(
        model,
        smollm2_tokenizer,
        [{"messages": c} for c in conversations],
        settings,
        plan_device("cpu", "float32"),
        0,
        tmp_path / "adapter",
    )

    assert report.steps == 4
    # The curve: every logged step's loss (logging_steps=1), as the trainer logged it.
    assert [step for step, _ in report.losses] == [1, 2, 3, 4]
    assert all(loss > 0 for _, loss in report.losses) and report.losses[-1][1] < report.losses[0][1]
    assert report.tokens["train_tokens"] == 2 * sum(
        len(smollm2_tokenizer.apply_chat_template(c)["input_ids"]) for c in conversations
    )
    saved = sorted(p.name for p in (tmp_path / "adapter").iterdir())
    assert saved == ["adapter_config.json", "adapter_model.safetensors"]

    after = model.state_dict()
    lora_b = [tensor for name, tensor in after.items() if "lora_B" in name]
    assert lora_b and all(tensor.abs().sum() > 0 for tensor in lora_b), (
        "peft starts lora_B at zero: it must move"
    )
    for name, tensor in after.items():
        if "lora_" in name:
            continue
        original = name.replace("base_model.model.", "").replace(".base_layer", "")
        assert torch.equal(tensor, base_before[original]), f"base weight {original} changed"

    reloaded = load_adapter(LlamaForCausalLM.from_pretrained(tmp_path / "tiny"), tmp_path / "adapter")
    inputs = smollm2_tokenizer("What is the population of City_3?", return_tensors="pt")
    model.eval()
    plain = LlamaForCausalLM.from_pretrained(tmp_path / "tiny")
    with torch.no_grad():
        trained_logits = model(**inputs).logits
        # Merged into the weights: the same function up to float rounding, and no LoRA layers left.
        assert torch.allclose(reloaded(**inputs).logits, trained_logits, atol=1e-5)
        assert not any("lora_" in name for name in reloaded.state_dict())
        assert (trained_logits - plain(**inputs).logits).abs().max() > 1e-3


@pytest.mark.slow
def test_generation_leaves_the_tokenizer_padding_as_it_found_it(smollm2_tokenizer, tmp_path):
    from ftvsrag.generation.generate import batch_limits, generate_answers

    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    before = smollm2_tokenizer.padding_side
    generate_answers(
        model,
        smollm2_tokenizer,
        [[{"role": "user", "content": "Hi?"}]] * 2,
        batch_limits("cpu", 2),
        2,
        desc="t",
    )
    assert smollm2_tokenizer.padding_side == before


def test_shared_prefix_stops_one_token_short_of_the_shortest_prompt():
    from ftvsrag.generation.generate import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 9, 9]]) == 3
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert shared_prefix_length([[5, 2], [1, 2]]) == 0
    assert shared_prefix_length([]) == 0


@pytest.mark.slow
def test_an_interrupted_training_resumes_from_its_checkpoint(smollm2_tokenizer, tmp_path, monkeypatch):
    from safetensors.torch import load_file
    from transformers import Trainer

    settings = TrainSettings(
        epochs=2, batch_size=4, learning_rate=1e-2, save_steps=2, lora=LoraSettings(r=4, alpha=8)
    )
    rows = [{"messages": r["messages"]} for r in cities_records(8)]
    plan = plan_device("cpu", "float32")

    def train(folder: str, adapter: str, checkpoints=None):
        model = tiny_llama(smollm2_tokenizer, tmp_path / folder)
        return train_lora(
            model, smollm2_tokenizer, rows, settings, plan, 0, tmp_path / adapter, checkpoint_dir=checkpoints
        )

    whole = train("a", "whole")

    real_step, steps = Trainer.training_step, []

    def killed_at_step_three(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == 3:
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", killed_at_step_three)
    with pytest.raises(KeyboardInterrupt):
        train("b", "resumed", tmp_path / "checkpoints")
    assert not (tmp_path / "resumed").exists()
    assert [p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*")] == ["checkpoint-2"]

    # A process killed while saving the next checkpoint leaves it without its trainer_state.json.
    partial = tmp_path / "checkpoints" / "checkpoint-3"
    partial.mkdir()
    (partial / "adapter_model.safetensors").write_bytes(b"")
    monkeypatch.setattr(Trainer, "training_step", real_step)
    resumed = train("c", "resumed", tmp_path / "checkpoints")
    assert (resumed.resumed_from, resumed.steps, whole.steps) == ("checkpoint-2", 4, 4)
    a = load_file(tmp_path / "whole" / "adapter_model.safetensors")
    b = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.slow
def test_chat_rows_train_on_the_answer_only_and_a_long_example_is_an_error(smollm2_tokenizer, tmp_path):
    from trl import SFTTrainer

    from ftvsrag.errors import UserInputError
    from ftvsrag.train.lora import peft_config, sft_config, sft_dataset

    conversation = cities_records(1)[0]["messages"]
    settings = TrainSettings(lora=LoraSettings(r=4, alpha=8))
    trainer = SFTTrainer(
        model=tiny_llama(smollm2_tokenizer, tmp_path / "tiny"),
        args=sft_config(settings, plan_device("cpu", "float32"), 0, tmp_path / "out", checkpoints=False),
        train_dataset=sft_dataset([{"messages": conversation}]),
        processing_class=smollm2_tokenizer,
        peft_config=peft_config(settings.lora),
    )
    example = trainer.train_dataset[0]
    prompt = smollm2_tokenizer.apply_chat_template(conversation[:-1], add_generation_prompt=True)
    prompt_length = len(prompt["input_ids"])
    assert example["input_ids"] == smollm2_tokenizer.apply_chat_template(conversation)["input_ids"]
    assert example["labels"][:prompt_length] == [-100] * prompt_length
    answer = smollm2_tokenizer.decode(example["labels"][prompt_length:])
    assert answer.startswith("City_1 has about 1967825 inhabitants.<|im_end|>")

    too_short = TrainSettings(max_length=10, lora=LoraSettings(r=4, alpha=8))
    with pytest.raises(UserInputError, match=r"has \d+ tokens, more than train.max_length=10"):
        train_lora(
            tiny_llama(smollm2_tokenizer, tmp_path / "tiny2"),
            smollm2_tokenizer,
            [{"messages": conversation}],
            too_short,
            plan_device("cpu", "float32"),
            0,
            tmp_path / "adapter",
        )
    assert not (tmp_path / "adapter").exists()


@pytest.mark.slow
def test_the_labelled_loss_trains_as_trls_own_loss_does(smollm2_tokenizer, tmp_path):
    """`train.loss: labelled` (logits on labelled positions, shared starts once) against SFTTrainer's
    own fused-head loss: the same losses and the same adapter, with fewer tokens computed."""
    from safetensors.torch import load_file

    rows = [{"messages": r["messages"]} for r in cities_records(8)]
    reports, weights = {}, {}
    for loss in ("labelled", "trl"):
        settings = TrainSettings(
            epochs=2, batch_size=4, learning_rate=1e-2, loss=loss, lora=LoraSettings(r=4, alpha=8)
        )
        model = tiny_llama(smollm2_tokenizer, tmp_path / f"tiny-{loss}")
        adapter = tmp_path / f"adapter-{loss}"
        reports[loss] = train_lora(
            model, smollm2_tokenizer, rows, settings, plan_device("cpu", "float32"), 0, adapter
        )
        weights[loss] = load_file(adapter / "adapter_model.safetensors")
    assert reports["labelled"].final_loss == pytest.approx(reports["trl"].final_loss, abs=1e-5)
    assert all(torch.allclose(weights["labelled"][k], weights["trl"][k], atol=1e-5) for k in weights["trl"])
    labelled, trl = reports["labelled"].tokens, reports["trl"].tokens
    assert labelled["train_tokens"] == trl["train_tokens"] == trl["computed_tokens"]
    # Each batch of 4 ran "<system>...What is the population of City_" (20 tokens) once, not 4 times.
    assert labelled["computed_tokens"] == labelled["train_tokens"] - 4 * 3 * 20


@pytest.mark.parametrize(
    ("rows", "batch", "epochs", "warmup"),
    [(6, 8, 1.0, 0), (9, 8, 1.0, 1), (100, 8, 3.0, 2), (100, 2, 1.0, 3), (0, 8, 1.0, 0)],
)
def test_warmup_is_transformers_count_but_never_every_step(rows, batch, epochs, warmup):
    from ftvsrag.train.lora import warmup_steps

    assert warmup_steps(TrainSettings(epochs=epochs, batch_size=batch, warmup_ratio=0.05), rows) == warmup


@pytest.mark.slow
def test_a_training_of_one_step_moves_the_weights(smollm2_tokenizer, tmp_path):
    """Defect: a 6-fact knowledge base in batches of 8 for one epoch is one optimiser step, and the
    warmup ran that step at learning rate 0: every lora_B stayed 0 and the report called the
    unchanged adapter a fine-tune."""
    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    rows = [{"messages": r["messages"]} for r in cities_records(6)]
    settings = TrainSettings(epochs=1, batch_size=8, lora=LoraSettings(r=4, alpha=8))
    report = train_lora(
        model, smollm2_tokenizer, rows, settings, plan_device("cpu", "float32"), 0, tmp_path / "a"
    )
    assert report.steps == 1
    assert report.weight_change > 0 and report.weights_changed
    lora_b = [tensor for name, tensor in model.state_dict().items() if "lora_B" in name]
    assert all(tensor.abs().sum() > 0 for tensor in lora_b)


@pytest.mark.slow
def test_an_adapter_that_did_not_move_is_said_plainly(smollm2_tokenizer, tmp_path):
    from pathlib import Path

    from ftvsrag.adapters import AdapterKey, TrainedAdapter, unchanged_notes
    from ftvsrag.train.lora import TrainingReport

    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    rows = [{"messages": r["messages"]} for r in cities_records(4)]
    settings = TrainSettings(epochs=1, batch_size=2, learning_rate=0.0, lora=LoraSettings(r=4, alpha=8))
    report = train_lora(
        model, smollm2_tokenizer, rows, settings, plan_device("cpu", "float32"), 0, tmp_path / "a"
    )
    assert report.weight_change == 0.0 and not report.weights_changed
    adapters = {
        AdapterKey("ft", 0): TrainedAdapter("sha", Path("a"), report),
        AdapterKey("reader", 0): TrainedAdapter(
            "sha2", Path("b"), TrainingReport(1.0, 5, 0.5, weight_change=0.1)
        ),
    }
    (note,) = unchanged_notes(adapters, [0])
    assert note.startswith("adapter ft: its training (2 steps) left every weight unchanged")


@pytest.mark.slow
def test_mixed_text_and_chat_rows_train_as_one_language_model_dataset(smollm2_tokenizer, tmp_path):
    """'lm+chat': a chat row among text rows is written out in the chat template, turn markers and
    the end-of-turn token included, and the mixed rows train a tiny model."""
    from ftvsrag.train.lora import sft_dataset

    chat_row = {"messages": cities_records(1)[0]["messages"]}
    rows = [{"text": "City_1 has about 1967825 inhabitants."}, chat_row]
    dataset = sft_dataset(rows, smollm2_tokenizer)
    assert dataset.column_names == ["text"]
    assert dataset[0]["text"] == "City_1 has about 1967825 inhabitants."
    assert dataset[1]["text"] == smollm2_tokenizer.apply_chat_template(chat_row["messages"], tokenize=False)
    assert dataset[1]["text"].rstrip().endswith("City_1 has about 1967825 inhabitants.<|im_end|>")
    with pytest.raises(ValueError):
        sft_dataset(rows)  # mixed rows need the tokenizer's template

    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    settings = TrainSettings(epochs=1, batch_size=2, lora=LoraSettings(r=4, alpha=8))
    report = train_lora(
        model, smollm2_tokenizer, rows * 2, settings, plan_device("cpu", "float32"), 0, tmp_path / "a"
    )
    assert report.steps == 2 and report.weights_changed


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["chat", "lm", "lm+chat", "qa-gen", "held-out"])
def test_each_knowledge_recipe_trains_a_tiny_model_and_moves_its_weights(recipe, smollm2_tokenizer, tmp_path):
    """Every knowledge recipe's rows (its first training, for a cross-fitted one) train as they are."""
    from ftvsrag.config import ExperimentConfig
    from ftvsrag.knowledge import DOCUMENTS, Knowledge
    from ftvsrag.knowledge.facts import Fact
    from ftvsrag.rag.chunking import Passage
    from ftvsrag.train.generated_qa import GeneratedPair
    from ftvsrag.train.recipes import RECIPES, RecipeRequest, knowledge_recipes

    assert recipe in knowledge_recipes()
    facts = [
        Fact(f"q{i}", "", f"What is Person {i}'s occupation?", job) for i, job in enumerate(["poet"] * 6)
    ]
    passages = [Passage(f"d{i}#0", f"d{i}", f"Person {i}\nPerson {i} was a poet.") for i in range(6)]
    pairs = [GeneratedPair(p.id, f"Who was Person {i}?", "a poet") for i, p in enumerate(passages)]
    config = ExperimentConfig()
    knowledge = Knowledge(DOCUMENTS, facts, [object()], "six poets", None)
    request = RecipeRequest(
        knowledge, passages, 0, config.train, config.reader, 5, 0, None, None, lambda: pairs, None
    )
    training = RECIPES.get(recipe).trainings(request)[0]
    settings = TrainSettings(epochs=1, batch_size=4, lora=LoraSettings(r=4, alpha=8))
    report = train_lora(
        tiny_llama(smollm2_tokenizer, tmp_path / "tiny"),
        smollm2_tokenizer,
        training.rows,
        settings,
        plan_device("cpu", "float32"),
        0,
        tmp_path / "adapter",
    )
    assert report.steps >= 2 and report.weights_changed


def test_reporting_logs_move_beside_the_adapter_and_nothing_else_does(tmp_path):
    from ftvsrag.train.lora import keep_reporting_logs, reporting_integrations

    trainer_out = tmp_path / "trainer"
    (trainer_out / "runs" / "Dec02_host").mkdir(parents=True)
    (trainer_out / "runs" / "Dec02_host" / "events.out.tfevents.1").write_bytes(b"event")
    (trainer_out / "checkpoint-2").mkdir()
    keep_reporting_logs(trainer_out, tmp_path / "adapter" / "logs")
    assert (tmp_path / "adapter" / "logs" / "Dec02_host" / "events.out.tfevents.1").read_bytes() == b"event"
    assert sorted(p.name for p in trainer_out.iterdir()) == ["checkpoint-2"]
    keep_reporting_logs(tmp_path / "nothing-written", tmp_path / "other")
    assert not (tmp_path / "other").exists()
    assert reporting_integrations("none") == ["none"]
    assert reporting_integrations(" tensorboard, trackio ") == ["tensorboard", "trackio"]
    assert reporting_integrations(["tensorboard"]) == ["tensorboard"]


@pytest.mark.slow
def test_the_curve_runs_from_the_first_step_to_the_last_whatever_logging_steps_says(
    smollm2_tokenizer, tmp_path
):
    rows = [{"messages": r["messages"]} for r in cities_records(14)]
    settings = TrainSettings(epochs=1, batch_size=2, logging_steps=5, lora=LoraSettings(r=4, alpha=8))
    report = train_lora(
        tiny_llama(smollm2_tokenizer, tmp_path / "tiny"),
        smollm2_tokenizer,
        rows,
        settings,
        plan_device("cpu", "float32"),
        0,
        tmp_path / "a",
    )
    assert report.steps == 7 and [step for step, _ in report.losses] == [1, 5, 7]
