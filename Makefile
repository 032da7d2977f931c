# ShareEntraide — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash

# Python of the Lambda runtime (python3.13): pyenv's if present, else the one on PATH.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
MOTO_PORT ?= 5000
# The local stack replays a recorded alert (see infra/replay/README.md).
ALERT_SOURCES ?= [{"name": "vigicrues", "url": "infra/replay/HANDMADE_vigicrues_orange_aude.json"}]

.PHONY: help run test unit integration lint typecheck format bench lock clean

help:
	@echo "make run        the whole pipeline on 127.0.0.1 (form on :$(PORT), moto on :$(MOTO_PORT))"
	@echo "make test       lint, typecheck, cfn-lint and every test"
	@echo "make bench      the benchmarks under bench/"
	@echo "make lock       re-pin requirements.lock from pyproject.toml"

# The virtual environment is (re)built when the pinned dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# Emails land in var/outbox/ (and their links on the console); links point at this stack.
run: $(STAMP)
	$(BIN)/entraide local run --port $(PORT) --moto-port $(MOTO_PORT) \
		--parameter OutboxDir=$(CURDIR)/var/outbox \
		--parameter PublicBaseUrl=http://127.0.0.1:$(PORT)/ \
		--parameter 'AlertSources=$(ALERT_SOURCES)'

test: lint typecheck
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest -m integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Figures, not pass/fail: these machines are shared and noisy.
bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/worker_cold_start.py
	$(BIN)/python bench/local_stack_memory.py
	$(BIN)/python bench/relay_surge.py
	$(BIN)/python bench/geomatch_scaling.py --moto-max 10000

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
