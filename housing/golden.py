"""The golden set: raw rows with the predictions a model made on them when it was evaluated.

evaluate writes one beside each model and register ships it inside the registered model, so whoever
serves that model can prove that a faster way of computing its predictions gives the same numbers
(housing.fast). Besides the validation and test rows it holds rows no split may contain: every
numeric field at each end of its bounds, and total_bedrooms missing for every ocean class.
"""

from __future__ import annotations

import annotated_types
import pandas as pd

from housing.schema import NUMERIC_COLUMNS, OCEAN_CLASSES, RAW_COLUMNS, HousingRow

GOLDEN_FILE = "golden.parquet"
PREDICTION = "prediction"
"""The golden set's column of recorded predictions, in the model's unit ($100,000)."""

TYPICAL_ROW: dict[str, float | str] = {
    "longitude": -119.5,
    "latitude": 35.6,
    "housing_median_age": 29.0,
    "total_rooms": 2_100.0,
    "total_bedrooms": 430.0,
    "population": 1_160.0,
    "households": 410.0,
    "median_income": 3.5,
    "ocean_proximity": "<1H OCEAN",
}
"""A block group near the data's medians: the edge rows change one field of it at a time."""


def bounds(field: str) -> tuple[float, float]:
    """The schema's (lowest, highest) allowed value of a numeric field."""
    metadata = HousingRow.model_fields[field].metadata
    low = next(rule.ge for rule in metadata if isinstance(rule, annotated_types.Ge))
    high = next(rule.le for rule in metadata if isinstance(rule, annotated_types.Le))
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        raise TypeError(f"{field}: the schema's bounds are not numbers")
    return float(low), float(high)


def edge_rows() -> pd.DataFrame:
    """Valid rows at the schema's bounds, and with total_bedrooms missing, that real data rarely holds."""
    rows = []
    for field in NUMERIC_COLUMNS:
        for value in bounds(field):
            row = {**TYPICAL_ROW, field: value}
            if field == "total_bedrooms":
                row["total_rooms"] = max(float(row["total_rooms"]), value)
            if field == "total_rooms":
                row["total_bedrooms"] = min(float(row["total_bedrooms"]), value)
            rows.append(row)
    missing = [{**TYPICAL_ROW, "total_bedrooms": None, "ocean_proximity": ocean} for ocean in OCEAN_CLASSES]
    checked = [HousingRow.model_validate(row).model_dump() for row in [*rows, *missing]]
    return pd.DataFrame(checked, columns=RAW_COLUMNS).astype(dict.fromkeys(NUMERIC_COLUMNS, float))


def golden_rows(*splits: pd.DataFrame) -> pd.DataFrame:
    """The raw rows of the given splits, then the edge rows, in one frame with a fresh index."""
    frames = [split[RAW_COLUMNS].astype(dict.fromkeys(NUMERIC_COLUMNS, float)) for split in splits]
    return pd.concat([*frames, edge_rows()], ignore_index=True)
