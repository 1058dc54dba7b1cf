"""The promotion gate: does the new version beat the champion on test rows that neither has seen?

The new version never saw today's test split. The champion may have: when the seed, the split
fractions or the data changed since it was trained, today's test rows include blocks it trained or
was selected on, where it looks better than it is. So both are scored only on the test rows whose
blocks the champion's lineage (stages.lineage) does not list, with the paired bootstrap interval
evaluate uses. Fewer such rows than `register.min_rows`, or a champion that records no lineage: no
fair comparison, so no promotion on test RMSE (`make promote` remains, for a person who decides).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel  # mlflow.pyfunc is a LazyLoader to type checkers
from mlflow.tracking import MlflowClient

from housing.names import CHAMPION
from housing.scores import regression_scores, rmse_difference_intervals
from stages.lineage import block_keys, blocks_seen_by
from stages.params import RegisterParams
from stages.splits import load_split


@dataclass(frozen=True)
class Decision:
    """What the gate decided and on which rows; `summary` says it in one line."""

    promote: bool
    summary: str
    champion_version: int | None = None
    test_rows: int | None = None
    compared_rows: int | None = None
    champion_test_rmse: float | None = None
    new_test_rmse: float | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None

    def tags(self) -> dict[str, str]:
        """The decision as version tags (`gate.*`), for the registry and the dashboard."""
        return {f"gate.{name}": str(value) for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Gate:
    client: MlflowClient
    params: RegisterParams
    splits: Path
    resamples: int
    seed: int

    def decide(self, candidate: PyFuncModel) -> Decision:
        name = self.params.model_name
        try:
            version = int(self.client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException:
            return Decision(promote=True, summary="no champion yet")
        try:
            champion = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        except Exception as error:  # whatever stops this code loading it stops the server too
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            summary = f"the current champion v{version} cannot be loaded by this code, so it is replaced ({reason})"
            return Decision(promote=True, summary=summary, champion_version=version)
        seen = blocks_seen_by(self.client.get_model_version(name, str(version)))
        if seen is None:
            summary = f"champion v{version} records no lineage, so no test rows are known to be unseen by it"
            return Decision(promote=False, summary=f"{summary}: not compared on test RMSE", champion_version=version)
        return self.compare(candidate, champion, version, seen)

    def compare(self, candidate: PyFuncModel, champion: PyFuncModel, version: int, seen: np.ndarray) -> Decision:
        X_test, y_test = load_split(self.splits, "test")
        unseen = ~np.isin(block_keys(self.splits, "test"), seen)
        counts = Decision(
            promote=False, summary="", champion_version=version, test_rows=len(y_test), compared_rows=int(unseen.sum())
        )
        where = f"{counts.compared_rows} of {counts.test_rows} test rows unseen by champion v{version}"
        if unseen.sum() < self.params.min_rows:
            summary = f"only {where} (register.min_rows is {self.params.min_rows}): not compared on test RMSE"
            return replace(counts, summary=summary)
        actual = y_test[unseen]
        predicted = {
            "new": np.asarray(candidate.predict(X_test[unseen])).ravel(),
            "champion": np.asarray(champion.predict(X_test[unseen])).ravel(),
        }
        interval = rmse_difference_intervals(actual, predicted, "champion", self.resamples, self.seed)["new"]
        new, old = (regression_scores(actual, predicted[model])["rmse"] for model in ("new", "champion"))
        summary = (
            f"on {where}: test RMSE {new:.4f} against {old:.4f},"
            f" {interval['difference']:+.4f} [{interval['low']:+.4f}, {interval['high']:+.4f}]"
            f"{' (noise at this size)' if interval['noise'] else ''}"
        )
        return replace(
            counts,
            promote=interval["difference"] < -self.params.min_improvement,
            summary=summary,
            champion_test_rmse=old,
            new_test_rmse=new,
            difference=interval["difference"],
            low=interval["low"],
            high=interval["high"],
        )
