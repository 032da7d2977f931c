# ShareEntraide — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash

# Python of the Lambda runtime (python3.13): pyenv's if present, else the one on PATH.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins older boto3, networkx and packaging than ours: it has a virtual environment
# of its own, built from its own lock file.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION := 3.3.30
# The template CloudFormation deploys: template.yaml through SAM's transform (offline).
TRANSFORMED := var/template.transformed.json
# npm packages (package-lock.json): axe-core for the browser tests, the official commune names
# for scripts/build_postcodes.py. No install script runs; no browser is downloaded.
NODE_STAMP := node_modules/.installed
PORT ?= 3000
MOTO_PORT ?= 5000
# The local stack replays a recorded alert (see infra/replay/README.md).
ALERT_SOURCES ?= [{"name": "vigicrues", "url": "infra/replay/HANDMADE_vigicrues_orange_aude.json", "replay": true}]

.PHONY: help run test unit integration lint checkov typecheck format bench lock lock-checkov clean

help:
	@echo "make run        the whole pipeline on 127.0.0.1 (form on :$(PORT), moto on :$(MOTO_PORT))"
	@echo "make test       lint, the transformed template's cfn-lint and checkov, typecheck, every test"
	@echo "make checkov    checkov on the transformed template (skips: .checkov.yaml)"
	@echo "make bench      the benchmarks under bench/"
	@echo "make lock       re-pin requirements.lock from pyproject.toml"
	@echo "make lock-checkov  re-pin requirements-checkov.lock (checkov $(CHECKOV_VERSION))"

# The virtual environment is (re)built when the pinned dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(CHECKOV_STAMP): requirements-checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-checkov.lock
	@touch $@

# Emails land in var/outbox/ (and their links on the console); links point at this stack.
run: $(STAMP)
	$(BIN)/entraide local run --port $(PORT) --moto-port $(MOTO_PORT) \
		--parameter OutboxDir=$(CURDIR)/var/outbox \
		--parameter PublicBaseUrl=http://127.0.0.1:$(PORT)/ \
		--parameter WatchRecordedAnswers=$(CURDIR)/tests/fixtures/watch \
		--parameter WatchDigestRecipients=veille@entraide.example \
		--parameter 'AlertSources=$(ALERT_SOURCES)'

test: lint checkov typecheck $(NODE_STAMP)
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest -m integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m entraide_local.transform template.yaml --out $(TRANSFORMED)

checkov: lint $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file $(TRANSFORMED)

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
	$(BIN)/python bench/iam_check.py
	$(BIN)/python bench/activation_reads.py
	$(BIN)/python bench/expiry.py
	$(BIN)/python bench/moto_queries.py
	$(BIN)/python bench/faults.py --posts 1000 --fault-rate 0.2
	$(BIN)/python bench/cost.py --posts 1000

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

lock-checkov:
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/python -m pip freeze > requirements-checkov.lock
	@touch $(CHECKOV_STAMP)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) var .mypy_cache .ruff_cache .pytest_cache
