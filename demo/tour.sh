#!/usr/bin/env bash
# `make demo SOURCE=housing.csv`: a walk-through of the project of about five minutes, in a scratch
# clone of this repository, each step printing what to look at:
#   1. the pipeline (dvc repro, on the light "demo" preset of ops/presets.py) on California without
#      the Bay Area, and its results table;
#   2. the MLflow UI on that run;           3. the champion served, and one prediction;
#   4. the dashboard's pages;               5. Bay Area traffic and feedback: served drift;
#   6. the Bay Area as a batch: make retrain decides and retrains;
#   7. the server reloads: the same traffic and live RMSE again.
#
#   demo/tour.sh /path/to/housing.csv [scratch-dir]
#
# DEMO_PAUSE: seconds between steps (3), or `enter` to wait for Enter when stdin is a terminal.
# DEMO_PORT (8765) and DEMO_UI_PORT (5765): the API's and the MLflow UI's ports. The steps it shares
# with demo/retrain.sh are in demo/steps.sh; the API and the UI stop when it ends, and the
# scratch folder stays.
set -euo pipefail
source "$(dirname "$0")/steps.sh"

pause_setting=${DEMO_PAUSE:-3}
pause() {
  if [[ $pause_setting == enter ]]; then
    if [[ -t 0 ]]; then read -rp "    (Enter: ${1:-the next step}) "; fi
  else
    sleep "$pause_setting"
  fi
}
tour() { step "$* [$(printf '%d:%02d' $((SECONDS / 60)) $((SECONDS % 60)))]"; }

SECONDS=0
demo_clone "$@"
ui="http://127.0.0.1:$ui_port"
echo "scratch folder: $scratch (the clone in repo/, each step's log beside it)"

tour "1. The pipeline: dvc repro on California without the Bay Area (the demo preset: lighter models)"
demo_split demo
demo_train
# The MLflow UI and the API start now, meanwhile (the UI once the pipeline has made its store).
in_background "$scratch/mlflow-ui.log" mlflow ui --backend-store-uri "$MLFLOW_TRACKING_URI" \
  --host 127.0.0.1 --port "$ui_port"
demo_serve
python -m ops.results
dvc plots show -q -o "$scratch/plots" >/dev/null
look "cd $scratch/repo && dvc dag (the stages), dvc metrics show (every candidate's scores)"
look "$scratch/plots/index.html (predicted vs actual, residuals, feature importance per candidate)"
look "the row marked * is the champion: lowest validation RMSE, in units of \$100,000"
pause

tour "2. The MLflow UI (make ui in a checkout): every training run and the model registry"
python -m demo.tour mlflow-ui "$ui"
pause

tour "3. Serving the champion (make serve): one prediction"
python -m demo.tour predict "$api" "$scratch/bay.csv"  # a Bay Area block group: step 7 asks again
look "$api/openapi.json (every endpoint), $api/metrics (Prometheus), $api/model/info (what serves)"
look "\"model\" in the answer: the version and alias that answered; \"request_id\" is what /feedback names"
pause

tour "4. The dashboard, on the same server"
python -m demo.tour dashboard "$api"
pause

tour "5. A drifted batch: Bay Area traffic, then the true prices as feedback (for the last 600 rows)"
demo_traffic first --feedback-rows 600
python -m demo.steps drift "$api"
python -m demo.steps live "$api"
look "$api/drift (this table as JSON), $api/dashboard/drift; DRIFTED: PSI or test past params.yaml's drift.*"
look "housing_live_rmse_dollars: the champion's error on this traffic, in dollars (retrain.max_live_rmse_dollars: 60000)"
pause

tour "6. The Bay Area arrives in data/incoming/; make retrain decides and retrains"
demo_retrain
look "$scratch/repo/reports/retrain/status.json (decision, evidence, outcome), $api/dashboard/retrain"
look "$scratch/repo/reports/drift.html (the batch), $scratch/repo/reports/retrain/served_drift.html (the traffic)"
look "$ui/#/models/california-housing (the new version and who holds the champion alias)"
pause

tour "7. The server reloads the champion; the same traffic and feedback again"
demo_reload
demo_traffic second --feedback-rows 600
python -m demo.steps live "$api"
python -m demo.tour predict "$api" "$scratch/bay.csv"
look "housing_live_rmse_dollars per model_version: before (v1) and after the retrain"
look "$api/dashboard/models, $api/dashboard/live"

tour "Done; the API and the MLflow UI stop now"
echo "scratch folder: $scratch (logs: repro-1.log, serve.log, mlflow-ui.log, retrain.log)"
if [[ $pause_setting == enter ]]; then pause "stop the API and the MLflow UI"; fi
