"""The straightforward peer: load the champion and compute features on every request, the way
public forecasting services of this kind serve (model file + feature pipeline per call).

It answers the same /predict body for days of the newest issue: the champion forecasts from
the data up to the day before the issue date, and the row of the asked zone and day is
returned. The store is the one FLEETCAST_HOME points to.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from fleetcast.config import load_settings
from fleetcast.jobs.forecast import load_training_set, registry_for
from fleetcast.store import Store

app = FastAPI()


class Body(BaseModel):
    """The /predict request."""

    zone_id: str
    date: date
    system: str = "demo"


@app.post("/predict")
def predict(body: Body) -> dict[str, Any]:
    """Open the store, load the model, build the features, predict, answer."""
    store = Store(load_settings())
    try:
        champion, model = registry_for(store).load_champion(body.system)
        data = load_training_set(store, body.system)
        horizon = (body.date - data.issue_date).days + 1
        if not 1 <= horizon <= 3:
            raise HTTPException(422, "date outside the next 3 days")
        frame = model.predict(data.until(data.issue_date - timedelta(days=1)), horizon=horizon)
        row = frame.filter(
            (pl.col("zone_id") == body.zone_id) & (pl.col("target_date") == body.date)
        ).row(0, named=True)
    finally:
        store.close()
    return {
        "model_version": champion.label,
        "trips": round(row["mean"]),
        "lower": row["q10"],
        "upper": row["q90"],
        "zone_id": body.zone_id,
        "horizon": horizon,
    }
