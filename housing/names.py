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

EVALUATION_ID = "evaluation.id"
"""Tag the evaluate stage sets on the training run of every candidate it scored, the same value on all of
them: the candidates of one pipeline run, found together."""
EVALUATED_AT = "evaluation.at"
"""Tag: when that evaluation ran (ISO 8601, UTC, to the millisecond), so the latest sorts first."""
EVALUATION_CANDIDATES = "evaluation.candidates"
"""Tag: every candidate that evaluation scored, comma-separated, so a reader can name those whose training
run is not in the store (a train stage DVC restored from its run cache logged no run there)."""
EVALUATION_SELECTED = "evaluation.selected"
"""Tag: the candidate that evaluation's validation chose, the one register registers."""
INTERVAL_METRICS = {
    "difference": "test_rmse_vs_selected",
    "low": "test_rmse_vs_selected_low",
    "high": "test_rmse_vs_selected_high",
    "noise": "test_rmse_vs_selected_noise",
}
"""MLflow metric of each field of a candidate's paired bootstrap 95% interval of its test RMSE minus the
selected candidate's (reports/intervals.json's fields): noise is 1 when the interval covers 0."""
