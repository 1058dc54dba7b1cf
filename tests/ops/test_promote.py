"""promote: the challenger takes the champion alias in one command, or a one-line error says why not."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest

from ops import promote
from tests.support.params import write_params

NAME = "california-housing"


@pytest.fixture
def registry(tmp_path: Path, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch) -> mlflow.MlflowClient:
    """A store holding three versions of the model, and a working directory with the project's params."""
    client = mlflow.MlflowClient(mlflow_uri)
    client.create_registered_model(NAME)
    for number in range(3):
        (tmp_path / f"model{number}").mkdir()
        client.create_model_version(NAME, source=str(tmp_path / f"model{number}"))
    write_params(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["promote", "--by", "ada"])
    return client


def test_promote_moves_the_champion_alias_to_the_challenger_and_tags_it(registry, capsys):
    registry.set_registered_model_alias(NAME, "champion", "1")
    registry.set_registered_model_alias(NAME, "challenger", "3")

    promote.main()

    assert registry.get_registered_model(NAME).aliases == {"champion": 3}
    tags = registry.get_model_version(NAME, "3").tags
    assert (tags["promoted_by"], tags["previous_champion_version"]) == ("ada", "1")
    assert abs(datetime.now(UTC) - datetime.fromisoformat(tags["promoted_at"])).total_seconds() < 60
    output = capsys.readouterr().out
    assert output == f"promote: {NAME} v3 is now champion (was v1); the challenger alias is removed\n"


def test_promote_without_a_challenger_is_a_one_line_error(registry, capsys):
    registry.set_registered_model_alias(NAME, "champion", "1")

    with pytest.raises(SystemExit) as exit_:
        promote.main()

    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {NAME} has no challenger") and error.count("\n") == 1
    assert registry.get_registered_model(NAME).aliases == {"champion": 1}


def test_the_first_challenger_promoted_had_no_champion_before_it(registry, capsys):
    registry.set_registered_model_alias(NAME, "challenger", "2")

    promote.main()

    assert registry.get_registered_model(NAME).aliases == {"champion": 2}
    assert registry.get_model_version(NAME, "2").tags["previous_champion_version"] == "none"
    assert "(was none)" in capsys.readouterr().out
