# housing-mlops: `make repro` runs the pipeline, `make test` runs the tests. Both set up .venv first.
# `make` alone lists every target.
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

# The GPU preset (ops/presets.py): deep trees and a wide MLP, every family on CUDA. `make gpu-preset`
# runs it as a DVC experiment; on a machine without a GPU `device=cuda` stops with a clear error.
GPU_PRESET = $(shell $(PYTHON) -m ops.presets gpu)

# What `make exp-show` leaves out of `dvc exp show`: MAE and R² (in `dvc metrics show`) and dep hashes.
EXP_SHOW_DROP := .*_(mae|r2)$$|^(data/.*|models(/.*)?|metrics|reports/.*)$$

.DEFAULT_GOAL := help
.PHONY: help setup repro results exp exp-show eda eda-strip retrain demo demo-retrain promote test test-fast lint ui serve browser docs docs-serve docs-tools \
	monitoring-tools postgres image image-train container-tools stack-up stack-up-offline stack-down bench-serve bench-dashboard bench-profile bench-images bench-predict gpu-preset bench-gpu bench-quality bench-scale push lock clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(VENV)/.installed ## create .venv from requirements.lock (every other target does it first)

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.lock
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

repro: setup ## run the pipeline (dvc repro), then print the results table
	dvc repro
	$(PYTHON) -m ops.results

results: setup ## the results table: one row per candidate, val/test RMSE, MAE, R², fit seconds, bootstrap intervals
	$(PYTHON) -m ops.results

exp: setup ## a DVC experiment: make exp ARGS='-S train.xgboost.max_depth=6'
	dvc exp run $(ARGS)
	$(PYTHON) -m ops.results

exp-show: setup ## the experiments side by side, changed params and RMSEs only
	dvc exp show --only-changed --drop '$(EXP_SHOW_DROP)' $(ARGS)

# `make eda` reads SOURCE= (the CSV `make repro SOURCE=` takes) or else ingest's data/raw/housing.csv.
EDA_DATA = $(if $(SOURCE),$(abspath $(SOURCE)),$(CURDIR)/data/raw/housing.csv)

eda: setup ## the EDA notebook on the real data, with its outputs, as notebooks/eda.html (SOURCE=housing.csv)
	@test -f "$(EDA_DATA)" || { echo "error: $(EDA_DATA) not found: run make repro first, or make eda SOURCE=/path/to/housing.csv" >&2; exit 1; }
	EDA_DATA="$(EDA_DATA)" $(BIN)/jupyter nbconvert --execute --to html --ExecutePreprocessor.kernel_name=python3 \
		--ExecutePreprocessor.timeout=600 --output eda notebooks/eda.ipynb

eda-strip: setup ## strip outputs and execution counts from notebooks/*.ipynb (git keeps them stripped)
	$(PYTHON) -m notebooks.strip

retrain: setup ## retrain if new data, drift, live error or age says so (ARGS=--dry-run | --force | --preset quick | --set train.mlp.epochs=50)
	$(PYTHON) -m ops.retrain $(ARGS)

demo: setup ## a five-minute guided tour in a scratch clone: pipeline, MLflow UI, API, dashboard, drift, retrain (SOURCE=housing.csv)
	demo/tour.sh $(SOURCE)

demo-retrain: setup ## the continuous-training loop on the real data in a scratch clone (SOURCE=housing.csv)
	demo/retrain.sh $(SOURCE)

promote: setup ## the challenger takes the champion alias (servers follow at their next poll)
	$(PYTHON) -m ops.promote

test: setup ## every test (the README's test command), with line coverage; fails under pyproject's fail_under
	$(PYTHON) -m pytest --cov --cov-report=term-missing:skip-covered

test-fast: setup ## the tests not marked slow: no pipeline run, server process or browser (no coverage)
	$(PYTHON) -m pytest -m "not slow"

lint: setup ## ruff, the import contract between the floors (lint-imports), then typecheck and security
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory typecheck security

.PHONY: typecheck security audit
typecheck: setup ## mypy on the four packages: housing, stages, serve, ops (pyproject's [tool.mypy])
	$(BIN)/mypy

security: setup ## bandit on housing, stages, serve, ops; each accepted finding is a `# nosec BXXX` with its reason
	$(BIN)/bandit -q -c pyproject.toml -r housing stages serve ops

audit: setup ## pip-audit of requirements.lock (ARGS=--offline-ok: a database out of reach warns, not fails)
	$(PYTHON) -m ops.audit $(ARGS)

ui: setup ## the MLflow UI on http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port 5000

serve: setup ## the API under gunicorn on http://127.0.0.1:8000, serving the champion
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) $(BIN)/gunicorn -c serve/gunicorn.conf.py serve.wsgi:app

browser: ## Debian's Chromium, for the browser test (skipped without it)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

monitoring-tools: ## Debian's Prometheus and promtool, for the monitoring tests (skipped without them)
	command -v promtool >/dev/null || (apt-get update -qq && apt-get install -y -qq prometheus)

# The manual: docs/ and mkdocs.yml; the generated pages come from the code (ops/docs_hooks.py).
MKDOCS = NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs

docs: setup docs-tools ## the manual as a site in site/: mkdocs build --strict (a broken link or anchor fails)
	$(MKDOCS) build --strict

docs-serve: setup docs-tools ## the manual on http://127.0.0.1:8001, rebuilt on every edit
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:8001

docs-tools: ## Mermaid from docs/package-lock.json, which the manual serves itself (no CDN) and the diagram tests draw with
	test -f docs/node_modules/mermaid/dist/mermaid.min.js || npm ci --prefix docs --no-audit --no-fund

postgres: ## PostgreSQL 15's server programs, for the team-stack test (skipped without them)
	test -x /usr/lib/postgresql/15/bin/initdb || command -v initdb >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql)

image: ## the serving image housing-api (docker, else podman; PYTHON_IMAGE=, see Dockerfile and deploy/image.sh)
	deploy/image.sh serve housing-api

image-train: ## the pipeline's image housing-train (TRAIN_IMAGE=, TORCH_INDEX=: see the Dockerfile)
	deploy/image.sh train housing-train

container-tools: ## podman (runc, podman-compose) and mmdebstrap from Debian, for the image tests (skipped without them)
	command -v podman >/dev/null && command -v podman-compose >/dev/null && command -v mmdebstrap >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq podman runc mmdebstrap podman-compose)

# The team stack: docker compose where a Docker daemon answers, else podman-compose with the flags of
# deploy/image.sh (runc where installed, open-file limits below the hard limits: some sandboxes need them).
COMPOSE ?= $(if $(shell docker info >/dev/null 2>&1 && echo docker),docker compose,podman-compose \
	$(if $(wildcard /usr/sbin/runc),--podman-args='--runtime /usr/sbin/runc') \
	--podman-run-args='--ulimit nofile=10000:10000 --ulimit nproc=4096:4096' \
	--podman-build-args='--ulimit nofile=10000:10000 --ulimit nproc=4096:4096')

stack-up: ## the team stack (deploy/compose.yaml): MLflow on PostgreSQL + S3 (MinIO), API, Prometheus, Grafana
	$(COMPOSE) -f deploy/compose.yaml up -d --build

stack-up-offline: image image-train ## the team stack without an image registry (deploy/compose.offline.yaml): no Grafana
	deploy/image.sh s3 housing-s3 -f deploy/s3/Containerfile
	$(COMPOSE) -f deploy/compose.yaml -f deploy/compose.offline.yaml up -d postgres s3 mlflow api prometheus

stack-down: ## stop the team stack (either kind; its volumes stay)
	$(COMPOSE) -f deploy/compose.yaml down

bench-serve: setup ## bench/serve: this server against `mlflow models serve`, driven by wrk
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PYTHON) -m bench.serve

bench-dashboard: setup browser ## bench/dashboard_load: prediction throughput with dashboard tabs open against without (after make repro)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PYTHON) -m bench.dashboard_load

bench-profile: setup ## bench/profile: where a request's time goes in a worker under wrk (py-spy)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PYTHON) -m bench.profile

gpu-preset: setup ## the GPU preset as a DVC experiment
	dvc exp run --name gpu-preset $(GPU_PRESET)

bench-images: setup container-tools ## bench/images: the serving image's size, build and start times, and its speed against make serve (after make repro)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PYTHON) -m bench.images

bench-predict: setup ## bench/predict: single-row predict time of every candidate, in process (after make repro)
	$(PYTHON) -m bench.predict

bench-gpu: setup ## bench/gpu: every family on the CPU and on the GPU, one table
	$(PYTHON) -m bench.gpu

bench-quality: setup ## bench/quality: every candidate's test RMSE over 5 split seeds, against plain LightGBM (SOURCE=housing.csv)
	$(PYTHON) -m bench.quality $(if $(SOURCE),--source $(abspath $(SOURCE)))

bench-scale: setup ## bench/scale: ingest, preprocess and the Dask families' train at 20k, 200k, 2M rows, local and dask (SOURCE=housing.csv)
	$(PYTHON) -m bench.scale --source $(SOURCE)

push: setup ## dvc push to the default remote
	dvc push

lock: setup ## refresh requirements.lock and the images' locks (ops/lock.py) after changing pyproject.toml's dependencies
	{ echo "# Exact versions of every package \`make setup\` installs (pip freeze of a working environment)."; \
	  echo "# Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	  $(PYTHON) -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.lock
	$(PYTHON) -m ops.lock

clean: ## remove .venv and the docs' node_modules
	rm -rf $(VENV) docs/node_modules
