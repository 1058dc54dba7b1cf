"""The server's settings, read from environment variables (documented in .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stages.params import DriftParams, RegisterParams, TriggerParams, load_params
from stages.tracking import CHALLENGER, CHAMPION

PROJECT = Path(__file__).resolve().parents[1]
PARAMS_FILE = PROJECT / "params.yaml"

ChallengerMode = Literal["off", "shadow", "split"]


def registered_model_name() -> str:
    """The model name the pipeline registers under (params.yaml: register.model_name)."""
    params: RegisterParams = load_params("register", PARAMS_FILE)
    return params.model_name


def served_window() -> int:
    """How many latest served rows drift is measured on (params.yaml: trigger.served_window)."""
    params: TriggerParams = load_params("trigger", PARAMS_FILE)
    return params.served_window


def drift_params() -> DriftParams:
    """The drift thresholds the pipeline uses (params.yaml: drift)."""
    return load_params("drift", PARAMS_FILE)


class Settings(BaseSettings):
    """Everything the server can be told; `SERVE_<NAME>` in the environment sets `<name>`.

    The MLflow store comes from MLflow's own `MLFLOW_TRACKING_URI`.
    """

    model_config = SettingsConfigDict(env_prefix="SERVE_", frozen=True)

    model_name: str = Field(default_factory=registered_model_name, description="Registered model to serve.")
    model_alias: str = Field(default=CHAMPION, description="Registry alias to serve and to watch.")
    poll_seconds: float = Field(default=30, gt=0, description="How often to check which version the alias names.")
    retry_seconds: float = Field(default=5, gt=0, description="Wait between attempts while no model is loaded.")
    prediction_db: Path = Field(default=Path("predictions.db"), description="SQLite prediction log.")
    retention_days: float = Field(default=30, gt=0, description="Logged predictions older than this are deleted.")
    live_window: int = Field(default=500, gt=0, description="Latest feedback reports live RMSE/MAE cover.")
    max_batch: int = Field(default=1000, gt=0, description="Most records in one request.")
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="Largest request body accepted.")
    challenger_mode: ChallengerMode = Field(
        default="off",
        description="off; shadow: the challenger also predicts every request, logged and never returned;"
        " split: it answers challenger_share of the clients.",
    )
    challenger_share: float = Field(
        default=0.1, ge=0, le=1, description="Share of clients (by X-Client-ID, else address) split mode gives it."
    )
    challenger_alias: str = Field(default=CHALLENGER, description="Registry alias of the challenger.")
    drift_window: int = Field(
        default_factory=served_window, gt=0, description="Latest served rows the drift gauges and GET /drift cover."
    )
    drift_seconds: float = Field(default=60, gt=0, description="How often each worker refreshes the drift gauges.")
    pipeline_dir: Path = Field(
        default=PROJECT, description="The DVC repository POST /admin/retrain runs the retrain trigger in."
    )
    admin_token: str | None = Field(default=None, description="Bearer token for /admin/*; unset or empty: disabled.")

    @model_validator(mode="after")
    def challenger_is_another_alias(self) -> Settings:
        if self.challenger_alias == self.model_alias:
            raise ValueError(f"challenger_alias must differ from model_alias (both {self.model_alias!r})")
        return self
