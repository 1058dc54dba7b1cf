"""The images' lock files (ops/lock.py): subsets of requirements.lock at its versions, the serving one
complete without PyTorch, the pipeline tools or XGBoost's CUDA build."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops.lock import CPU_BUILDS, NOT_SERVED
from tests.conftest import PROJECT


def pins(name: str) -> dict[str, str]:
    lines = (PROJECT / name).read_text().splitlines()
    pairs = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(package): version for package, version in pairs}


LOCKED = {name: version.split("+")[0] for name, version in pins("requirements.lock").items()}
SERVE = pins("requirements-serve.lock")
TRAIN = pins("requirements-train.lock")
UNFROZEN = {"setuptools", "nvidia-ml-py"}
"""In the train lock, not in requirements.lock: pip freeze leaves setuptools out; the gpu extra's NVML."""
AS_LOCKED = {canonicalize_name(cpu): canonicalize_name(name) for name, cpu in CPU_BUILDS.items()}


@pytest.mark.parametrize("lock", [SERVE, TRAIN], ids=["serve", "train"])
def test_an_image_lock_pins_requirements_locks_versions(lock: dict[str, str]) -> None:
    differing = {
        name: (version, LOCKED.get(AS_LOCKED.get(name, name)))
        for name, version in lock.items()
        if LOCKED.get(AS_LOCKED.get(name, name)) != version and name not in UNFROZEN
    }
    assert not differing


def test_the_serving_lock_leaves_out_training_and_cuda() -> None:
    for package in ("torch", "dvc", "dask", "distributed", "matplotlib", "mlflow", "pyarrow", "xgboost", *NOT_SERVED):
        assert package not in SERVE, package
    assert {"xgboost-cpu", "lightgbm", "mlflow-skinny", "gunicorn", "fastparquet"} <= SERVE.keys()


def test_the_serving_lock_holds_everything_its_packages_require() -> None:
    """Installed with --no-deps, the lock must close over the requirements (this environment's metadata)."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["serve"]]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(AS_LOCKED.get(requirement.name, requirement.name))
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        assert name in NOT_SERVED or CPU_BUILDS.get(name, name) in SERVE, f"{name} is missing from the serving lock"
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            nested = Requirement(text)
            extras_wanted = requirement.extras
            if nested.marker and not any(nested.marker.evaluate({"extra": extra}) for extra in extras_wanted or {""}):
                continue
            wanted.append(nested)
