# Everything a fresh clone needs: `make demo`, `make test`, `make bench`.
# The environment is built from pyproject.toml into .venv on first use; the
# interpreter is whatever `python3` resolves to here (pyenv honours .python-version).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: env demo test lint typecheck pytest bench bench-env dev dev-instance clean

env: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 12) else f"vidx-pipeline needs Python >= 3.12, `$(PYTHON)` is {v.major}.{v.minor}: install 3.12 (pyenv install 3.12) so .python-version selects it, or run make PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

demo: env
	$(BIN)/python -m vidx_offline.demo

test: lint typecheck pytest

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: env
	$(BIN)/mypy

pytest: env
	$(BIN)/pytest

# The peers bench/peers.py compares with: the `bench` extra, over the `env` environment.
BENCH_STAMP := $(VENV)/.bench-stamp

bench-env: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: env bench-env
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest_one_init.py --dataset gefs
	$(BIN)/python bench/ingest_one_init.py --dataset hrrr
	$(BIN)/python bench/ingest_one_init.py --dataset ifs
	$(BIN)/python bench/ingest_one_init.py --dataset icon
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/latency.py --dataset gfs --repo local
	$(BIN)/python bench/latency.py --dataset gfs --repo s3
	$(BIN)/python bench/latency.py --dataset hrrr --repo local
	$(BIN)/python bench/latency.py --dataset hrrr --repo s3
	$(BIN)/python bench/peers.py

# `make dev`'s Dagster instance, created (or migrated) before anything runs: processes that each
# find no tables race to create them (README, "Deployment").
DEV_HOME := .local/dagster-dev

dev-instance: env
	mkdir -p $(DEV_HOME)
	cp dagster.yaml $(DEV_HOME)/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/$(DEV_HOME) $(BIN)/dagster instance migrate

dev: dev-instance
	$(BIN)/python -m vidx_offline.dev

clean:
	rm -rf $(VENV) .local demo-output
