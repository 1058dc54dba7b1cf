"""The names that cross floors: what the pipeline (stages/) writes to the tracking store and the registry,
and the server (serve/) and operations (ops/) read back. Each is spelled here once, so a writer and
its readers cannot drift apart; the model package is the one floor all three import.
"""

from __future__ import annotations

CHAMPION = "champion"
"""The registry alias of the version that answers requests."""
CHALLENGER = "challenger"
"""The alias of a newer version that has not beaten the champion; served beside it in shadow or split mode."""
DEFAULT_MODEL_NAME = "california-housing"
"""What the server looks up when SERVE_MODEL_NAME is unset: the name params.yaml registers under."""

MODEL_FAMILY = "model_family"
"""The family a model belongs to (`mlp`, `blend`, ...): a tag and param of its training run, a key of the
logged model's metadata, a tag of its registered version and a key of the register stage's receipt."""
MLP_FAMILY = "mlp"
"""The family whose runs log per-epoch metrics (the dashboard's loss curves)."""

EPOCH_SAMPLES_PER_S = "epoch_samples_per_s"
"""MLflow metric, one step per epoch of the MLP: training rows per second."""
EPOCH_TRAIN_LOSS = "epoch_train_loss"
"""MLflow metric, one step per epoch of the MLP: the mean batch loss on the (transformed, standardised) target."""
EPOCH_VAL_RMSE = "epoch_val_rmse"
"""MLflow metric, one step per epoch of the MLP: the validation RMSE on the transformed target."""


def feature_param(key: str) -> str:
    """The training run's parameter for one key of params.yaml's `features` section."""
    return f"features.{key}"


TARGET_TRANSFORM_PARAM = feature_param("target_transform")
"""The run parameter naming the target a model was fitted to (sqrt, log or none), the scale of its epoch RMSEs."""
