"""The images' lock files (ops/lock.py): subsets of requirements.lock at its versions, the serving one
complete without PyTorch, the pipeline tools or XGBoost's CUDA build."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops.lock import CPU_BUILDS, NOT_SERVED, lock_file, serve_pins, train_pins
from ops.lock import PROJECT as PROJECT_NAME
from tests.support.project import PROJECT


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


RESOLVED = [("housing-mlops", "0.1.0"), ("nvidia-nccl-cu12", "2.32.3"), ("torch", "2.13.0+cpu"), ("xgboost", "3.2.0")]


def test_the_serving_pins_take_cpu_builds_and_leave_out_the_project_and_nccl() -> None:
    assert serve_pins(RESOLVED) == ["torch==2.13.0+cpu", "xgboost-cpu==3.2.0"]


def test_the_train_pins_name_releases_not_builds() -> None:
    assert train_pins(RESOLVED) == ["nvidia-nccl-cu12==2.32.3", "torch==2.13.0", "xgboost==3.2.0"]
    assert PROJECT_NAME not in "".join(train_pins(RESOLVED))


def test_a_lock_file_says_what_it_is_and_sorts_its_pins() -> None:
    text = lock_file("Some image's packages", ["Zeta==1", "alpha==2"])

    assert text.splitlines() == [
        "# Some image's packages, resolved by pip under requirements.lock (ops/lock.py). Regenerate with `make lock`.",
        "alpha==2",
        "Zeta==1",
    ]
