"""The fitted preprocessing: out-of-fold neighbour prices, safe feature names, no NaN, determinism."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from housing import features as features_module
from housing.features import HousingFeatures, grouped_folds, preprocessing
from housing.schema import RAW_COLUMNS, TARGET
from tests.support.synthetic import housing_frame

NEIGHBOURS = (3, 8)
FOLDS = 3
HUGE_PRICE = 1e9
ROW = 17


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return housing_frame(200, seed=0)


def features_and_price(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return frame[RAW_COLUMNS], frame[TARGET].to_numpy(dtype=float, copy=True)


def neighbour_columns(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if column.startswith("neighbour_price")]


def named_features(neighbours: tuple[int, ...], random_state: int) -> HousingFeatures:
    """The transformer with named (pandas) output, so tests can address features by name."""
    return HousingFeatures(neighbours, FOLDS, random_state).set_output(transform="pandas")


def fitted_pipeline(train: pd.DataFrame, seed: int = 0):
    raw, price = features_and_price(train)
    pipeline = preprocessing(list(NEIGHBOURS), [], FOLDS, seed).set_output(transform="pandas")
    return pipeline, pipeline.fit_transform(raw, price)


def test_training_row_never_sees_its_own_price(train):
    raw, price = features_and_price(train)
    price[ROW] = HUGE_PRICE
    transformer = named_features(NEIGHBOURS, random_state=0)

    out_of_fold = transformer.fit_transform(raw, price)
    in_sample = transformer.transform(raw.iloc[[ROW]])

    for k in NEIGHBOURS:
        assert out_of_fold.loc[ROW, f"neighbour_price_k{k}"] <= train[TARGET].max()
        assert in_sample[f"neighbour_price_k{k}"].iloc[0] >= HUGE_PRICE / k


def test_other_training_rows_do_see_that_price(train):
    raw, price = features_and_price(train)
    price[ROW] = HUGE_PRICE

    out_of_fold = named_features(NEIGHBOURS, random_state=0).fit_transform(raw, price)

    assert (out_of_fold.drop(index=ROW)[f"neighbour_price_k{max(NEIGHBOURS)}"] >= HUGE_PRICE / max(NEIGHBOURS)).any()


@pytest.mark.parametrize("row", [0, ROW, 199])
def test_own_price_does_not_change_own_out_of_fold_features(train, row):
    raw, price = features_and_price(train)
    changed = price.copy()
    changed[row] *= 3

    before = named_features(NEIGHBOURS, random_state=0).fit_transform(raw, price)
    after = named_features(NEIGHBOURS, random_state=0).fit_transform(raw, changed)

    columns = neighbour_columns(before)
    assert len(columns) == 2 * len(NEIGHBOURS)
    pd.testing.assert_series_equal(before.loc[row, columns], after.loc[row, columns])


def test_out_of_fold_price_is_a_mean_of_other_training_prices(train):
    raw, price = features_and_price(train)

    out_of_fold = named_features((1,), random_state=0).fit_transform(raw, price)

    nearest_price = out_of_fold["neighbour_price_k1"].to_numpy()
    assert np.isin(nearest_price, price).all()
    assert (nearest_price != price).all()


def test_transform_of_unseen_rows_without_bedrooms_has_no_nan(train):
    raw, price = features_and_price(train)
    transformer = named_features(NEIGHBOURS, random_state=0).fit(raw, price)
    unseen = housing_frame(30, seed=5)[RAW_COLUMNS].assign(total_bedrooms=np.nan)

    out = transformer.transform(unseen)

    assert len(out) == 30
    assert np.isfinite(out.to_numpy()).all()
    expected_bedrooms = unseen["total_rooms"] * transformer.bedroom_ratio_
    pd.testing.assert_series_equal(out["total_bedrooms"], expected_bedrooms, check_names=False)


def test_pipeline_transform_of_unseen_rows_is_finite(train):
    pipeline, _ = fitted_pipeline(train)
    unseen = housing_frame(30, seed=5)[RAW_COLUMNS]
    unseen.loc[[0, 1, 2], "total_bedrooms"] = np.nan

    out = pipeline.transform(unseen)

    assert out.shape == (30, len(pipeline.get_feature_names_out()))
    assert np.isfinite(out.to_numpy()).all()


def test_training_output_has_no_nan_despite_missing_bedrooms(train):
    assert train["total_bedrooms"].isna().any()

    _, out = fitted_pipeline(train)

    assert np.isfinite(out.to_numpy()).all()


def test_transform_of_a_row_does_not_depend_on_its_batch(train):
    pipeline, _ = fitted_pipeline(train)
    unseen = housing_frame(10, seed=6)[RAW_COLUMNS]

    together = pipeline.transform(unseen)
    alone = pd.concat([pipeline.transform(unseen.iloc[[row]]) for row in range(10)])

    pd.testing.assert_frame_equal(together, alone)


def test_feature_names_match_output_columns(train):
    pipeline, out = fitted_pipeline(train)

    names = list(pipeline.get_feature_names_out())

    assert names == list(out.columns)
    assert names == list(pipeline.transform(train[RAW_COLUMNS].head(5)).columns)
    assert len(set(names)) == len(names)
    assert {"neighbour_price_k3", "neighbour_price_k8", "ocean_1h_ocean", "ocean_near_bay"} <= set(names)


def test_feature_names_are_safe_for_gradient_boosting_libraries(train):
    pipeline, _ = fitted_pipeline(train)

    unsafe = [name for name in pipeline.get_feature_names_out() if not re.fullmatch(r"[a-z0-9_]+", name)]

    assert unsafe == []


def test_preprocessing_is_deterministic_for_a_seed(train):
    unseen = housing_frame(20, seed=7)[RAW_COLUMNS]
    first, first_out = fitted_pipeline(train, seed=3)
    second, second_out = fitted_pipeline(train, seed=3)

    pd.testing.assert_frame_equal(first_out, second_out)
    pd.testing.assert_frame_equal(first.transform(unseen), second.transform(unseen))


def test_seed_picks_the_folds(train):
    raw, price = features_and_price(train)

    first = named_features(NEIGHBOURS, random_state=1).fit_transform(raw, price)
    second = named_features(NEIGHBOURS, random_state=2).fit_transform(raw, price)

    assert not first["neighbour_price_k3"].equals(second["neighbour_price_k3"])


def test_default_output_is_a_plain_matrix_for_fast_single_row_serving(train):
    raw, price = features_and_price(train)
    pipeline = preprocessing(list(NEIGHBOURS), [], FOLDS, 0).fit(raw, price)

    out = pipeline.transform(raw.head(1))

    assert isinstance(out, np.ndarray)
    assert out.shape == (1, len(pipeline.get_feature_names_out()))


def test_similar_blocks_features_are_out_of_fold_for_training_rows(train):
    raw, price = features_and_price(train)
    price[ROW] = HUGE_PRICE
    transformer = HousingFeatures(NEIGHBOURS, FOLDS, 0, similar=(1, 4)).set_output(transform="pandas")

    out_of_fold = transformer.fit_transform(raw, price)
    in_sample = transformer.transform(raw.iloc[[ROW]])

    assert out_of_fold.loc[ROW, "similar_price_k1"] <= train[TARGET].max()
    assert in_sample["similar_price_k1"].iloc[0] == HUGE_PRICE, "its most similar training block is itself"
    assert in_sample["similar_distance_k1"].iloc[0] == 0
    assert np.isin(out_of_fold["similar_price_k1"], price).all()


def test_similar_blocks_are_alike_in_income_not_only_near(train):
    raw, price = features_and_price(train)
    transformer = HousingFeatures((1,), FOLDS, 0, similar=(1,)).set_output(transform="pandas").fit(raw, price)
    twin = raw.iloc[[ROW]]
    richer = twin.assign(median_income=twin["median_income"] * 3)

    found = pd.concat([transformer.transform(twin), transformer.transform(richer)])

    assert (found["km_to_neighbour_k1"] == 0).all(), "both sit on a training block"
    assert found["similar_distance_k1"].iloc[0] == 0 < found["similar_distance_k1"].iloc[1]


def test_grouped_folds_hold_each_group_out_together_once():
    groups = np.repeat(np.random.default_rng(0).permutation(60), 4)

    folds = list(grouped_folds(len(groups), FOLDS, 0, groups))

    held = np.concatenate([held for _, held in folds])
    assert sorted(held) == list(range(len(groups)))
    for fit_rows, held_rows in folds:
        assert set(groups[fit_rows]).isdisjoint(groups[held_rows])
        assert len(fit_rows) + len(held_rows) == len(groups)


def test_grouped_folds_of_one_row_per_group_are_kfolds_folds():
    kfold = KFold(FOLDS, shuffle=True, random_state=3).split(np.arange(50))

    for (fit, held), (fit_k, held_k) in zip(grouped_folds(50, FOLDS, 3), kfold, strict=True):
        assert np.array_equal(fit, fit_k) and np.array_equal(held, np.sort(held_k))


def test_copies_of_a_block_never_see_the_blocks_price(train):
    """Upsampled copies sit next to each other on the map: grouped by block, a training row's
    out-of-fold neighbours are other blocks, never its own copies."""
    raw, price = features_and_price(train)
    copies = pd.concat([raw] * 3, ignore_index=True)
    copies["latitude"] += np.repeat([0.0, 1e-4, -1e-4], len(raw))
    blocks = np.tile(np.arange(len(raw)), 3)
    copy_price = np.tile(price, 3)
    copy_price[blocks == ROW] = HUGE_PRICE

    grouped = named_features((1,), random_state=0).fit_transform(copies, copy_price, groups=blocks)
    ungrouped = named_features((1,), random_state=0).fit_transform(copies, copy_price)

    own = blocks == ROW
    assert (grouped.loc[own, "neighbour_price_k1"] <= train[TARGET].max()).all()
    assert (ungrouped.loc[own, "neighbour_price_k1"] == HUGE_PRICE).any()


def test_features_in_chunks_are_the_features_at_once(train, monkeypatch):
    raw, price = features_and_price(train)
    at_once = HousingFeatures(NEIGHBOURS, FOLDS, 0, (5,))
    expected = at_once.fit_transform(raw, price), at_once.transform(raw)

    monkeypatch.setattr(features_module, "QUERY_ROWS", 7)
    in_chunks = HousingFeatures(NEIGHBOURS, FOLDS, 0, (5,))

    assert np.array_equal(in_chunks.fit_transform(raw, price), expected[0])
    assert np.array_equal(in_chunks.transform(raw), expected[1])
