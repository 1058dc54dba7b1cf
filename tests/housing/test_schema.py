"""The raw-row schema: what a valid block group is, and how each problem is named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from housing.schema import LABELLED_COLUMNS, HousingRow, LabelledHousingRow, records, row_errors, suspect_rows
from tests.support.synthetic import housing_frame

VALID_ROW = {
    "longitude": -122.23,
    "latitude": 37.88,
    "housing_median_age": 41.0,
    "total_rooms": 880.0,
    "total_bedrooms": 129.0,
    "population": 322.0,
    "households": 126.0,
    "median_income": 8.3252,
    "ocean_proximity": "NEAR BAY",
}


def with_changes(**changes: object) -> dict:
    return {**VALID_ROW, **changes}


def rejections(row: dict) -> list[tuple[str, str]]:
    """(field, message) for each problem HousingRow finds in `row`; fails if it finds none."""
    with pytest.raises(ValidationError) as caught:
        HousingRow.model_validate(row)
    return [(".".join(map(str, error["loc"])), error["msg"]) for error in caught.value.errors()]


def test_valid_row_passes_with_its_values():
    row = HousingRow.model_validate(VALID_ROW)

    assert row.model_dump() == VALID_ROW


@pytest.mark.parametrize("bedrooms", ["absent", None])
def test_total_bedrooms_may_be_missing(bedrooms):
    data = with_changes(total_bedrooms=bedrooms)
    if bedrooms == "absent":
        del data["total_bedrooms"]

    assert HousingRow.model_validate(data).total_bedrooms is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_rooms", -3.0),
        ("total_rooms", 0.0),
        ("population", 0.0),
        ("median_income", math.nan),
        ("median_income", math.inf),
        ("latitude", -math.inf),
        ("total_bedrooms", math.nan),
        ("ocean_proximity", "MARS"),
        ("ocean_proximity", "near bay"),
        ("longitude", -125.0),
        ("longitude", -113.0),
        ("latitude", 45.0),
        ("housing_median_age", -1.0),
    ],
)
def test_bad_value_is_rejected_naming_the_field(field, value):
    [(rejected_field, _)] = rejections(with_changes(**{field: value}))

    assert rejected_field == field


def test_more_bedrooms_than_rooms_is_rejected():
    [(_, message)] = rejections(with_changes(total_rooms=100.0, total_bedrooms=101.0))

    assert "total_bedrooms must be <= total_rooms" in message


def test_as_many_bedrooms_as_rooms_is_accepted():
    assert HousingRow.model_validate(with_changes(total_rooms=100.0, total_bedrooms=100.0))


def test_missing_required_field_is_rejected():
    data = dict(VALID_ROW)
    del data["households"]

    assert rejections(data) == [("households", "Field required")]


def test_unknown_extra_field_is_rejected():
    assert rejections(with_changes(garage_spaces=2)) == [("garage_spaces", "Extra inputs are not permitted")]


def test_row_errors_is_empty_for_valid_frame_including_missing_bedrooms():
    frame = housing_frame(50)
    frame.loc[[3, 7], "total_bedrooms"] = np.nan

    assert row_errors(frame) == []


def test_row_errors_flags_bad_rows_and_fields_by_index_label():
    frame = housing_frame(8).set_axis([100, 101, 102, 103, 104, 105, 106, 107])
    frame.loc[101, "total_rooms"] = -3.0
    frame.loc[103, "ocean_proximity"] = "MARS"
    frame.loc[104, "median_income"] = np.inf
    frame.loc[105, "population"] = np.nan
    frame.loc[106, "total_bedrooms"] = np.nan

    problems = row_errors(frame)

    assert [(row, field) for row, field, _ in problems] == [
        (101, "total_rooms"),
        (103, "ocean_proximity"),
        (104, "median_income"),
        (105, "population"),
    ]
    assert all(isinstance(row, int) for row, _, _ in problems)


def test_row_errors_message_shows_the_bad_value():
    frame = housing_frame(3)
    frame.loc[1, "ocean_proximity"] = "MARS"

    [(row, field, message)] = row_errors(frame)

    assert (row, field) == (1, "ocean_proximity")
    assert "'MARS'" in message


def test_row_errors_reports_every_problem_of_one_row():
    frame = housing_frame(2)
    frame.loc[0, ["total_rooms", "households"]] = [-1.0, 0.0]

    assert {(row, field) for row, field, _ in row_errors(frame)} == {(0, "total_rooms"), (0, "households")}


def test_row_errors_checks_the_target():
    frame = housing_frame(3)
    frame.loc[2, "median_house_value"] = -5.0

    assert [(row, field) for row, field, _ in row_errors(frame)] == [(2, "median_house_value")]


def test_row_errors_rejects_bedrooms_above_rooms_as_a_row_problem():
    frame = housing_frame(3)
    frame.loc[0, "total_bedrooms"] = frame.loc[0, "total_rooms"] + 1

    [(row, field, message)] = row_errors(frame)

    assert (row, field) == (0, "row")
    assert "total_bedrooms must be <= total_rooms" in message


def test_synthetic_frame_has_the_schema_columns():
    assert list(housing_frame(5).columns) == LABELLED_COLUMNS


def test_row_errors_accepts_empty_frame():
    assert row_errors(pd.DataFrame(columns=LABELLED_COLUMNS)) == []


BREAKAGES: dict[str, list[object]] = {
    "longitude": [-130.0, np.nan, "west"],
    "latitude": [45.0, -np.inf],
    "housing_median_age": [-1.0, 151.0],
    "total_rooms": [-3.0, 0.0, 1e9, np.inf],
    "total_bedrooms": [-1.0, "many", np.inf, 1e7],
    "population": [np.nan, 0.5],
    "households": [0.0, "some"],
    "median_income": [np.inf, 0.0, "rich"],
    "median_house_value": [0.0, -5.0, 2e7, np.nan],
    "ocean_proximity": ["MARS", None, 3],
}


def pydantic_rejects(row: dict) -> bool:
    try:
        LabelledHousingRow.model_validate(row)
    except ValidationError:
        return True
    return False


def test_the_column_screen_flags_exactly_the_rows_the_row_model_rejects():
    frame = housing_frame(600, seed=3).astype(object)
    rng = np.random.default_rng(0)
    for row in rng.choice(len(frame), 150, replace=False):
        field = rng.choice(list(BREAKAGES))
        frame.loc[row, field] = BREAKAGES[field][rng.integers(len(BREAKAGES[field]))]
    more_bedrooms = rng.choice(len(frame), 10, replace=False)
    frame.loc[more_bedrooms, "total_bedrooms"] = frame.loc[more_bedrooms, "total_rooms"] + 1

    rejected = {row for row, values in enumerate(records(frame)) if pydantic_rejects(values)}

    assert len(rejected) > 100
    assert set(np.flatnonzero(suspect_rows(frame))) == rejected
    assert {row for row, _, _ in row_errors(frame)} == rejected
