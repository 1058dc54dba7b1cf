"""register: put the best candidate (by validation RMSE) in the MLflow registry; promote it if it wins.

    python -m stages.register --scores metrics --models models --splits data/processed \
        --golden golden --receipt reports/registered.json

The new version takes the `champion` alias only when it beats the current champion by
`register.min_improvement` in test RMSE on the test rows neither has seen (stages.gate); otherwise it
becomes the `challenger`. A champion this code cannot load cannot be scored or served, so the new
version takes its place. Each version records its lineage (stages.lineage) for the next comparison.
The receipt records what happened and on which rows, for DVC and for people.

Works from the DVC-tracked model folder, not from a run id: when DVC restored a train stage from its
run cache, that stage logged no run in this store, so the folder is logged here first. The model's
golden set from evaluate (housing.golden) joins its artifacts, so a server can prove its fast path.

A cancelled retrain (ops.retrain) interrupts this stage like any other until it starts writing to the
registry; from there it finishes (finish_even_if_cancelled), so no version is left without its alias.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import tempfile
from dataclasses import asdict
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from housing.golden import GOLDEN_FILE
from housing.names import CHALLENGER, CHAMPION, MODEL_FAMILY
from stages.atomic import write_json
from stages.errors import StageError, exits_cleanly
from stages.gate import Gate
from stages.lineage import record_lineage
from stages.params import CANDIDATES, EvaluateParams, MlflowParams, PreprocessParams, RegisterParams, load_params
from stages.saved_models import load_saved_model
from stages.selection import best_on_validation
from stages.tracking import configure_tracking, lineage_tags


def logged_model(client: MlflowClient, folder: Path, golden: Path) -> tuple[str, str]:
    """URI and run id of the logged model behind `folder`, its golden set added to its artifacts as
    GOLDEN_FILE; the folder is logged in a new run first if this store lacks it."""
    if not golden.is_file():
        raise StageError(f"{golden}: no golden set; run the evaluate stage first")
    model_id = Model.load(folder).model_id
    with tempfile.TemporaryDirectory(prefix="golden-") as scratch:
        named = Path(shutil.copyfile(golden, Path(scratch) / GOLDEN_FILE))
        source_run_id = logging_run(client, model_id)
        if model_id is None or source_run_id is None:
            with mlflow.start_run(run_name=f"restore {folder.name}", tags=lineage_tags()) as run:
                mlflow.log_artifacts(str(folder), artifact_path="model")
                mlflow.log_artifact(str(named), artifact_path="model")
            return f"runs:/{run.info.run_id}/model", run.info.run_id
        client.log_model_artifact(model_id, str(named))
    return f"models:/{model_id}", source_run_id


def logging_run(client: MlflowClient, model_id: str | None) -> str | None:
    """The id of the run that logged model `model_id` in this store; None when the store lacks it."""
    if model_id is None:
        return None
    try:
        return client.get_logged_model(model_id).source_run_id
    except MlflowException:
        return None


def evaluated(scores: Path) -> dict[str, dict]:
    """Every candidate's scores, as evaluate wrote them."""
    try:
        return {candidate: json.loads((scores / f"{candidate}.json").read_text()) for candidate in CANDIDATES}
    except FileNotFoundError as error:
        raise StageError(f"{error.filename}: no scores; run the evaluate stage first") from None


def finish_even_if_cancelled() -> None:
    """Ignore SIGINT and SIGTERM from here on: registering the version, giving it its alias and writing the
    receipt go together, or a cancel would leave a version without its alias, or one the receipt lacks."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--receipt", type=Path, required=True)
    args = parser.parse_args()
    params = load_params("register", RegisterParams)
    tracking = load_params("mlflow", MlflowParams)
    split = load_params("preprocess", PreprocessParams)
    evaluate = load_params("evaluate", EvaluateParams)
    seed = load_params("seed", int)

    evaluation = evaluated(args.scores)
    family = best_on_validation(evaluation)
    scores = evaluation[family]

    configure_tracking(tracking.experiment)
    client = MlflowClient()
    gate = Gate(client, params, args.splits, evaluate.bootstrap_resamples, seed)
    decision = gate.decide(load_saved_model(args.models, family))
    uri, run_id = logged_model(client, args.models / family, args.golden / f"{family}.parquet")
    tags = {
        **lineage_tags(),
        MODEL_FAMILY: family,
        **{name: str(value) for name, value in scores.items()},
        **record_lineage(client, run_id, args.splits, seed, split),
        **decision.tags(),
    }
    finish_even_if_cancelled()
    version = mlflow.register_model(uri, params.model_name, tags=tags)
    alias = CHAMPION if decision.promote else CHALLENGER
    client.set_registered_model_alias(params.model_name, alias, version.version)

    write_json(
        args.receipt,
        {
            "model_name": params.model_name,
            "version": int(version.version),
            "run_id": version.run_id,
            "source": version.source,
            MODEL_FAMILY: family,
            "metrics": scores,
            "promoted": decision.promote,
            "alias": alias,
            "comparison": asdict(decision),
        },
    )
    outcome = "promoted to champion" if decision.promote else "kept as challenger"
    print(
        f"register: {params.model_name} v{version.version} ({family}, test RMSE {scores['test_rmse']:.4f})"
        f" {outcome}: {decision.summary}"
    )


if __name__ == "__main__":
    main()
