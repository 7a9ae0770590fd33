# fedchurn: `make run` sets up and runs the main job, `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FEDCHURN := $(VENV)/bin/fedchurn
STAMP := $(VENV)/.installed
KAFKA_STATE ?= .kafka
DASHBOARD_PORT ?= 8501
ARGS ?=

export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export PYTHONUNBUFFERED := 1

.PHONY: setup run simulate baselines test test-all lint test-tools kafka-jars kafka-up kafka-down \
        dashboard-up dashboard-down stop bench clean deploy-local

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

## Main job: local Kafka broker, a federated simulation mirrored to it, then the dashboard.
run: setup kafka-up
	$(FEDCHURN) simulate bridge=kafka bridge.bootstrap_servers=$$(cat $(KAFKA_STATE)/bootstrap) $(ARGS)
	$(MAKE) --no-print-directory dashboard-up

## The docker-compose topology as local processes (Flower deployment engine), then stopped.
deploy-local: setup kafka-jars
	$(FEDCHURN) split-sites --out deploy/data --sites 3 $(SPLIT_ARGS)
	$(FEDCHURN) deploy-local --data deploy/data $(ARGS)

simulate: setup
	$(FEDCHURN) simulate $(ARGS)

baselines: setup
	$(FEDCHURN) baselines $(ARGS)

## Tests: start their own broker and browser; nothing else needs to run.
test: setup kafka-jars test-tools
	$(PY) -m pytest -ra $(ARGS)

test-all: setup kafka-jars test-tools
	$(PY) -m pytest -ra -m "" $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .

test-tools:
	bash scripts/install-test-tools.sh

kafka-jars: setup
	$(PY) -m kafka_bridge.broker fetch

kafka-up: setup
	$(PY) -m kafka_bridge.broker up --state-dir $(KAFKA_STATE)

kafka-down:
	@if [ -x $(PY) ]; then $(PY) -m kafka_bridge.broker down --state-dir $(KAFKA_STATE); fi

dashboard-up: setup
	$(FEDCHURN) dashboard up --port $(DASHBOARD_PORT) --bootstrap $$(cat $(KAFKA_STATE)/bootstrap)

dashboard-down:
	@if [ -x $(PY) ]; then $(FEDCHURN) dashboard down; fi

stop: dashboard-down kafka-down

bench: setup kafka-jars
	$(PY) scripts/bench_federation.py --quick

clean: stop
	rm -rf outputs multirun .artifacts
