"""register: put the best candidate (by validation RMSE) in the MLflow registry; promote it if it wins.

    python -m stages.register --scores metrics --models models --splits data/processed \
        --golden golden --receipt reports/registered.json

The new version takes the `champion` alias only when its test RMSE beats the current champion's,
scored now on the current test split, by `register.min_improvement`; otherwise it becomes the
`challenger`. A champion this code cannot load (one trained by an older layout of the model code)
cannot be scored or served, so the new version takes its place. The receipt records what happened,
for DVC and for people.

Works from the DVC-tracked model folder, not from a run id: when DVC restored a train stage from its
run cache, that stage logged no run in this store, so the folder is logged here first. The model's
golden set from evaluate (housing.golden) joins its artifacts, so a server can prove its fast path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from housing.golden import GOLDEN_FILE
from housing.registry import CHALLENGER, CHAMPION
from housing.scores import regression_scores
from stages.atomic import write_json
from stages.errors import StageError, exits_cleanly
from stages.params import CANDIDATES, MlflowParams, RegisterParams, load_params
from stages.selection import best_on_validation
from stages.splits import load_split
from stages.tracking import configure_tracking, lineage_tags


def logged_model_uri(client: MlflowClient, folder: Path, golden: Path) -> str:
    """URI of the logged model behind `folder`, its golden set added to its artifacts as GOLDEN_FILE;
    the folder is logged in a new run first if this store lacks it."""
    if not golden.is_file():
        raise StageError(f"{golden}: no golden set; run the evaluate stage first")
    model_id = Model.load(folder).model_id
    with tempfile.TemporaryDirectory(prefix="golden-") as scratch:
        named = Path(shutil.copyfile(golden, Path(scratch) / GOLDEN_FILE))
        try:
            client.get_logged_model(model_id)
        except MlflowException:
            with mlflow.start_run(run_name=f"restore {folder.name}", tags=lineage_tags()) as run:
                mlflow.log_artifacts(str(folder), artifact_path="model")
                mlflow.log_artifact(str(named), artifact_path="model")
            return f"runs:/{run.info.run_id}/model"
        client.log_model_artifact(model_id, str(named))
    return f"models:/{model_id}"


def champion_test_rmse(client: MlflowClient, name: str, splits: Path) -> float | None:
    """Test RMSE of the current champion on today's test split; None when there is none it can score."""
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    X_test, y_test = load_split(splits, "test")
    try:
        predicted = np.asarray(mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}").predict(X_test)).ravel()
    except Exception as error:  # e.g. trained by an older layout of the model code: it cannot be served either
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        print(f"register: the current champion cannot be loaded by this code, so it is replaced ({reason})")
        return None
    return regression_scores(y_test, predicted)["rmse"]


def evaluated(scores: Path) -> dict[str, dict]:
    """Every candidate's scores, as evaluate wrote them."""
    try:
        return {candidate: json.loads((scores / f"{candidate}.json").read_text()) for candidate in CANDIDATES}
    except FileNotFoundError as error:
        raise StageError(f"{error.filename}: no scores; run the evaluate stage first") from None


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--receipt", type=Path, required=True)
    args = parser.parse_args()
    params: RegisterParams = load_params("register")
    tracking: MlflowParams = load_params("mlflow")

    evaluation = evaluated(args.scores)
    family = best_on_validation(evaluation)
    scores = evaluation[family]

    configure_tracking(tracking.experiment)
    client = MlflowClient()
    previous_rmse = champion_test_rmse(client, params.model_name, args.splits)
    promote = previous_rmse is None or scores["test_rmse"] < previous_rmse - params.min_improvement
    tags = {
        **lineage_tags(),
        "model_family": family,
        **{name: str(value) for name, value in scores.items()},
    }
    logged = logged_model_uri(client, args.models / family, args.golden / f"{family}.parquet")
    version = mlflow.register_model(logged, params.model_name, tags=tags)
    alias = CHAMPION if promote else CHALLENGER
    client.set_registered_model_alias(params.model_name, alias, version.version)

    write_json(
        args.receipt,
        {
            "model_name": params.model_name,
            "version": int(version.version),
            "run_id": version.run_id,
            "source": version.source,
            "model_family": family,
            "metrics": scores,
            "previous_champion_test_rmse": previous_rmse,
            "promoted": promote,
            "alias": alias,
        },
    )
    outcome = "promoted to champion" if promote else f"kept as challenger (champion test RMSE {previous_rmse})"
    print(f"register: {params.model_name} v{version.version} ({family}, test RMSE {scores['test_rmse']:.4f}) {outcome}")


if __name__ == "__main__":
    main()
