# The steps demo/retrain.sh and demo/tour.sh share (sourced by both, not run): a scratch clone
# of this repository trained on California without the Bay Area, served, sent Bay Area traffic and
# feedback, then given the Bay Area as a new batch for `make retrain`. Each step leaves its log in
# $scratch; every process started in the background is stopped when the script exits.
#
# Settings: DEMO_PORT (the API, 8765), DEMO_UI_PORT (the MLflow UI, 5765).

step() { printf '\n=== %s\n' "$*"; }
look() { printf '    look at: %s\n' "$*"; }
warn() { printf '    WARNING: %s\n' "$*" >&2; }

background_groups=()
stop_background() {
  local group
  for group in "${background_groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  local tries=0  # gunicorn's graceful timeout is 10 s
  for group in "${background_groups[@]}"; do
    while kill -0 -- "-$group" 2>/dev/null && ((tries++ < 75)); do sleep 0.2; done
    kill -KILL -- "-$group" 2>/dev/null || true
  done
}

# in_background LOG COMMAND...: run COMMAND in its own process group (gunicorn's or the UI's workers
# included), output to LOG; stop_background ends the group.
in_background() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  background_groups+=("$!")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# demo_clone SOURCE_CSV [SCRATCH]: clone this repository into SCRATCH/repo (a new temporary folder
# by default) and work there, on this checkout's .venv.
demo_clone() {
  [[ $# -ge 1 && -f $1 ]] || { echo "usage: $0 /path/to/housing.csv [scratch-dir] (make ... SOURCE=...)" >&2; exit 2; }
  source_csv=$(realpath "$1")
  scratch=$(realpath "${2:-$(mktemp -d)}")
  project=$(git rev-parse --show-toplevel)
  port=${DEMO_PORT:-8765}
  ui_port=${DEMO_UI_PORT:-5765}
  api="http://127.0.0.1:$port"
  token=demo-token
  local used
  for used in "$port" "$ui_port"; do
    port_free "$used" || { echo "port $used is in use: set DEMO_PORT / DEMO_UI_PORT" >&2; exit 1; }
  done
  trap stop_background EXIT
  trap 'exit 130' INT TERM

  git clone -q "$project" "$scratch/repo"
  cd "$scratch/repo"
  ln -s "$project/.venv" .venv
  export PATH="$PWD/.venv/bin:$PATH" MLFLOW_TRACKING_URI="sqlite:///$PWD/mlflow.db"
  # OpenMP threads (XGBoost, LightGBM, torch) that sleep while they wait instead of spinning: the same
  # fits, without the spinning threads of one fit starving the others on a machine of few cores.
  export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
  # The scratch clone's ingest reads the region-less source set below, not a mirror of the full one
  # (nor the SOURCE a calling `make demo` would pass on to the makes below).
  unset INGEST_SOURCE SOURCE MAKEFLAGS MAKELEVEL
  touch .venv/.installed
}

# demo_split [PRESET]: the Bay Area becomes the new batch ($scratch/bay.csv), the rest the training
# source; params.yaml points at it, with an ops/presets.py preset written in when one is named.
demo_split() {
  python -m demo.steps split "$source_csv" "$scratch"
  python -m demo.steps use-source "$scratch/base.csv" ${1:+--preset "$1"}
}

# demo_train: dvc repro on that source; prints what evaluate and register said.
demo_train() {
  dvc repro >"$scratch/repro-1.log" 2>&1 || { tail -20 "$scratch/repro-1.log"; exit 1; }
  grep -E "^(evaluate|register)" "$scratch/repro-1.log"
}

# demo_serve: start `make serve` on $port, logging predictions to $scratch/predictions.db (the steps
# that call the API wait until it is ready).
demo_serve() {
  in_background "$scratch/serve.log" env PROMETHEUS_MULTIPROC_DIR="$scratch/prometheus" \
    SERVE_ADMIN_TOKEN=$token SERVE_DRIFT_SECONDS=5 SERVE_PREDICTION_DB="$scratch/predictions.db" \
    GUNICORN_BIND="127.0.0.1:$port" make serve
}

# demo_traffic LABEL [--feedback-rows N]: every Bay Area row predicted, then its true price sent as
# feedback (for the last N rows only, with the option).
demo_traffic() { python -m demo.steps traffic "$api" "$scratch/bay.csv" "$@"; }

# demo_retrain: the Bay Area arrives in data/incoming/; `make retrain` decides and retrains.
demo_retrain() {
  cp "$scratch/bay.csv" data/incoming/2026-11-bay-area.csv
  dvc add -q data/incoming/2026-11-bay-area.csv
  SERVE_PREDICTION_DB="$scratch/predictions.db" make retrain >"$scratch/retrain.log" 2>&1 \
    || { tail -20 "$scratch/retrain.log"; exit 1; }
  grep -E "^(retrain|drift|evaluate|register)" "$scratch/retrain.log"
  python -m demo.steps decision reports/retrain/status.json
}

# demo_reload: every worker checks the champion alias now; waits until all serve what register promoted.
demo_reload() {
  curl -sf -X POST -H "Authorization: Bearer $token" "$api/admin/reload" >/dev/null \
    || { echo "$api/admin/reload failed: is the server still up? ($scratch/serve.log)" >&2; exit 1; }
  python -m demo.steps reloaded "$api" reports/registered.json
}
