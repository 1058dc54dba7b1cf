#!/usr/bin/env bash
# The continuous-training loop end to end on the real data, in a scratch clone of this repository:
#   1. train on California without the Bay Area (the source CSV minus one region);
#   2. serve that champion, send it Bay Area traffic, then the true prices as feedback;
#   3. the Bay Area arrives as a new batch in data/incoming/; `make retrain` decides and retrains;
#   4. the server picks up whatever register promoted; the same traffic again, scored again.
#
#   bench/retrain_demo.sh /path/to/housing.csv [scratch-dir]      (make demo-retrain SOURCE=...)
#
# It reuses this checkout's .venv and prints each step's evidence; the scratch clone keeps the drift
# reports (reports/drift.html, reports/retrain/) and the MLflow store for a look afterwards.
set -euo pipefail

source_csv=$(realpath "$1")
scratch=$(realpath "${2:-$(mktemp -d)}")
project=$(git rev-parse --show-toplevel)
port=${DEMO_PORT:-8765}
api="http://127.0.0.1:$port"
token=demo-token

git clone -q "$project" "$scratch/repo"
cd "$scratch/repo"
ln -s "$project/.venv" .venv
export PATH="$PWD/.venv/bin:$PATH" MLFLOW_TRACKING_URI="sqlite:///$PWD/mlflow.db"
# The scratch clone's ingest reads the region-less source set below, not a mirror of the full one
# (nor the SOURCE a calling `make demo-retrain` would pass on to the makes below).
unset INGEST_SOURCE SOURCE MAKEFLAGS MAKELEVEL
touch .venv/.installed

step() { printf '\n=== %s\n' "$*"; }

step "Split the source: the Bay Area becomes the new batch, the rest the training source"
python bench/retrain_demo.py split "$source_csv" "$scratch"
python bench/retrain_demo.py use-source "$scratch/base.csv"

step "Train on California without the Bay Area"
dvc repro >"$scratch/repro-1.log" 2>&1 || { tail -20 "$scratch/repro-1.log"; exit 1; }
grep -E "^(evaluate|register)" "$scratch/repro-1.log"

step "Serve it and send Bay Area traffic, then the true prices as feedback"
PROMETHEUS_MULTIPROC_DIR="$scratch/prometheus" SERVE_ADMIN_TOKEN=$token SERVE_DRIFT_SECONDS=5 \
  SERVE_PREDICTION_DB="$scratch/predictions.db" GUNICORN_BIND="127.0.0.1:$port" \
  make serve >"$scratch/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
python bench/retrain_demo.py traffic "$api" "$scratch/bay.csv" first
python bench/retrain_demo.py drift "$api"

step "The Bay Area arrives as a batch; make retrain decides"
cp "$scratch/bay.csv" data/incoming/2026-11-bay-area.csv
dvc add -q data/incoming/2026-11-bay-area.csv
SERVE_PREDICTION_DB="$scratch/predictions.db" make retrain >"$scratch/retrain.log" 2>&1 \
  || { tail -20 "$scratch/retrain.log"; exit 1; }
grep -E "^(retrain|drift|evaluate|register)" "$scratch/retrain.log"
python bench/retrain_demo.py decision reports/retrain/status.json

step "The server reloads the champion; the same traffic again, scored again"
curl -sf -X POST -H "Authorization: Bearer $token" "$api/admin/reload" >/dev/null
python bench/retrain_demo.py traffic "$api" "$scratch/bay.csv" second
python bench/retrain_demo.py live "$api"
echo "Reports: $scratch/repo/reports/drift.html, $scratch/repo/reports/retrain/served_drift.html"
