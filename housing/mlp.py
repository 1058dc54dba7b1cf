"""A PyTorch multi-layer perceptron with a scikit-learn face, so it fits inside a Pipeline.

The whole training set is moved to the device once; batches are index slices of a permutation drawn
on the device, so there is no per-batch host copy and no DataLoader. On CUDA the forward pass runs in
bf16 autocast; `compile` trains through torch.compile. Throughput (samples/s), the mean training loss
and the validation RMSE are kept per epoch (train logs them to MLflow). The fitted network is kept on
the CPU, which is where serving predicts.
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from typing import cast

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch import nn
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


def _network(n_inputs: int, hidden_layers: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_inputs
    for size in hidden_layers:
        layers += [nn.Linear(width, size), nn.SiLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def _scheduler(name: str, optimizer: torch.optim.Optimizer, epochs: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5)
    return None


class TorchMLPRegressor(RegressorMixin, BaseEstimator):
    """MLP regressor trained with AdamW on MSE, early-stopped on a validation set."""

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

    def fit(self, X: pd.DataFrame, y: np.ndarray, eval_set: tuple[pd.DataFrame, np.ndarray]) -> TorchMLPRegressor:
        torch.manual_seed(self.random_state)
        device = torch.device(self.device)
        X_train, y_train = _tensor(X, device), _tensor(y, device).reshape(-1, 1)
        X_val, y_val = _tensor(eval_set[0], device), _tensor(eval_set[1], device).reshape(-1, 1)
        self.n_features_in_ = X_train.shape[1]
        self.y_mean_, self.y_scale_ = float(y_train.mean()), float(y_train.std())
        y_train = (y_train - self.y_mean_) / self.y_scale_

        network = _network(self.n_features_in_, list(self.hidden_layers), self.dropout).to(device)
        # torch.compile of a Module returns an OptimizedModule (a Module); its annotation only says Callable.
        trained = cast(nn.Module, torch.compile(network)) if self.compile else network
        optimizer = torch.optim.AdamW(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        scheduler = _scheduler(self.lr_schedule, optimizer, self.epochs)
        best_loss, best_state, stale_epochs = float("inf"), None, 0
        self.epoch_samples_per_s_: list[float] = []
        self.epoch_train_loss_: list[float] = []
        self.epoch_val_rmse_: list[float] = []
        progress = tqdm(range(self.epochs), desc="mlp", unit="epoch", disable=not sys.stderr.isatty())
        for epoch in progress:
            started = time.perf_counter()
            train_loss = self._train_one_epoch(trained, optimizer, X_train, y_train)
            val_loss = self._mse(trained, X_val, y_val)
            self.epoch_samples_per_s_.append(len(X_train) / (time.perf_counter() - started))
            self.epoch_train_loss_.append(train_loss)
            self.epoch_val_rmse_.append(val_loss**0.5)
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss)
            elif scheduler is not None:
                scheduler.step()
            progress.set_postfix(val_rmse=f"{val_loss**0.5:.4f}")
            if val_loss < best_loss:
                best_loss, best_state, stale_epochs = val_loss, copy.deepcopy(network.state_dict()), 0
                self.best_epoch_ = epoch
            else:
                stale_epochs += 1
                if stale_epochs >= self.early_stopping_patience:
                    break
        self.epochs_run_ = epoch + 1
        if best_state is None:
            raise ValueError("no epoch gave a finite validation loss")
        network.load_state_dict(best_state)
        self.network_ = network.cpu().eval()
        return self

    def _train_one_epoch(
        self, network: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor
    ) -> float:
        """One pass over the shuffled batches; the epoch's mean batch loss (standardised target), read once
        at the end so that a GPU does not wait for the host after every batch."""
        network.train()
        order = torch.randperm(len(X), device=X.device)
        total = torch.zeros((), device=X.device)
        for start in range(0, len(X), self.batch_size):
            batch = order[start : start + self.batch_size]
            with torch.autocast(X.device.type, dtype=torch.bfloat16, enabled=X.device.type == "cuda"):
                loss = nn.functional.mse_loss(network(X[batch]).float(), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return float(total) / math.ceil(len(X) / self.batch_size)

    @torch.no_grad()
    def _mse(self, network: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
        network.eval()
        predicted = network(X).float() * self.y_scale_ + self.y_mean_
        return float(nn.functional.mse_loss(predicted, y))

    def __getstate__(self) -> dict:
        """Store the fitted network as plain numpy weights, so skops can save it without pickle."""
        state = self.__dict__.copy()
        network = state.pop("network_", None)
        if network is not None:
            state["weights_"] = {name: tensor.numpy() for name, tensor in network.state_dict().items()}
        return state

    def __setstate__(self, state: dict) -> None:
        weights = state.pop("weights_", None)
        self.__dict__.update(state)
        if weights is not None:
            network = _network(self.n_features_in_, list(self.hidden_layers), self.dropout)
            network.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
            self.network_ = network.eval()

    @torch.no_grad()
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        predicted = self.network_(_tensor(X, torch.device("cpu")))
        return (predicted.reshape(-1) * self.y_scale_ + self.y_mean_).numpy()


def _tensor(values: pd.DataFrame | np.ndarray, device: torch.device) -> torch.Tensor:
    array = values.to_numpy() if hasattr(values, "to_numpy") else values
    return torch.as_tensor(np.asarray(array, dtype=np.float32), device=device)
