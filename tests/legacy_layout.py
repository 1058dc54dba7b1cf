"""A champion registered by the former layout, where the model code lived in stages/: its skops file
names stages.* classes and it carries stages/ as its code. A forked child builds it with a small
stand-in of that package in place of the current stages/, so the classes have exactly the old paths."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import mlflow
import skops.io
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tests.conftest import in_forked_child
from tests.synthetic import housing_frame

LEGACY_FEATURES = '''
from sklearn.base import BaseEstimator, TransformerMixin


class HousingFeatures(TransformerMixin, BaseEstimator):
    """Raw rows in, two numeric columns out: the old feature step's place and name."""

    def fit(self, raw, y=None):
        return self

    def transform(self, raw):
        return raw[["median_income", "housing_median_age"]].to_numpy(dtype=float)
'''


def _register(store_uri: str, name: str, package: Path, artifacts: Path) -> int:
    """In the child: swap the current stages/ for the stand-in, then log and register as the pipeline did."""
    for module in [module for module in sys.modules if module == "stages" or module.startswith("stages.")]:
        del sys.modules[module]
    sys.path.insert(0, str(package.parent))
    from stages.features import HousingFeatures

    frame = housing_frame(100)
    pipeline = Pipeline([("features", HousingFeatures()), ("model", Ridge())])
    pipeline.fit(frame, frame["median_house_value"] / 1e5)
    mlflow.set_tracking_uri(store_uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("legacy", artifact_location=artifacts.as_uri()))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            code_paths=[str(package)],
            pip_requirements=[],
            skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)),
        )
    version = mlflow.register_model(info.model_uri, name)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version.version)
    return int(version.version)


def register_legacy_champion(store_uri: str, name: str, scratch: Path) -> int:
    """Register a former-layout model as `name`'s champion in `store_uri`; return its version."""
    package = scratch / "legacy" / "stages"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The former home of the model code."""\n')
    (package / "features.py").write_text(textwrap.dedent(LEGACY_FEATURES))
    return in_forked_child(_register, store_uri, name, package, scratch / "legacy-artifacts")
