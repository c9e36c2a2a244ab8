from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smollm2():
    """The embedded model, converted once into the user cache (about 30 s the first time)."""
    from ftvsrag.train.model import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2):
    from ftvsrag.train.model import load_tokenizer

    return load_tokenizer(smollm2)
