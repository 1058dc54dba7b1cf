#!/usr/bin/env bash
# Prepare this project's packages for the lent GPU machine, which has Python 3.12, PyTorch, NumPy,
# pandas, pyarrow, scikit-learn, nvidia-ml-py, PyYAML and tqdm, but no XGBoost, LightGBM or pydantic,
# and reaches no registry. Run it here, in the repository root:
#
#   bench/gpu_wheels.sh            # fills .whl/ (small wheels) and .whl-xgboost/ (XGBoost, in parts)
#
# One device call carries at most 64 MiB and XGBoost's CUDA wheel is ~130 MB, so it travels in parts
# over consecutive calls while the machine stays warm (files under /tmp outlive a call there):
#   run(carry=[".whl-xgboost/1"], command="cat .whl-xgboost/1/* >> /tmp/xgboost.part")
#   run(carry=[".whl-xgboost/2"], command="cat .whl-xgboost/2/* >> /tmp/xgboost.part")
#   run(carry=[".whl-xgboost/3", ".whl", "data/processed"], command="bench/gpu_run.sh")
# (.whl-xgboost/N/ holds the Nth part; bench/gpu_run.sh reassembles, installs and runs bench/gpu.)
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl\*/' .git/info/exclude || echo '/.whl*/' >> .git/info/exclude
version() { grep -i "^$1==" requirements.lock | cut -d= -f3; }
download() {
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$1" "${@:2}"
}
rm -rf .whl .whl-xgboost && mkdir -p .whl .whl-xgboost
download .whl "lightgbm==$(version lightgbm)" "pydantic==$(version pydantic)" \
  "pydantic_core==$(version pydantic_core)" "annotated-types==$(version annotated-types)" \
  "typing-inspection==$(version typing-inspection)"
download /tmp/xgboost-wheel "xgboost==$(version xgboost)"
wheel=$(ls /tmp/xgboost-wheel/xgboost-*.whl)
basename "$wheel" > .whl/xgboost.name
split --bytes=45M --numeric-suffixes=1 --suffix-length=1 "$wheel" .whl-xgboost/part-
for part in .whl-xgboost/part-*; do n=${part##*-}; mkdir -p ".whl-xgboost/$n"; mv "$part" ".whl-xgboost/$n/"; done
du -sh .whl .whl-xgboost/*
