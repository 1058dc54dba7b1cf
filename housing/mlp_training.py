"""The MLP's training loop in PyTorch: the one part of the model package that needs it.

The whole training set is moved to the device once; batches are index slices of a permutation drawn
on the device, so there is no per-batch host copy and no DataLoader. On CUDA the forward pass runs in
bf16 autocast; `compile` trains through torch.compile. Early stopping keeps the epoch with the best
validation loss, whose weights leave as numpy arrays for housing.mlp's forward pass. Each epoch's
figures are kept on the model and, as the epoch ends, given to the caller's listener if there is one.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from housing.names import EPOCH_SAMPLES_PER_S, EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE

if TYPE_CHECKING:
    from housing.mlp import EpochListener, Matrix, TorchMLPRegressor


def network(n_inputs: int, hidden_layers: list[int], dropout: float) -> nn.Sequential:
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


def train(
    model: TorchMLPRegressor,
    X: Matrix,
    y: np.ndarray,
    eval_set: tuple[Matrix, np.ndarray],
    on_epoch: EpochListener | None = None,
) -> TorchMLPRegressor:
    """Fit `model`'s network with its params, telling `on_epoch` of each epoch; sets its fitted attributes
    and returns it."""
    torch.manual_seed(model.random_state)
    device = torch.device(model.device)
    X_train, y_train = _tensor(X, device), _tensor(y, device).reshape(-1, 1)
    X_val, y_val = _tensor(eval_set[0], device), _tensor(eval_set[1], device).reshape(-1, 1)
    model.n_features_in_ = X_train.shape[1]
    model.y_mean_, model.y_scale_ = float(y_train.mean()), float(y_train.std())
    y_train = (y_train - model.y_mean_) / model.y_scale_

    net = network(model.n_features_in_, list(model.hidden_layers), model.dropout).to(device)
    # torch.compile of a Module returns an OptimizedModule (a Module); its annotation only says Callable.
    trained = cast(nn.Module, torch.compile(net)) if model.compile else net
    optimizer = torch.optim.AdamW(net.parameters(), lr=model.learning_rate, weight_decay=model.weight_decay)
    scheduler = _scheduler(model.lr_schedule, optimizer, model.epochs)
    best_loss, best_state, stale_epochs = float("inf"), None, 0
    model.epoch_samples_per_s_, model.epoch_train_loss_, model.epoch_val_rmse_ = [], [], []
    progress = tqdm(range(model.epochs), desc="mlp", unit="epoch", disable=not sys.stderr.isatty())
    for epoch in progress:
        started = time.perf_counter()
        train_loss = _train_one_epoch(trained, optimizer, X_train, y_train, model.batch_size)
        val_loss = _mse(trained, X_val, y_val, model.y_mean_, model.y_scale_)
        model.epoch_samples_per_s_.append(len(X_train) / (time.perf_counter() - started))
        model.epoch_train_loss_.append(train_loss)
        model.epoch_val_rmse_.append(val_loss**0.5)
        if on_epoch is not None:
            figures = (model.epoch_samples_per_s_, model.epoch_train_loss_, model.epoch_val_rmse_)
            names = (EPOCH_SAMPLES_PER_S, EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE)
            on_epoch(epoch, {name: values[-1] for name, values in zip(names, figures, strict=True)})
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        progress.set_postfix(val_rmse=f"{val_loss**0.5:.4f}")
        if val_loss < best_loss:
            best_loss, best_state, stale_epochs = val_loss, copy.deepcopy(net.state_dict()), 0
            model.best_epoch_ = epoch
        else:
            stale_epochs += 1
            if stale_epochs >= model.early_stopping_patience:
                break
    model.epochs_run_ = epoch + 1
    if best_state is None:
        raise ValueError("no epoch gave a finite validation loss")
    model.weights_ = {name: tensor.detach().cpu().numpy() for name, tensor in best_state.items()}
    return model


def _train_one_epoch(
    net: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor, batch_size: int
) -> float:
    """One pass over the shuffled batches; the epoch's mean batch loss (standardised target), read once
    at the end so that a GPU does not wait for the host after every batch."""
    net.train()
    order = torch.randperm(len(X), device=X.device)
    total = torch.zeros((), device=X.device)
    for start in range(0, len(X), batch_size):
        batch = order[start : start + batch_size]
        with torch.autocast(X.device.type, dtype=torch.bfloat16, enabled=X.device.type == "cuda"):
            loss = nn.functional.mse_loss(net(X[batch]).float(), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    return float(total) / math.ceil(len(X) / batch_size)


@torch.no_grad()
def _mse(net: nn.Module, X: torch.Tensor, y: torch.Tensor, y_mean: float, y_scale: float) -> float:
    net.eval()
    predicted = net(X).float() * y_scale + y_mean
    return float(nn.functional.mse_loss(predicted, y))


def _tensor(values: Matrix, device: torch.device) -> torch.Tensor:
    array = values.to_numpy() if isinstance(values, pd.DataFrame) else values
    return torch.as_tensor(np.asarray(array, dtype=np.float32), device=device)
