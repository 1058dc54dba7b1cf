"""The fitted preprocessing that lives inside every logged model: raw rows in, numeric features out.

Geography carries much of the signal, so besides ratios and distances to the big coastal cities the
features include what the nearest *training* blocks sold for: the nearest on the map, and the most
similar (near on the map and alike in income, age and household size, the retrieval that TabR-style
models learn). Those neighbour features are fitted: for training rows they are computed out-of-fold
(a row never sees its own price), for any other row from all training blocks, the same cross-fitting
scheme as scikit-learn's TargetEncoder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

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

SIMILARITY_SCALES: dict[str, float] = {
    "north_km": 10.0,
    "east_km": 10.0,
    "log_median_income": 0.4,
    "housing_median_age": 12.0,
    "log_rooms_per_household": 0.3,
    "log_people_per_household": 0.3,
}
"""What counts as one unit of difference between two blocks when looking for similar ones: 10 km
apart weighs as much as a 50% higher income (0.4 in log), 12 years of age or a third more rooms per
household. Validation chose these over weighing geography up or down."""

RawColumns = pd.DataFrame | Mapping[str, np.ndarray]
"""Raw rows by column: a DataFrame, or (serving one row, where building a DataFrame costs more than
the model) a mapping of column name to array. Features only ever look columns up by name."""


def _points(raw: RawColumns) -> np.ndarray:
    """Latitude/longitude as approximate kilometres on a plane (good enough within California)."""
    latitude, longitude = np.asarray(raw["latitude"], dtype=float), np.asarray(raw["longitude"], dtype=float)
    return np.column_stack([latitude * KM_PER_DEGREE, longitude * KM_PER_DEGREE * _COS_MID_LATITUDE])


def _similarity_points(features: Mapping[str, np.ndarray]) -> np.ndarray:
    """Blocks as points of the similarity space, from their block features (see SIMILARITY_SCALES)."""
    north, east = _points(features).T
    coordinates = {
        "north_km": north,
        "east_km": east,
        "log_median_income": features["log_median_income"],
        "housing_median_age": features["housing_median_age"],
        "log_rooms_per_household": np.log(features["rooms_per_household"]),
        "log_people_per_household": np.log(features["people_per_household"]),
    }
    return np.column_stack([coordinates[name] / scale for name, scale in SIMILARITY_SCALES.items()])


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


QUERY_ROWS = 50_000
"""Rows whose neighbours are looked up and turned into features at once: bounds the lookup arrays
(rows by k) and their temporaries, whatever the size of the data."""

Lookup = tuple[np.ndarray, np.ndarray]
"""(distances, indices) of each row's nearest training blocks, nearest first."""


class HousingFeatures(TransformerMixin, BaseEstimator):
    """Raw HousingRow frame -> numeric feature matrix, with out-of-fold nearest-block price features.

    For each k in `neighbours` (the nearest blocks on the map): the mean price of the k nearest
    training blocks, and that mean re-scaled by the row's own income (neighbours' price per unit of
    income times this income), the spread (std) of their log prices, their mean housing age and the
    distance to the k-th of them; plus the neighbours' median income and the row's income relative to
    it. For each k in `similar` (the most similar blocks, SIMILARITY_SCALES): their mean price and the
    distance to the k-th of them.

    `reference_` profiles the raw training rows (housing.drift), so that whoever serves the
    model can measure how far its traffic has drifted from what it learned on.
    """

    def __init__(
        self,
        neighbours: tuple[int, ...] = (5, 25),
        folds: int = 5,
        random_state: int = 0,
        similar: tuple[int, ...] = (),
    ):
        self.neighbours = neighbours
        self.folds = folds
        self.random_state = random_state
        self.similar = similar

    def fit(self, raw: pd.DataFrame, y: pd.Series | np.ndarray) -> HousingFeatures:
        self.bedroom_ratio_ = float((raw["total_bedrooms"] / raw["total_rooms"]).median())
        self.points_ = _points(raw)
        self.similarity_points_ = _similarity_points(block_features(raw, self.bedroom_ratio_))
        self.prices_ = np.asarray(y, dtype=float)
        self.log_prices_ = np.log(self.prices_)
        self.incomes_ = raw["median_income"].to_numpy(dtype=float)
        self.price_per_income_ = self.prices_ / self.incomes_
        self.ages_ = raw["housing_median_age"].to_numpy(dtype=float)
        self.index_ = KDTree(self.points_)
        self.similarity_index_ = KDTree(self.similarity_points_) if self.similar else None
        self.reference_ = profile(raw, self.random_state)
        self.feature_names_out_ = np.array(list(self._features(raw.head(1))), dtype=object)
        return self

    def transform(self, raw: RawColumns) -> np.ndarray:
        rows = len(raw["latitude"])
        if rows <= QUERY_ROWS:
            return self._matrix(raw)
        out = np.empty((rows, len(self.feature_names_out_)))
        for start in range(0, rows, QUERY_ROWS):
            part = np.arange(start, min(start + QUERY_ROWS, rows))
            out[part] = self._matrix(_take(raw, part))
        return out

    def fit_transform(
        self, raw: pd.DataFrame, y: pd.Series | np.ndarray, groups: np.ndarray | None = None, **_: object
    ) -> np.ndarray:
        """Fit, then describe each training row by neighbours from the other folds only; rows of one
        group (copies of one block, `groups`) share a fold, so no row sees its own block's price."""
        self.fit(raw, y)
        out = np.empty((len(raw), len(self.feature_names_out_)))
        for fit_rows, query_rows in grouped_folds(len(raw), self.folds, self.random_state, groups):
            nearest = _FoldIndex(self.points_, fit_rows, max(self.neighbours))
            most_similar = _FoldIndex(self.similarity_points_, fit_rows, max(self.similar, default=0))
            for part in np.array_split(query_rows, -(-len(query_rows) // QUERY_ROWS)):
                out[part] = self._matrix(_take(raw, part), nearest.query(part), most_similar.query(part))
        return out

    def _matrix(self, raw: RawColumns, nearest: Lookup | None = None, most_similar: Lookup | None = None) -> np.ndarray:
        return np.column_stack(list(self._features(raw, nearest, most_similar).values()))

    def _features(
        self, raw: RawColumns, nearest: Lookup | None = None, most_similar: Lookup | None = None
    ) -> dict[str, np.ndarray]:
        """Every feature by name; the lookups are made among all training blocks unless given."""
        features = block_features(raw, self.bedroom_ratio_)
        distances, neighbours = nearest or self.index_.query(_points(raw), k=max(self.neighbours))
        income = features["median_income"]
        for k in self.neighbours:
            closest = neighbours[:, :k]
            features[f"neighbour_price_k{k}"] = self.prices_[closest].mean(axis=1)
            features[f"neighbour_price_for_income_k{k}"] = self.price_per_income_[closest].mean(axis=1) * income
            features[f"neighbour_log_price_std_k{k}"] = self.log_prices_[closest].std(axis=1)
            features[f"neighbour_age_k{k}"] = self.ages_[closest].mean(axis=1)
            features[f"km_to_neighbour_k{k}"] = distances[:, k - 1]
        neighbour_income = np.median(self.incomes_[neighbours], axis=1)
        features["neighbour_median_income"] = neighbour_income
        features["income_vs_neighbours"] = income / neighbour_income
        if self.similar:
            points = _similarity_points(features)
            if most_similar is None:
                if self.similarity_index_ is None:
                    raise ValueError("similar was set after fit: refit HousingFeatures")
                most_similar = self.similarity_index_.query(points, k=max(self.similar))
            distances, alike = most_similar
            for k in self.similar:
                features[f"similar_price_k{k}"] = self.prices_[alike[:, :k]].mean(axis=1)
                features[f"similar_distance_k{k}"] = distances[:, k - 1]
        return features

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.feature_names_out_


def grouped_folds(
    rows: int, folds: int, seed: int, groups: np.ndarray | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held-out rows) of each fold: KFold's shuffled folds of the groups (of the rows when
    there are none), so a group's rows are held out together. With one row per group, in row order,
    these are KFold's folds of the rows."""
    if groups is None:
        groups = np.arange(rows)
    unique, group_of_row = np.unique(groups, return_inverse=True)
    fold_of_group = np.empty(len(unique), dtype=int)
    for fold, (_, held) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(unique)):
        fold_of_group[held] = fold
    fold_of_row = fold_of_group[group_of_row]
    for fold in range(folds):
        yield np.flatnonzero(fold_of_row != fold), np.flatnonzero(fold_of_row == fold)


class _FoldIndex:
    """The nearest-neighbour index of one fold's fit rows, answering in indices of all rows."""

    def __init__(self, points: np.ndarray, fit_rows: np.ndarray, k: int):
        self.points, self.fit_rows, self.k = points, fit_rows, k
        self.tree = KDTree(points[fit_rows]) if k else None

    def query(self, rows: np.ndarray) -> Lookup | None:
        if self.tree is None:
            return None
        distances, indices = self.tree.query(self.points[rows], k=self.k)
        return distances, self.fit_rows[indices]


def _take(raw: RawColumns, rows: np.ndarray) -> RawColumns:
    if isinstance(raw, pd.DataFrame):
        return raw.iloc[rows]
    return {name: np.asarray(values)[rows] for name, values in raw.items()}


def preprocessing(neighbours: list[int], similar: list[int], folds: int, seed: int) -> Pipeline:
    """The unfitted preprocessing shared by every model family."""
    return Pipeline(
        [
            ("features", HousingFeatures(tuple(neighbours), folds, seed, tuple(similar))),
            ("scale", StandardScaler()),
        ]
    )
