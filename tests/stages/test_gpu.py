"""The GPU path: the preset, telemetry and CUDA fits. CUDA-only tests skip without a GPU; bench/gpu_run.sh
runs this file alone on a GPU machine, which may lack MLflow, so it imports nothing that needs it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter

from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from ops.presets import PRESETS, dvc_flags, section_overrides
from stages.families import fit_pipeline
from stages.params import SECTIONS, load_params
from stages.splits import TrainingData
from stages.telemetry import fit_telemetry
from tests.support.params import tiny_family, tiny_features
from tests.support.project import PROJECT
from tests.support.synthetic import housing_frame

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/gpu_run.sh on a GPU machine)")
FAMILIES = ["linear", "random_forest", "xgboost", "lightgbm", "mlp"]


def data():
    frame = housing_frame(300, seed=2)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.parametrize("section", sorted({key.rsplit(".", 1)[0] for key in PRESETS["gpu"] if "." in key}))
def test_gpu_preset_values_are_valid_params(section):
    current = load_params(section, SECTIONS[section], PROJECT / "params.yaml").model_dump()

    merged = TypeAdapter(SECTIONS[section]).validate_python({**current, **section_overrides("gpu", section)})

    assert merged.model_dump() == {**current, **section_overrides("gpu", section)}


def test_gpu_preset_as_dvc_flags():
    flags = dvc_flags("gpu")

    assert "-S train.mlp.hidden_layers=[512,256,128,64]" in flags
    assert "-S train.xgboost.max_depth=12" in flags
    assert '-S device="cuda"' in flags


def test_cpu_telemetry_names_the_processor_and_peak_memory():
    with fit_telemetry("cpu") as telemetry:
        np.ones((1000, 1000)).sum()

    assert telemetry["device"] == "cpu"
    assert telemetry["device_name"]
    assert telemetry["process_peak_rss_mb"] > 0


@cuda
@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_fits_on_cuda_and_predicts_on_the_cpu(family):
    X, y, X_val, y_val = data()

    pipeline, _ = fit_pipeline(
        family, tiny_family(family), tiny_features(), "cuda", 0, TrainingData(X, y, X_val, y_val)
    )

    predicted = pipeline.predict(X_val)
    assert np.isfinite(predicted).all()
    assert predicted.shape == (len(X_val),)


@cuda
def test_cuda_telemetry_reads_the_gpu():
    with fit_telemetry("cuda") as telemetry:
        torch.ones((4096, 4096), device="cuda").matmul(torch.ones((4096, 4096), device="cuda")).sum().item()

    assert telemetry["torch_peak_memory_mb"] > 0
    assert telemetry["device_name"]
    assert telemetry["driver"]
    assert telemetry["gpu_memory_peak_mb"] > 0


@cuda
def test_compiled_mlp_trains_on_cuda():
    X, y, X_val, y_val = data()

    training = TrainingData(X, y, X_val, y_val)

    pipeline, _ = fit_pipeline("mlp", tiny_family("mlp", compile=True), tiny_features(), "cuda", 0, training)

    assert np.isfinite(pipeline.predict(X_val)).all()
