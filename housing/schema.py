"""The one definition of a raw California block group, used by the pipeline, the logged model and serving.

Bounds are physical limits with some slack around what the 1990 census data holds (block groups
of up to ~40,000 rooms and people), so that plausible new batches pass and nonsense (negative
rooms, a point in Nevada, 1e300 households that would overflow the features) is rejected.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Literal

import annotated_types
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

OceanProximity = Literal["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"]
OCEAN_CLASSES: tuple[str, ...] = typing.get_args(OceanProximity)

TARGET = "median_house_value"
TARGET_SCALE = 100_000
"""Models predict the target in units of $100,000, the unit every metric is reported in."""


class HousingRow(BaseModel):
    """One census block group as the model sees it: the raw features, no target."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    longitude: float = Field(ge=-124.6, le=-114.0, description="Degrees east; California spans about -124.4 to -114.1.")
    latitude: float = Field(ge=32.4, le=42.1, description="Degrees north; California spans about 32.5 to 42.0.")
    housing_median_age: float = Field(ge=0, le=150, description="Median age of the houses in the block, years.")
    total_rooms: float = Field(ge=1, le=500_000, description="Rooms in the block, all houses together.")
    total_bedrooms: float | None = Field(
        default=None, ge=0, le=500_000, description="Bedrooms in the block; may be missing (imputed by the model)."
    )
    population: float = Field(ge=1, le=500_000, description="People living in the block.")
    households: float = Field(ge=1, le=200_000, description="Households in the block.")
    median_income: float = Field(ge=0.1, le=100, description="Median household income, tens of thousands of dollars.")
    ocean_proximity: OceanProximity = Field(description="Distance class to the ocean.")

    @model_validator(mode="after")
    def bedrooms_within_rooms(self) -> HousingRow:
        if self.total_bedrooms is not None and more_bedrooms_than_rooms(self.total_bedrooms, self.total_rooms):
            raise ValueError(f"total_bedrooms must be <= total_rooms (got {self.total_bedrooms} > {self.total_rooms})")
        return self


def more_bedrooms_than_rooms(bedrooms, rooms):
    """The one rule across fields, for one row (the model) or whole columns (row_errors' screen)."""
    return bedrooms > rooms


class LabelledHousingRow(HousingRow):
    """A training row: the features plus the observed median house value in dollars."""

    median_house_value: float = Field(gt=0, le=10_000_000, description="Median house value, dollars.")


RAW_COLUMNS: list[str] = list(HousingRow.model_fields)
"""The raw input columns a model takes (the engineered features are housing.features' business)."""
NUMERIC_COLUMNS: list[str] = [name for name in RAW_COLUMNS if name != "ocean_proximity"]
LABELLED_COLUMNS: list[str] = [*RAW_COLUMNS, TARGET]
"""The columns of a raw CSV: the inputs and the observed price."""
BLOCK_ID = "block_id"
"""The column ingest adds to the raw data: the source block group a row is (or was copied from).
The split and every out-of-fold step group rows by it, so copies of a block stay on one side."""

_labelled_rows = TypeAdapter(list[LabelledHousingRow])


def records(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as dicts, missing values as None (what the schema and JSON expect, not NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def row_errors(frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    """Validate every row of a raw frame; return (row index, field, message) for each problem.

    The frame is screened column by column first (millions of rows as dicts would cost minutes and
    gigabytes); only the rows the screen flags go through the pydantic model, which words the problems.
    """
    flagged = frame[suspect_rows(frame)]
    try:
        _labelled_rows.validate_python(records(flagged))
    except ValidationError as error:
        return [_describe(error_detail, flagged.index) for error_detail in error.errors()]
    return []


def suspect_rows(frame: pd.DataFrame) -> np.ndarray:
    """A mask of the rows LabelledHousingRow could reject, from its fields' types and bounds."""
    suspect = np.zeros(len(frame), dtype=bool)
    for name, field in LabelledHousingRow.model_fields.items():
        column = frame[name]
        options = typing.get_args(field.annotation)
        if field.annotation is float or options == (float, type(None)):
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            unreadable = np.isnan(values) & (column.notna().to_numpy() | field.is_required())
            suspect |= unreadable | np.isinf(values) | _out_of_bounds(values, field.metadata)
        elif typing.get_origin(field.annotation) is Literal:
            suspect |= ~column.isin(options).to_numpy()
        else:
            raise TypeError(f"suspect_rows cannot screen {name}: {field.annotation}")
    bedrooms, rooms = (pd.to_numeric(frame[name], errors="coerce") for name in ("total_bedrooms", "total_rooms"))
    return suspect | more_bedrooms_than_rooms(bedrooms, rooms).to_numpy()


def _out_of_bounds(values: np.ndarray, constraints: list) -> np.ndarray:
    outside = np.zeros(len(values), dtype=bool)
    for constraint in constraints:
        if isinstance(constraint, annotated_types.Ge):
            outside |= values < constraint.ge
        elif isinstance(constraint, annotated_types.Gt):
            outside |= values <= constraint.gt
        elif isinstance(constraint, annotated_types.Le):
            outside |= values > constraint.le
        elif isinstance(constraint, annotated_types.Lt):
            outside |= values >= constraint.lt
    return outside


def bounds(name: str) -> tuple[float, float]:
    """The inclusive (lowest, highest) value HousingRow allows for numeric field `name`."""
    limits = {type(c): c for c in LabelledHousingRow.model_fields[name].metadata}
    return limits[annotated_types.Ge].ge, limits[annotated_types.Le].le


def _describe(detail: ErrorDetails, index: pd.Index) -> tuple[int, str, str]:
    position, *field = detail["loc"]
    field_name = ".".join(str(part) for part in field) or "row"
    got = detail.get("input")
    got_text = "" if isinstance(got, dict) else f" (got {got!r})"
    return int(index[int(position)]), field_name, detail["msg"] + got_text
