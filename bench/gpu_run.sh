#!/usr/bin/env bash
# The GPU checks, on any machine with an NVIDIA GPU and a checkout of this repository: bench/gpu (every
# family on the CPU and on the GPU with the GPU preset's params) and the CUDA-only tests
# (tests/stages/test_gpu.py, which skip where there is no GPU). See docs/gpu.md.
#
#   bench/gpu_run.sh [FOLDER]     # FOLDER (default: a new temporary one) receives gpu.json and the logs
#
# It checks first, and stops saying what to do when one is missing: the GPU (nvidia-smi), the splits
# bench/gpu fits on (data/processed, from `make repro`), and the packages, in the interpreter $PYTHON
# (default: this checkout's .venv, else python3 on PATH), with a torch that sees CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "bench/gpu_run.sh: $*" >&2; exit 1; }

python=${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}
command -v nvidia-smi >/dev/null || fail "no nvidia-smi: this needs an NVIDIA GPU and its driver"
for split in train val; do
  [[ -f data/processed/$split.parquet ]] || fail "no data/processed/$split.parquet: run make repro here, or copy data/processed/ from a checkout that did"
done
missing=$("$python" -c '
import importlib.util
modules = ["torch", "xgboost", "lightgbm", "sklearn", "pandas", "pyarrow", "pydantic", "yaml", "psutil", "pytest"]
print(" ".join(name for name in modules if importlib.util.find_spec(name) is None))')
[[ -z $missing ]] || fail "$python lacks $missing: make setup, or pip install -e '.[train,gpu]' pytest (see docs/gpu.md for a machine without a package registry)"
"$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' \
  || fail "$python's torch sees no CUDA device (a CPU-only build of torch?)"

out=$(realpath "${1:-$(mktemp -d)}")
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
"$python" -m bench.gpu --preset gpu --out "$out/gpu.json" | tee "$out/bench-gpu.txt"
"$python" -m pytest -q -p no:cacheprovider -o addopts= tests/stages/test_gpu.py 2>&1 | tee "$out/cuda-tests.txt"
echo "bench/gpu_run.sh: results in $out; cp $out/gpu.json bench/results/gpu.json publishes the measurement"
