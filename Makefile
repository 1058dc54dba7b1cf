# housing-mlops: `make repro` runs the pipeline, `make test` runs the tests. Both set up .venv first.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# Absolute, so queued DVC experiments and the MLflow UI agree on the store.
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
# Offline: `make repro SOURCE=/path/to/housing.csv` reads a local copy (checked against ingest.sha256).
ifdef SOURCE
export INGEST_SOURCE := $(abspath $(SOURCE))
endif

.PHONY: setup repro test lint ui push lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.lock
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

repro: setup
	dvc repro
	dvc metrics show

test: setup
	$(PYTHON) -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: setup
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port 5000

push: setup
	dvc push

lock: setup
	$(PYTHON) -m pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock

clean:
	rm -rf $(VENV)
