#!/usr/bin/env bash
# On the lent GPU machine (see bench/gpu_wheels.sh): reassemble XGBoost, install the carried wheels
# into /tmp/site, then run bench/gpu and the CUDA-only tests. Results land in $OUT.
set -euo pipefail
last=$(ls -d .whl-xgboost/*/ | tail -1)
cat "$last"* >> /tmp/xgboost.part
mv /tmp/xgboost.part "/tmp/$(cat .whl/xgboost.name)"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .whl/*.whl "/tmp/$(cat .whl/xgboost.name)"
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "${OUT:-/tmp}/gpu.txt"
python3 -m bench.gpu --preset gpu --out "${OUT:-/tmp}/gpu.json" | tee "${OUT:-/tmp}/bench-gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/stages/test_gpu.py 2>&1 | tee "${OUT:-/tmp}/cuda-tests.txt"
