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

# `make serve`: gunicorn's workers share Prometheus metrics through files in this folder.
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/.serve/prometheus

# The GPU preset (stages/presets.py): deep trees and a wide MLP, every family on CUDA. `make gpu-preset`
# runs it as a DVC experiment; on a machine without a GPU `device=cuda` stops with a clear error.
GPU_PRESET = $(shell $(PYTHON) -m stages.presets gpu)

.PHONY: setup repro retrain demo-retrain test lint ui serve promote browser monitoring-tools stack-up stack-down bench-serve gpu-preset bench-gpu push lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.lock
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

repro: setup
	dvc repro
	dvc metrics show

# Decide from new data, drift, live error and model age whether to retrain, and retrain if so.
# `make retrain ARGS=--dry-run` only decides; `ARGS=--force` retrains regardless.
retrain: setup
	$(PYTHON) -m stages.trigger $(ARGS)

# The continuous-training loop on the real data, in a scratch clone: make demo-retrain SOURCE=housing.csv
demo-retrain: setup
	bench/retrain_demo.sh $(SOURCE)

test: setup
	$(PYTHON) -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: setup
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port 5000

serve: setup
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) $(BIN)/gunicorn -c serve/gunicorn.conf.py serve.wsgi:app

# The challenger takes the champion alias (stages/promote.py); servers follow at their next alias poll
# or at once after POST /admin/reload.
promote: setup
	$(PYTHON) -m stages.promote

# Debian's Chromium for the browser test (tests/serve/test_browser.py), and wrk for bench/serve.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Debian's prometheus package: promtool and a real Prometheus for tests/serve/test_monitoring.py.
monitoring-tools:
	command -v promtool >/dev/null || (apt-get update -qq && apt-get install -y -qq prometheus)

# The team stack (deploy/compose.yaml): MLflow on Postgres + MinIO, the API, Prometheus, Grafana.
stack-up:
	docker compose -f deploy/compose.yaml up -d --build

stack-down:
	docker compose -f deploy/compose.yaml down

bench-serve: setup
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PYTHON) -m bench.serve

gpu-preset: setup
	dvc exp run --name gpu-preset $(GPU_PRESET)

bench-gpu: setup
	$(PYTHON) -m bench.gpu

push: setup
	dvc push

lock: setup
	{ echo "# Exact versions of every package \`make setup\` installs (pip freeze of a working environment)."; \
	  echo "# Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	  $(PYTHON) -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.lock

clean:
	rm -rf $(VENV)
