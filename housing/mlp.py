"""A multi-layer perceptron with a scikit-learn face, so it fits inside a Pipeline.

PyTorch trains it (housing.mlp_training, imported by `fit` alone); the fitted network is kept as
plain float32 weights and `predict` is its forward pass in numpy: linear layers with SiLU between
them, dropout being the identity at inference. Evaluate scores that forward pass and the server
predicts with it, so what is served is exactly what was evaluated, and neither the serving image nor
a logged model's requirements need PyTorch.

While it trains, each epoch's figures can go to a listener (`epochs_reported_to`): the train stage
logs them to MLflow as they come, so a running fit's losses can be watched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

Matrix = pd.DataFrame | np.ndarray
"""Rows of features: the pipeline's scaled feature matrix (an array), or a frame of them."""
EpochListener = Callable[[int, dict[str, float]], None]
"""Hears of each epoch as it ends: its number (from 0) and its figures, by the MLflow metric names of
housing.names (EPOCH_SAMPLES_PER_S, EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE)."""
_epoch_listener: ContextVar[EpochListener | None] = ContextVar("epoch_listener", default=None)


@contextmanager
def epochs_reported_to(listener: EpochListener) -> Iterator[None]:
    """Every TorchMLPRegressor fitted in this block reports each epoch to `listener` as it ends.

    A context rather than a constructor param or a fit argument: the listener is no part of the model
    (a param would be pickled with it and logged), and the families' builders all take the same
    arguments (stages.families), which the MLP alone would otherwise need to widen.
    """
    token = _epoch_listener.set(listener)
    try:
        yield
    finally:
        _epoch_listener.reset(token)


class TorchMLPRegressor(RegressorMixin, BaseEstimator):
    """MLP regressor trained with AdamW on MSE, early-stopped on a validation set.

    Fitted attributes: `weights_`, the network's state dict as numpy arrays (`"<layer>.weight"`,
    `"<layer>.bias"` for each linear layer, in torch.nn.Sequential's numbering), the target's
    standardisation (`y_mean_`, `y_scale_`), and per epoch the training throughput, the mean
    training loss and the validation RMSE (train logs them to MLflow).
    """

    def __init__(
        self,
        hidden_layers: tuple[int, ...] = (256, 128, 64),
        dropout: float = 0.0,
        batch_size: int = 256,
        epochs: int = 200,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        lr_schedule: str = "plateau",
        early_stopping_patience: int = 20,
        compile: bool = False,
        device: str = "cpu",
        random_state: int = 0,
    ):
        self.hidden_layers = hidden_layers
        self.dropout = dropout
        self.batch_size = batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.early_stopping_patience = early_stopping_patience
        self.compile = compile
        self.device = device
        self.random_state = random_state

    def fit(self, X: Matrix, y: np.ndarray, eval_set: tuple[Matrix, np.ndarray]) -> TorchMLPRegressor:
        # Imported here: only training needs PyTorch, and a server that loads this class has none.
        from housing.mlp_training import train

        return train(self, X, y, eval_set, on_epoch=_epoch_listener.get())

    def predict(self, X: Matrix) -> np.ndarray:
        activations = _float32(X)
        layers = self._linear_layers()
        for index, (weight, bias) in enumerate(layers):
            activations = activations @ weight.T + bias
            if index < len(layers) - 1:
                activations = _silu(activations)
        return activations.reshape(-1) * np.float32(self.y_scale_) + np.float32(self.y_mean_)

    def _linear_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight, bias) of each linear layer in order; the layers between them hold no weights."""
        indices = sorted({int(name.split(".", 1)[0]) for name in self.weights_})
        return [(self.weights_[f"{index}.weight"], self.weights_[f"{index}.bias"]) for index in indices]


def _silu(x: np.ndarray) -> np.ndarray:
    # exp(-x) overflows to inf below x of about -88 in float32, where x / inf is SiLU's limit there, -0.
    with np.errstate(over="ignore"):
        return x / (np.float32(1) + np.exp(-x))


def _float32(values: Matrix) -> np.ndarray:
    array = values.to_numpy() if isinstance(values, pd.DataFrame) else values
    return np.asarray(array, dtype=np.float32)
