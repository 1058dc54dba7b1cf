"""The fitted preprocessing that lives inside every logged model: raw rows in, numeric features out.

Geography carries much of the signal, so besides ratios and distances to the big coastal cities the
features include what the nearest *training* blocks sold for. Those neighbour features are fitted:
for training rows they are computed out-of-fold (a row never sees its own price), for any other row
from all training blocks, the same cross-fitting scheme as scikit-learn's TargetEncoder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold
from sklearn.neighbors import KDTree
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from housing.drift import profile
from housing.schema import NUMERIC_COLUMNS, OCEAN_CLASSES

COASTAL_CITIES: dict[str, tuple[float, float]] = {
    "los_angeles": (34.05, -118.24),
    "san_francisco": (37.77, -122.42),
    "san_diego": (32.72, -117.16),
    "san_jose": (37.34, -121.89),
    "sacramento": (38.58, -121.49),
}
KM_PER_DEGREE = 111.2
_COS_MID_LATITUDE = np.cos(np.radians(36.0))

RawColumns = pd.DataFrame | Mapping[str, np.ndarray]
"""Raw rows by column: a DataFrame, or (serving one row, where building a DataFrame costs more than
the model) a mapping of column name to array. Features only ever look columns up by name."""


def _points(raw: RawColumns) -> np.ndarray:
    """Latitude/longitude as approximate kilometres on a plane (good enough within California)."""
    latitude, longitude = np.asarray(raw["latitude"], dtype=float), np.asarray(raw["longitude"], dtype=float)
    return np.column_stack([latitude * KM_PER_DEGREE, longitude * KM_PER_DEGREE * _COS_MID_LATITUDE])


def _slug(label: str) -> str:
    """A category as a feature-name-safe word: "<1H OCEAN" -> "1h_ocean"."""
    return re.sub(r"\W+", "_", label.lower()).strip("_")


def block_features(raw: RawColumns, bedroom_ratio: float) -> dict[str, np.ndarray]:
    """Features computed from one row alone: imputation, ratios, logs, rotations, city distances.

    Plain numpy on the columns: serving transforms one row per request, where pandas' per-column
    overhead would cost more than the trees.
    """
    column = {name: np.asarray(raw[name], dtype=float) for name in NUMERIC_COLUMNS}
    rooms, households = column["total_rooms"], column["households"]
    latitude, longitude = column["latitude"], column["longitude"]
    bedrooms = np.where(np.isnan(column["total_bedrooms"]), rooms * bedroom_ratio, column["total_bedrooms"])
    out = {**column, "total_bedrooms": bedrooms}
    out["rooms_per_household"] = rooms / households
    out["bedrooms_per_room"] = bedrooms / rooms
    out["people_per_household"] = column["population"] / households
    for name in ("total_rooms", "population", "households", "median_income"):
        out[f"log_{name}"] = np.log(column[name])
    out["latitude_plus_longitude"] = latitude + longitude
    out["latitude_minus_longitude"] = latitude - longitude
    for city, (lat, lon) in COASTAL_CITIES.items():
        north = (latitude - lat) * KM_PER_DEGREE
        east = (longitude - lon) * KM_PER_DEGREE * np.cos(np.radians(lat))
        out[f"km_to_{city}"] = np.hypot(north, east)
    ocean = np.asarray(raw["ocean_proximity"], dtype=object)
    for ocean_class in OCEAN_CLASSES:
        out[f"ocean_{_slug(ocean_class)}"] = (ocean == ocean_class).astype(float)
    return out


class HousingFeatures(TransformerMixin, BaseEstimator):
    """Raw HousingRow frame -> numeric feature matrix, with out-of-fold nearest-block price features.

    For each k in `neighbours`: the mean price of the k nearest training blocks, and that mean
    re-scaled by the row's own income (neighbours' price per unit of income times this income), the
    spread (std) of their log prices, their mean housing age and the distance to the k-th of them;
    plus the neighbours' median income and the row's income relative to it.

    `reference_` profiles the raw training rows (housing.drift), so that whoever serves the
    model can measure how far its traffic has drifted from what it learned on.
    """

    def __init__(self, neighbours: tuple[int, ...] = (5, 25), folds: int = 5, random_state: int = 0):
        self.neighbours = neighbours
        self.folds = folds
        self.random_state = random_state

    def fit(self, raw: pd.DataFrame, y: pd.Series | np.ndarray) -> HousingFeatures:
        self.bedroom_ratio_ = float((raw["total_bedrooms"] / raw["total_rooms"]).median())
        self.points_ = _points(raw)
        self.prices_ = np.asarray(y, dtype=float)
        self.log_prices_ = np.log(self.prices_)
        self.incomes_ = raw["median_income"].to_numpy(dtype=float)
        self.price_per_income_ = self.prices_ / self.incomes_
        self.ages_ = raw["housing_median_age"].to_numpy(dtype=float)
        self.index_ = KDTree(self.points_)
        self.reference_ = profile(raw, self.random_state)
        self.feature_names_out_ = np.array(list(self._features(raw.head(1))), dtype=object)
        return self

    def transform(self, raw: RawColumns) -> np.ndarray:
        return np.column_stack(list(self._features(raw).values()))

    def fit_transform(self, raw: pd.DataFrame, y: pd.Series | np.ndarray, **_: object) -> np.ndarray:
        """Fit, then describe each training row by neighbours from the other folds only."""
        self.fit(raw, y)
        neighbours = np.empty((len(raw), max(self.neighbours)), dtype=int)
        distances = np.empty((len(raw), max(self.neighbours)))
        points = self.points_
        folds = KFold(self.folds, shuffle=True, random_state=self.random_state)
        for fit_rows, query_rows in folds.split(points):
            km, found = KDTree(points[fit_rows]).query(points[query_rows], k=max(self.neighbours))
            neighbours[query_rows], distances[query_rows] = fit_rows[found], km
        return np.column_stack(list(self._features(raw, (distances, neighbours)).values()))

    def _features(self, raw: RawColumns, found: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Every feature by name; (distances, neighbours) are looked up among all training blocks unless given."""
        distances, neighbours = self.index_.query(_points(raw), k=max(self.neighbours)) if found is None else found
        features = block_features(raw, self.bedroom_ratio_)
        income = features["median_income"]
        for k in self.neighbours:
            nearest = neighbours[:, :k]
            features[f"neighbour_price_k{k}"] = self.prices_[nearest].mean(axis=1)
            features[f"neighbour_price_for_income_k{k}"] = self.price_per_income_[nearest].mean(axis=1) * income
            features[f"neighbour_log_price_std_k{k}"] = self.log_prices_[nearest].std(axis=1)
            features[f"neighbour_age_k{k}"] = self.ages_[nearest].mean(axis=1)
            features[f"km_to_neighbour_k{k}"] = distances[:, k - 1]
        neighbour_income = np.median(self.incomes_[neighbours], axis=1)
        features["neighbour_median_income"] = neighbour_income
        features["income_vs_neighbours"] = income / neighbour_income
        return features

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.feature_names_out_


def preprocessing(neighbours: list[int], folds: int, seed: int) -> Pipeline:
    """The unfitted preprocessing shared by every model family."""
    return Pipeline(
        [
            ("features", HousingFeatures(tuple(neighbours), folds, seed)),
            ("scale", StandardScaler()),
        ]
    )
