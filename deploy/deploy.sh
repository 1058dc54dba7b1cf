#!/usr/bin/env bash
# Deploy the API image on a host with Docker (a cloud VM, say), then wait for /ready and smoke-test it.
#   MLFLOW_TRACKING_URI=http://mlflow.internal:5000 SERVE_ADMIN_TOKEN=... deploy/deploy.sh IMAGE [PORT]
# The container restarts unless stopped, keeps its prediction log in the `housing-predictions` volume,
# and replaces a running `housing-api` container only after the new image has been pulled.
set -euo pipefail
image=${1:?usage: deploy/deploy.sh IMAGE [PORT]}
port=${2:-8000}
: "${MLFLOW_TRACKING_URI:?set MLFLOW_TRACKING_URI to the tracking server the champion is registered in}"
docker pull "$image"
docker rm -f housing-api >/dev/null 2>&1 || true
docker run -d --name housing-api --restart unless-stopped \
  -p "$port:8000" -v housing-predictions:/data \
  -e MLFLOW_TRACKING_URI -e SERVE_ADMIN_TOKEN -e SERVE_MODEL_NAME -e SERVE_MODEL_ALIAS \
  -e SERVE_CHALLENGER_MODE -e SERVE_CHALLENGER_SHARE -e SERVE_CHALLENGER_ALIAS \
  -e GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}" \
  "$image"
"$(dirname "$0")/smoke.sh" "http://127.0.0.1:$port" "${READY_TIMEOUT:-180}"
