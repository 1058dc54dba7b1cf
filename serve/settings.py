"""The server's settings, read from environment variables (documented in .env.example).

Nothing here reads params.yaml: the serving image has neither it nor stages/. The defaults are the
pipeline's shipped ones (the registered model name, the served-drift window and thresholds), and a
test keeps them equal to params.yaml's.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from housing.drift import DriftThresholds
from housing.names import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME

PROJECT = Path(__file__).resolve().parents[1]

ChallengerMode = Literal["off", "shadow", "split"]


class Settings(BaseSettings):
    """Everything the server can be told; `SERVE_<NAME>` in the environment sets `<name>`, and
    `SERVE_DRIFT__<NAME>` one of the drift thresholds (e.g. SERVE_DRIFT__PSI_THRESHOLD=0.3).

    The MLflow store comes from MLflow's own `MLFLOW_TRACKING_URI`.
    """

    model_config = SettingsConfigDict(env_prefix="SERVE_", env_nested_delimiter="__", frozen=True)

    model_name: str = Field(default=DEFAULT_MODEL_NAME, description="Registered model to serve.")
    model_alias: str = Field(default=CHAMPION, description="Registry alias to serve and to watch.")
    poll_seconds: float = Field(default=30, gt=0, description="How often to check which version the alias names.")
    retry_seconds: float = Field(default=5, gt=0, description="Wait between attempts while no model is loaded.")
    prediction_db: str = Field(
        default="predictions.db",
        description="The prediction log: an SQLite file's path, or an SQLAlchemy URL"
        " (postgresql+psycopg://user@host/db: one log shared by every replica).",
    )
    retention_days: float = Field(default=30, gt=0, description="Logged predictions older than this are deleted.")
    live_window: int = Field(default=500, gt=0, description="Latest feedback reports live RMSE/MAE cover.")
    feedback_wait_seconds: float = Field(
        default=2,
        ge=0,
        description="How long POST /feedback waits for its prediction to be logged before answering 404: a"
        " report may come right after its response, before the row is written by this worker, another"
        " worker or another replica (each commits within a fraction of a second). An unknown request id"
        " holds a worker this long.",
    )
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
        default=2000, gt=0, description="Latest served rows the drift gauges and GET /drift cover."
    )
    drift: DriftThresholds = Field(
        default_factory=DriftThresholds, description="When a feature of served traffic counts as drifted."
    )
    drift_seconds: float = Field(default=60, gt=0, description="How often each worker refreshes the drift gauges.")
    pipeline_dir: Path = Field(
        default=PROJECT, description="The DVC repository POST /admin/retrain runs the retrain command in."
    )
    fast_check_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of requests the fast path answers that are predicted again by the pipeline, after"
        " the response, and counted in housing_fast_path_mismatches_total when they differ.",
    )
    admin_token: str | None = Field(default=None, description="Bearer token for /admin/*; unset or empty: disabled.")
    mlflow_ui_url: str = Field(
        default="http://127.0.0.1:5000",
        description="The MLflow UI the dashboard links each training run to (`make ui` serves it there).",
    )

    @field_validator("prediction_db", mode="before")
    @classmethod
    def path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    def reload_marker(self) -> Path:
        """The file whose touch asks every worker on this host to check the aliases now: beside an
        SQLite log, else in the temporary folder (named for the log, so servers of two logs never mix)."""
        if "://" not in self.prediction_db:
            return Path(self.prediction_db).with_suffix(".reload")
        digest = hashlib.blake2b(self.prediction_db.encode(), digest_size=6).hexdigest()
        return Path(tempfile.gettempdir()) / f"housing-serve-{digest}.reload"

    @model_validator(mode="after")
    def challenger_is_another_alias(self) -> Settings:
        if self.challenger_alias == self.model_alias:
            raise ValueError(f"challenger_alias must differ from model_alias (both {self.model_alias!r})")
        return self
