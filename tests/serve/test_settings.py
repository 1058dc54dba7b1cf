"""The server's settings come from SERVE_* variables alone, with documented defaults, and bad values
are refused naming the variable."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from serve.settings import Settings


@pytest.fixture(autouse=True)
def no_serve_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Start from no SERVE_* variable, in a folder without params.yaml."""
    for name in list(os.environ):
        if name.startswith("SERVE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_defaults_need_no_params_file() -> None:
    settings = Settings()

    assert (settings.model_name, settings.model_alias, settings.challenger_alias) == (
        "california-housing",
        "champion",
        "challenger",
    )
    assert settings.drift_window > 0 and settings.drift.psi_threshold > 0


def test_variables_set_fields_and_drift_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVE_MODEL_NAME", "other-model")
    monkeypatch.setenv("SERVE_DRIFT_WINDOW", "300")
    monkeypatch.setenv("SERVE_DRIFT__PSI_THRESHOLD", "0.35")
    monkeypatch.setenv("SERVE_DRIFT__MIN_ROWS", "20")

    settings = Settings()

    assert (settings.model_name, settings.drift_window) == ("other-model", 300)
    assert (settings.drift.psi_threshold, settings.drift.min_rows, settings.drift.p_value) == (0.35, 20, 0.01)


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [("SERVE_DRIFT__P_VALUE", "2", "p_value"), ("SERVE_DRIFT__PSI", "1", "psi"), ("SERVE_MAX_BATCH", "0", "max_batch")],
)
def test_a_bad_value_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError, match=field):
        Settings()
