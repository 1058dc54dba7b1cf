"""Small, plausible, generated California housing data for tests (no download, no shared file)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from housing.schema import LABELLED_COLUMNS, OCEAN_CLASSES


def housing_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Rows that pass the schema, with a price driven by income and distance to the coast."""
    rng = np.random.default_rng(seed)
    latitude = rng.uniform(32.6, 41.9, rows)
    longitude = rng.uniform(-124.3, -114.4, rows)
    households = rng.integers(50, 1500, rows).astype(float)
    total_rooms = households * rng.uniform(3, 8, rows)
    total_bedrooms = np.round(total_rooms * rng.uniform(0.15, 0.3, rows))
    income = rng.gamma(4, 1, rows).clip(0.5, 15)
    coast = (longitude + 124.5) + 0.5 * (latitude - 32.5)
    price = 40_000 + 35_000 * income - 8_000 * coast + rng.normal(0, 20_000, rows)
    frame = pd.DataFrame(
        {
            "longitude": longitude.round(2),
            "latitude": latitude.round(2),
            "housing_median_age": rng.integers(1, 53, rows).astype(float),
            "total_rooms": total_rooms.round(),
            "total_bedrooms": total_bedrooms,
            "population": (households * rng.uniform(1.5, 4, rows)).round(),
            "households": households,
            "median_income": income.round(4),
            "median_house_value": price.clip(15_000, 500_001).round(),
            "ocean_proximity": rng.choice(OCEAN_CLASSES, rows),
        }
    )
    frame.loc[frame.sample(frac=0.02, random_state=seed).index, "total_bedrooms"] = np.nan
    return frame[LABELLED_COLUMNS]


def drifted_frame(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    """Like housing_frame, from a different world: richer, older, denser, and all inland."""
    frame = housing_frame(rows, seed)
    frame["median_income"] = (frame["median_income"] * 2.5).clip(upper=15)
    frame["housing_median_age"] = (frame["housing_median_age"] + 30).clip(upper=52)
    frame["population"] = frame["population"] * 3
    frame["ocean_proximity"] = "INLAND"
    return frame
