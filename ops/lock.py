"""The images' lock files, each a subset of requirements.lock at the same versions:

    python -m ops.lock          # `make lock` runs it after writing requirements.lock

- requirements-serve.lock: the model package's core and its `serve` extra, for the serving image;
- requirements-train.lock: the core with the `serve`, `train` and `gpu` extras, for the pipeline's image
  (the images run Debian's Python 3.11, which some of the test tools' releases no longer support).

pip resolves each set with requirements.lock as constraints (`pip install --dry-run --report`), so an
image runs the very versions the tests ran. The serving image installs its file with `--no-deps`, so
what it lists is all it gets: NOT_SERVED names what pip's resolution brings that a CPU server never
loads, and CPU_BUILDS the packages it takes a CPU build of.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404  # runs this interpreter's pip on fixed arguments
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PROJECT = "housing-mlops"
NOT_SERVED = {
    "nvidia-nccl-cu12": "XGBoost's multi-GPU collective library: only GPU training loads it",
}
CPU_BUILDS = {"xgboost": "xgboost-cpu"}
"""The same release of the same module built without the CUDA kernels a CPU server never runs."""


def resolution(extras: str) -> list[tuple[str, str]]:
    """(name, version) of every package pip installs for `.[extras]` with requirements.lock's versions."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        command += ["--report", str(report), "-c", str(LOCK), f"{ROOT}[{extras}]"]
        subprocess.run(command, check=True, cwd=ROOT)  # nosec B603  # no shell, fixed arguments
        installs = json.loads(report.read_text())["install"]
    return sorted((item["metadata"]["name"], item["metadata"]["version"]) for item in installs)


def lock_file(purpose: str, pins: list[str]) -> str:
    header = f"# {purpose}, resolved by pip under requirements.lock (ops/lock.py). Regenerate with `make lock`.\n"
    return header + "\n".join(sorted(pins, key=str.lower)) + "\n"


def serve_pins(resolved: list[tuple[str, str]]) -> list[str]:
    return [
        f"{CPU_BUILDS.get(name, name)}=={version}" for name, version in resolved if name not in {PROJECT, *NOT_SERVED}
    ]


def train_pins(resolved: list[tuple[str, str]]) -> list[str]:
    """Releases without their local build label (`+cpu`): the build comes from where pip finds it (TORCH_INDEX)."""
    return [f"{name}=={version.split('+')[0]}" for name, version in resolved if name != PROJECT]


def main() -> None:
    serve = lock_file("The serving image's packages (installed with --no-deps)", serve_pins(resolution("serve")))
    (ROOT / "requirements-serve.lock").write_text(serve)
    train = lock_file("The pipeline image's packages", train_pins(resolution("serve,train,gpu")))
    (ROOT / "requirements-train.lock").write_text(train)
    print("wrote requirements-serve.lock and requirements-train.lock")


if __name__ == "__main__":
    main()
