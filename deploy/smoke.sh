#!/usr/bin/env bash
# Wait for a deployed API to be ready, then send one prediction and check the answer.
#   deploy/smoke.sh http://host:8000 [timeout_seconds]
set -euo pipefail
url=${1:?usage: deploy/smoke.sh URL [timeout_seconds]}
deadline=$((SECONDS + ${2:-180}))
until curl -fsS "$url/ready" >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    echo "smoke: $url/ready did not answer 200 in time: $(curl -sS "$url/ready" 2>&1 || true)" >&2
    exit 1
  fi
  sleep 2
done
answer=$(curl -fsS "$url/predict" -H 'Content-Type: application/json' -d '{"longitude": -122.23,
  "latitude": 37.88, "housing_median_age": 41, "total_rooms": 880, "total_bedrooms": 129,
  "population": 322, "households": 126, "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}')
echo "$answer" | grep -Eq '"median_house_value": ?[0-9]' || { echo "smoke: unexpected answer: $answer" >&2; exit 1; }
echo "smoke: ready and predicting: $answer"
