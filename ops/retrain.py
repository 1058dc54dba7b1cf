"""retrain: decide from the evidence whether to retrain, retrain through DVC if so, and record why.

    python -m ops.retrain [--dry-run] [--force] [--preset {default,quick,gpu}] [--set KEY=VALUE ...]
                                                            (make retrain; POST /admin/retrain)

The evidence, each against its threshold in params.yaml (`retrain`):
- new data: rows ingested since the last training (data/raw against reports/preprocess.json);
- drift of each new batch (reports/drift.json, refreshed with `dvc repro drift`) and of the latest
  served inputs (the prediction log) against the champion's own training profile;
- the champion's live RMSE over the latest feedback (the prediction log);
- the time since the last model was registered (the MLflow registry).
Any one reached means retrain: `dvc repro`, whose register stage makes the new model champion only
if it beats the current one (otherwise challenger). The decision, its evidence and the outcome go to
reports/retrain/<time>.json and status.json; a lock keeps two runs (make, API, schedule) apart
(serve.retrain_lock is the contract with POST /admin/retrain).

Presets and overrides: `--preset` names a set of params (ops.presets.RETRAIN_PRESETS; `default` is
params.yaml as it stands) and each `--set train.mlp.epochs=50` one param, its value in YAML as
`dvc exp run -S` takes it. They are checked first, before the lock and before DVC: written into
params.yaml's content, each section they touch validated by the model its stage loads it with. An
unknown param or a refused value exits with status BAD_PARAMS and a PARAM_PROBLEM line for each
(serve.retrain_lock). A retrain with any of them is a DVC experiment in the workspace, `dvc exp run
-S ...` named retrain-<time> (`dvc exp show` lists it), rather than `dvc repro`; and as after any
`dvc exp run`, params.yaml then holds them, uncommitted, beside the results they gave: the next
retrain starts from them, and `git checkout params.yaml` goes back. A retrain that does not finish
(it fails or is cancelled) puts params.yaml back as it found it. The record names the preset, the
overrides and the experiment; the experiment's MLflow runs and registered version carry them as the
tags retrain.preset and retrain.overrides (found by the dvc.exp_name tag stages.tracking gives them).

Progress: while DVC runs, status.json names the stage it is running (current_stage) and, for the
retrain's own run, the stages done and skipped so far (stages: ran, skipped).

Cancel: SIGTERM or SIGINT (POST /admin/retrain/cancel sends SIGTERM) stops DVC, which runs in a
process group of its own (the stage it runs is in it): SIGINT first, so that DVC fails the stage and
releases its locks itself, then SIGKILL to whatever is left after CANCEL_GRACE_S. The record says
state "cancelled", with the stages done and the one interrupted (interrupted_stage). The register
stage shields its registration (stages.register): once it starts writing to the registry it
finishes, so a cancel never leaves a version without its alias; a cancel that comes that late lets
the retrain finish, and the record says so (cancel_too_late).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess  # nosec B404  # runs dvc with this program's own arguments, no shell
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from housing.drift import DriftThresholds
from housing.names import CHAMPION
from ops.presets import RETRAIN_PRESETS, InvalidParams, checked, parse_setting, set_flags
from serve import prediction_log
from serve.drift import served_traffic_drift, training_profile
from serve.retrain_lock import BAD_PARAMS, LOCK, RECORDS, STATUS, RetrainRunning, hold, param_problem
from serve.settings import Settings
from serve.watcher import IncompatibleModel, load_pipeline
from stages.atomic import write_json, write_text
from stages.drift_report import render_report
from stages.errors import StageError, exits_cleanly
from stages.params import PARAMS_FILE, MlflowParams, RegisterParams, RetrainParams, load_params
from stages.tracking import RETRAIN_REASON_ENV, configure_tracking

STAGE_LINE = re.compile(r"Running stage '(?P<ran>[^']+)':|Stage '(?P<skipped>[^']+)' didn't change, skipping")
"""How `dvc repro` says it ran a stage, or skipped one whose dependencies did not change."""
RAW, DRIFT, PREPROCESS, RECEIPT = (
    Path("data/raw/housing.csv"),
    Path("reports/drift.json"),
    Path("reports/preprocess.json"),
    Path("reports/registered.json"),
)


CANCEL_GRACE_S = 30
"""How long DVC's process group has after SIGINT to stop on its own before it is killed."""
PRESET_TAG, OVERRIDES_TAG = "retrain.preset", "retrain.overrides"
Stages = dict[str, list[str]]
"""The stages a DVC run ran (to the end) and those it skipped: {"ran": [...], "skipped": [...]}."""


class Cancelled(Exception):
    """The retrain was cancelled while DVC ran stage `interrupted` (None: between DVC runs)."""

    def __init__(self, interrupted: str | None):
        super().__init__(f"cancelled during {interrupted or 'the decision'}")
        self.interrupted = interrupted


class Cancellation:
    """A cancel (SIGTERM or SIGINT to this command), and the DVC process group it stops.

    The signal handler only sends signals: the DVC run then ends, and the code that waited on it raises
    Cancelled, so nothing is interrupted halfway but DVC, which is built to be.
    """

    def __init__(self) -> None:
        self.signal: str | None = None
        self.group: int | None = None

    def listen(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self.request)

    def request(self, number: int, _frame: object) -> None:
        if self.signal is None:
            self.signal = signal.Signals(number).name
            self.interrupt()

    @contextmanager
    def watching(self, group: int) -> Iterator[None]:
        """DVC's process group, while it runs: a cancel interrupts it (one that came before, at once)."""
        self.group = group
        self.interrupt()
        try:
            yield
        finally:
            self.group = None

    def interrupt(self) -> None:
        """SIGINT to the watched group once cancelled, and SIGKILL to what is left of it CANCEL_GRACE_S later."""
        group = self.group
        if self.signal is None or group is None:
            return
        self.group = None
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGINT)
        killer = threading.Timer(CANCEL_GRACE_S, kill_group, args=(group,))
        killer.daemon = True  # nothing to wait for once DVC has stopped
        killer.start()

    def check(self) -> None:
        """Raise Cancelled if a cancel came: between DVC runs, where the decision is made."""
        if self.signal is not None:
            raise Cancelled(None)


def kill_group(group: int) -> None:
    with suppress(ProcessLookupError):  # the group is gone
        os.killpg(group, signal.SIGKILL)


def dvc(
    cancellation: Cancellation,
    *args: str,
    env: dict[str, str] | None = None,
    progress: Callable[[Stages, str | None], None] = lambda stages, current: None,
) -> Stages:
    """Run a DVC command in a process group of its own, its output passed through; the stages it ran and
    those it skipped, as it says, each told to `progress` with the stage running now as it starts.

    A failure is a StageError naming the command; a cancel, Cancelled naming the stage it interrupted.
    """
    cancellation.check()
    stages: Stages = {"ran": [], "skipped": []}
    current: str | None = None
    process = subprocess.Popen(  # nosec B603 B607  # dvc from PATH, its own subcommands, no shell
        ["dvc", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    with process, cancellation.watching(process.pid):
        for line in process.stdout or ():
            print(line, end="", flush=True)
            if found := STAGE_LINE.match(line):
                if current:
                    stages["ran"].append(current)
                current = found["ran"]
                if found["skipped"]:
                    stages["skipped"].append(found["skipped"])
                progress(stages, current)
    if cancellation.signal is not None:
        kill_group(process.pid)  # anything the interrupted stage left behind
        if process.returncode != 0:
            raise Cancelled(current)
    if process.returncode != 0:
        raise StageError(f"`dvc {' '.join(args)}` failed (its own message is above); nothing was retrained")
    stages["ran"] += [current] if current else []
    return stages


@dataclass
class Evidence:
    """What was measured, and the reasons to retrain: the checks whose threshold was reached."""

    figures: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def check(self, reached: bool, reason: str) -> None:
        if reached:
            self.reasons.append(reason)


def new_data(evidence: Evidence, params: RetrainParams) -> None:
    """Rows ingested since the last training, and the drift of the batches they came in."""
    trained_on = json.loads(PREPROCESS.read_text())["rows_in"] if PREPROCESS.exists() else 0
    new_rows = len(pd.read_csv(RAW, usecols=["longitude"])) - trained_on
    batches = json.loads(DRIFT.read_text())
    new_batches = {name: batch["drifted"] for name, batch in batches.items() if batch["first_row"] >= trained_on}
    evidence.figures.update(new_rows=new_rows, new_batch_drift=new_batches)
    evidence.check(new_rows >= params.min_new_rows, f"{new_rows} new rows (threshold {params.min_new_rows})")
    for name, drifted in new_batches.items():
        evidence.check(len(drifted) >= params.drifted_features, f"batch {name} drifted in {', '.join(drifted)}")


def model_age(evidence: Evidence, client: MlflowClient, name: str, params: RetrainParams) -> None:
    """Days since the newest registered version, champion or not: the last time the pipeline trained."""
    newest = client.search_model_versions(f"name = '{name}'", max_results=1, order_by=["creation_timestamp DESC"])
    if not newest:
        evidence.check(True, f"no version of {name} is registered")
        return
    days = (time.time() - newest[0].creation_timestamp / 1000) / 86400
    evidence.figures["days_since_training"] = round(days, 2)
    evidence.check(days > params.max_age_days, f"last trained {days:.1f} days ago")


def served_traffic(evidence: Evidence, champion: ModelVersion, pipeline: Pipeline, params: RetrainParams, log: str):
    """Drift of the latest served inputs from the champion's training data, and the champion's live error."""
    thresholds = load_params("drift", DriftThresholds)
    reference = training_profile(pipeline)
    served = reference and served_traffic_drift(reference, log, params.served_window, thresholds)
    if served:
        intro = f"The latest {served['rows']} served rows against the training data of version {champion.version}."
        page = render_report("Served traffic", intro, {"served": served}, thresholds)
        write_text(RECORDS / "served_drift.html", page)
        evidence.figures.update(served_rows=served["rows"], served_drift=served["drifted"])
        reached = served["drifted_count"] >= params.drifted_features
        evidence.check(reached, f"served traffic drifted in {', '.join(served['drifted'])}")
    for live in prediction_log.live_errors(log, Settings().live_window):
        if live.model_version == int(champion.version) and live.role != "shadow" and live.count:
            evidence.figures.update(live_rmse_dollars=round(live.rmse, 2), live_feedback=live.count)
            reached = live.count >= params.min_feedback and live.rmse > params.max_live_rmse_dollars
            evidence.check(reached, f"live RMSE ${live.rmse:,.0f} over {live.count} reports")


def gather(params: RetrainParams, model_name: str, log: str) -> Evidence:
    """Every check whose inputs exist: new data always, the champion's traffic once it has served some."""
    evidence = Evidence()
    new_data(evidence, params)
    client = MlflowClient()
    model_age(evidence, client, model_name, params)
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        evidence.check(True, f"{model_name} has no champion")
        return evidence
    evidence.figures["champion"] = int(champion.version)
    try:
        model, _ = load_pipeline(client, model_name, int(champion.version))
    except IncompatibleModel as error:  # it can be neither served nor measured: retraining replaces it
        evidence.check(True, str(error))
        return evidence
    if prediction_log.exists(log):
        served_traffic(evidence, champion, model.get_raw_model(), params, log)
    return evidence


@dataclass
class Plan:
    """How to retrain: the preset, the overrides given with it, and the params the two set (checked)."""

    preset: str
    overrides: dict[str, Any]

    @property
    def values(self) -> dict[str, Any]:
        return {**RETRAIN_PRESETS[self.preset], **self.overrides}


def checked_plan(args: argparse.Namespace) -> Plan:
    """The preset and --set overrides, checked against params.yaml; on a problem, exit with BAD_PARAMS."""
    try:
        plan = Plan(args.preset, dict(parse_setting(text) for text in args.set))
        checked(plan.values, yaml.safe_load(PARAMS_FILE.read_text()))
    except InvalidParams as error:
        for name, problem in error.problems.items():
            print(param_problem(name, problem), file=sys.stderr)
        sys.exit(BAD_PARAMS)
    except (OSError, yaml.YAMLError) as error:
        raise StageError(f"{PARAMS_FILE}: cannot read params ({error})") from None
    return plan


class Progress:
    """status.json kept up to date while DVC runs: the stage it runs now and the retrain's stages so far."""

    def __init__(self, record: dict[str, Any]):
        self.record = record

    def write(self) -> None:
        write_json(STATUS, {"state": "running", **self.record})

    def refreshing(self, stages: Stages, current: str | None) -> None:
        self.record["current_stage"] = current
        self.write()

    def retraining(self, stages: Stages, current: str | None) -> None:
        self.record["stages"] = stages
        self.refreshing(stages, current)


def retrain_with(plan: Plan, record: dict[str, Any], cancellation: Cancellation, reason: str) -> Stages:
    """`dvc repro`, or with a preset or overrides, `dvc exp run -S ...` as a named experiment whose runs are
    tagged with them; params.yaml is put back as it was when the experiment does not finish."""
    env = {RETRAIN_REASON_ENV: reason}
    progress = Progress(record).retraining
    if not plan.values:
        return dvc(cancellation, "repro", env=env, progress=progress)
    experiment = record["experiment"] = f"retrain-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    params_before = PARAMS_FILE.read_text()
    try:
        return dvc(
            cancellation, "exp", "run", "--name", experiment, *set_flags(plan.values), env=env, progress=progress
        )
    except Exception:
        write_text(PARAMS_FILE, params_before)
        record["params_restored"] = True
        raise
    finally:
        tag_experiment(experiment, {PRESET_TAG: plan.preset, OVERRIDES_TAG: json.dumps(plan.overrides)})


def tag_experiment(experiment: str, tags: dict[str, str]) -> None:
    """Tag the MLflow runs and registered versions of DVC experiment `experiment`: each carries its name
    as dvc.exp_name (stages.tracking), the tag DVC's environment gives every run it starts."""
    client = MlflowClient()
    joined = f"tags.`dvc.exp_name` = '{experiment}'"
    experiments = [found.experiment_id for found in client.search_experiments()]
    for run in client.search_runs(experiments, joined):
        for key, value in tags.items():
            client.set_tag(run.info.run_id, key, value)
    for version in client.search_model_versions(joined):
        for key, value in tags.items():
            client.set_model_version_tag(version.name, version.version, key, value)


def decide_and_retrain(args: argparse.Namespace, plan: Plan, record: dict[str, Any], cancel: Cancellation) -> None:
    """Refresh the drift figures, gather the evidence, and retrain when it says so (or when forced)."""
    params = load_params("retrain", RetrainParams)
    register = load_params("register", RegisterParams)
    tracking = load_params("mlflow", MlflowParams)
    dvc(cancel, "repro", "drift", progress=Progress(record).refreshing)
    configure_tracking(tracking.experiment)
    evidence = gather(params, register.model_name, Settings().prediction_db)
    retrain = args.force or bool(evidence.reasons)
    record.update(evidence=evidence.figures, reasons=evidence.reasons, retrain=retrain, dry_run=args.dry_run)
    why = "; ".join(evidence.reasons) or ("forced" if args.force else "no threshold reached")
    print(f"retrain: {'retraining' if retrain else 'no retraining'}: {why}")
    cancel.check()
    if retrain and not args.dry_run:
        record["stages"] = retrain_with(plan, record, cancel, why)
        record["outcome"] = json.loads(RECEIPT.read_text())


def finish(record: dict[str, Any], cancellation: Cancellation, error: BaseException | None, started: datetime) -> str:
    """The run's final state, with what the record says of how it ended."""
    record.pop("current_stage", None)
    if isinstance(error, Cancelled):  # the stages done are those progress recorded
        record.update(interrupted_stage=error.interrupted, cancelled_by=cancellation.signal)
        if RECEIPT.exists() and RECEIPT.stat().st_mtime > started.timestamp():
            # the cancel stopped DVC between the register stage's end and its own: the version stands
            record["outcome"] = json.loads(RECEIPT.read_text())
            record["cancel_too_late"] = "the register stage had registered the new version"
        return "cancelled"
    if error is not None:
        record["error"] = str(error) if isinstance(error, StageError) else f"{type(error).__name__}: {error}"
        return "failed"
    if cancellation.signal is not None:  # the register stage was registering: it finished (stages.register)
        record["cancel_too_late"] = "it came once the new version was being registered: the retrain finished"
    return "finished"


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="decide and record, but do not retrain")
    parser.add_argument("--force", action="store_true", help="retrain whatever the evidence says")
    parser.add_argument("--preset", choices=list(RETRAIN_PRESETS), default="default", help="ops/presets.py")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a param, as `dvc exp run -S` takes it"
    )
    args = parser.parse_args()
    plan = checked_plan(args)
    cancellation = Cancellation()
    cancellation.listen()
    try:
        with hold(LOCK):
            started = datetime.now(UTC)
            record: dict[str, Any] = {
                "started_at": started.isoformat(timespec="seconds"),
                "pid": os.getpid(),
                "preset": plan.preset,
                "overrides": plan.overrides,
            }
            Progress(record).write()
            error: BaseException | None = None
            try:
                decide_and_retrain(args, plan, record, cancellation)
            except Exception as failure:
                error = failure
                raise
            finally:
                state = finish(record, cancellation, error, started)
                record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                write_json(RECORDS / f"{started:%Y%m%dT%H%M%SZ}.json", record)
                write_json(STATUS, {"state": state, **record})
    except RetrainRunning as error:
        raise StageError(str(error)) from None
    except Cancelled as cancelled:
        raise StageError(f"retrain {cancelled} ({cancellation.signal})") from None


if __name__ == "__main__":
    main()
