"""The MLP's numpy forward pass: the same numbers as PyTorch's network with the same weights, and a
model package that imports, loads and predicts without PyTorch (the serving image has none)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from housing.mlp import TorchMLPRegressor
from housing.mlp_training import network
from tests.support.project import PROJECT


def fitted(dropout: float = 0.0) -> TorchMLPRegressor:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 6)), rng.normal(size=300)
    model = TorchMLPRegressor(hidden_layers=(16, 8), dropout=dropout, epochs=3, batch_size=64)
    return model.fit(X[:200], y[:200], eval_set=(X[200:], y[200:]))


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_the_forward_pass_equals_torchs_network_with_the_same_weights(dropout: float) -> None:
    model = fitted(dropout)
    net = network(model.n_features_in_, list(model.hidden_layers), dropout)
    net.load_state_dict({name: torch.from_numpy(array) for name, array in model.weights_.items()})
    X = np.random.default_rng(1).normal(size=(500, 6)).astype(np.float32)

    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(X)).reshape(-1).numpy() * model.y_scale_ + model.y_mean_

    predicted = model.predict(X)
    assert predicted.dtype == np.float32
    np.testing.assert_allclose(predicted, expected, rtol=2e-6, atol=1e-6)


def test_far_outside_the_training_range_it_predicts_silently_as_torch_does() -> None:
    model = fitted()
    net = network(model.n_features_in_, list(model.hidden_layers), 0.0)
    net.load_state_dict({name: torch.from_numpy(array) for name, array in model.weights_.items()})
    X = np.full((3, 6), 1e6, dtype=np.float32) * np.array([[1], [-1], [0.5]], dtype=np.float32)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predicted = model.predict(X)

    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(X)).reshape(-1).numpy() * model.y_scale_ + model.y_mean_
    np.testing.assert_allclose(predicted, expected, rtol=1e-5)


def test_the_weights_are_the_best_epochs_plain_arrays() -> None:
    model = fitted()

    assert {name: array.dtype for name, array in model.weights_.items()} == dict.fromkeys(
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], np.dtype("float32")
    )
    assert model.best_epoch_ < model.epochs_run_ <= 3


def test_the_model_package_loads_and_predicts_without_pytorch(tmp_path) -> None:
    import skops.io

    saved = tmp_path / "mlp.skops"
    model = fitted()
    skops.io.dump(model, saved)
    X = np.random.default_rng(2).normal(size=(5, 6))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", model.predict(X))
    script = f"""
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("PyTorch is not installed here")

sys.meta_path.insert(0, NoTorch())
import numpy as np, skops.io
import housing.fast, housing.mlp
model = skops.io.load({str(saved)!r}, trusted=skops.io.get_untrusted_types(file={str(saved)!r}))
predicted = model.predict(np.load({str(tmp_path / "X.npy")!r}))
np.testing.assert_array_equal(predicted, np.load({str(tmp_path / "expected.npy")!r}))
assert "torch" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
