"""Served traffic as the dashboard charts it, read from the prediction log: the Live page's rate,
prices and map (GET /predictions/summary), and live accuracy over time from feedback (GET
/predictions/accuracy), each with its query and answer schemas."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from housing.schema import OceanProximity
from serve.prediction_log import FEEDBACK, PREDICTIONS, Role, read, same_record, scores, timestamp

PRICE_BINS = 40
BUCKET_CHARACTERS = {"minute": 16, "hour": 13, "day": 10}
"""How many leading characters of an ISO timestamp name its minute, hour or day."""


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(default=30, ge=1, le=1440, description="How far back, in minutes.")
    points: int = Field(default=500, ge=1, le=5000, description="How many of the latest answers to place on the map.")


class MinuteCount(BaseModel):
    minute: str = Field(description="UTC minute, YYYY-MM-DDTHH:MM.")
    count: int


class PriceHistogram(BaseModel):
    edges: list[float] = Field(description="Bin edges in dollars, one more than the counts.")
    counts: list[int]


class PlacedAnswer(BaseModel):
    created_at: str
    model_version: int
    role: Role
    prediction: float
    longitude: float
    latitude: float
    ocean_proximity: OceanProximity


class LiveSummary(BaseModel):
    """Served traffic of the last minutes: its rate, its prices and where it came from."""

    minutes: int
    per_minute: list[MinuteCount] = Field(description="Answered predictions in each minute, oldest first.")
    prices: PriceHistogram = Field(description="Predicted prices of the answers placed on the map.")
    answers: list[PlacedAnswer] = Field(description="The latest answers (shadows left out), newest first.")
    california: list[tuple[float, float]] = Field(
        description="(longitude, latitude) cells the champion's training rows occupy: the map's outline."
    )


class AccuracyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: Literal["minute", "hour", "day"] = "hour"
    days: float = Field(default=7, gt=0, le=366, description="How far back, by prediction time.")


class AccuracyPoint(BaseModel):
    period: str = Field(description="The bucket, a prefix of ISO time in UTC.")
    model_version: int
    role: Role
    count: int = Field(description="Predictions with feedback in the bucket.")
    rmse: float = Field(description="Dollars.")
    mae: float = Field(description="Dollars.")


class AccuracyOverTime(BaseModel):
    bucket: str
    points: list[AccuracyPoint]


def per_minute(location: str | Path, minutes: int, now: datetime) -> list[dict[str, Any]]:
    """Answered predictions (shadows left out) in each of the last `minutes` minutes, oldest first, zeros included."""
    start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    minute = func.substr(PREDICTIONS.c.created_at, 1, BUCKET_CHARACTERS["minute"])
    query = (
        select(minute.label("minute"), func.count().label("count"))
        .where(PREDICTIONS.c.created_at >= timestamp(start), PREDICTIONS.c.role != "shadow")
        .group_by(minute)
    )
    counts = {row["minute"]: row["count"] for row in read(location, query)}
    labels = [timestamp(start + timedelta(minutes=step))[: BUCKET_CHARACTERS["minute"]] for step in range(minutes)]
    return [{"minute": label, "count": int(counts.get(label, 0))} for label in labels]


def recent_answers(location: str | Path, limit: int, since: datetime) -> list[dict[str, Any]]:
    """The latest `limit` answered predictions since `since`: where (from the inputs), what and when."""
    query = (
        PREDICTIONS.select()
        .where(PREDICTIONS.c.created_at >= timestamp(since), PREDICTIONS.c.role != "shadow")
        .order_by(PREDICTIONS.c.id.desc())
        .limit(limit)
    )
    answers = []
    for row in read(location, query):
        inputs = json.loads(row["inputs"])
        answers.append(
            {
                "created_at": row["created_at"],
                "model_version": row["model_version"],
                "role": row["role"],
                "prediction": row["prediction"],
                "longitude": inputs["longitude"],
                "latitude": inputs["latitude"],
                "ocean_proximity": inputs["ocean_proximity"],
            }
        )
    return answers


def price_histogram(prices: list[float]) -> dict[str, list[float]]:
    """PRICE_BINS equal bins from 0 to the highest price (at least the data's $500,001 cap)."""
    top = max([500_001.0, *prices])
    counts, edges = np.histogram(prices, bins=PRICE_BINS, range=(0.0, top))
    return {"edges": edges.round(2).tolist(), "counts": counts.tolist()}


def accuracy_over_time(location: str | Path, bucket: str, since: datetime) -> list[dict[str, Any]]:
    """Live RMSE and MAE (dollars) per model version and role in each `bucket` of prediction time since `since`.

    A feedback report scores every row logged for its record, so a shadow's accuracy shows too.
    """
    period = func.substr(PREDICTIONS.c.created_at, 1, BUCKET_CHARACTERS[bucket]).label("period")
    query = (
        select(period, PREDICTIONS.c.model_version, PREDICTIONS.c.role, *scores(FEEDBACK))
        .select_from(PREDICTIONS.join(FEEDBACK, same_record(FEEDBACK)))
        .where(PREDICTIONS.c.created_at >= timestamp(since))
        .group_by(period, PREDICTIONS.c.model_version, PREDICTIONS.c.role)
        .order_by(period)
    )
    return [
        {
            "period": row["period"],
            "model_version": row["model_version"],
            "role": row["role"],
            "count": int(row["count"]),
            "rmse": math.sqrt(row["mse"]),
            "mae": float(row["mae"]),
        }
        for row in read(location, query)
    ]
