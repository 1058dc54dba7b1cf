#!/usr/bin/env bash
# The continuous-training loop end to end on the real data, in a scratch clone of this repository:
#   1. train on California without the Bay Area (the source CSV minus one region);
#   2. serve that champion, send it Bay Area traffic, then the true prices as feedback;
#   3. the Bay Area arrives as a new batch in data/incoming/; `make retrain` decides and retrains;
#   4. the server picks up whatever register promoted; the same traffic again, scored again.
#
#   demo/retrain.sh /path/to/housing.csv [scratch-dir]      (make demo-retrain SOURCE=...)
#
# It trains on the shipped params.yaml (demo/tour.sh, `make demo`, is the shorter guided tour on a
# lighter preset). It reuses this checkout's .venv and prints each step's evidence; the scratch clone
# keeps the drift reports (reports/drift.html, reports/retrain/) and the MLflow store for a look afterwards.
set -euo pipefail
source "$(dirname "$0")/steps.sh"
demo_clone "$@"

step "Split the source: the Bay Area becomes the new batch, the rest the training source"
demo_split

step "Train on California without the Bay Area"
demo_train

step "Serve it and send Bay Area traffic, then the true prices as feedback"
demo_serve
demo_traffic first
python -m demo.steps drift "$api"

step "The Bay Area arrives as a batch; make retrain decides"
demo_retrain

step "The server reloads the champion; the same traffic again, scored again"
demo_reload
demo_traffic second
python -m demo.steps live "$api"
echo "Reports: $scratch/repo/reports/drift.html, $scratch/repo/reports/retrain/served_drift.html"
