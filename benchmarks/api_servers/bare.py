"""The ceiling: a bare FastAPI app whose /predict returns a constant, same server stack."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()
ANSWER = {"model_version": "constant", "trips": 42, "lower": 30.0, "upper": 55.0}


@app.post("/predict")
async def predict() -> dict[str, Any]:
    """Always the same answer: no parsing, no lookup, no model."""
    return ANSWER


@app.get("/forecasts")
async def forecasts() -> dict[str, Any]:
    """Always the same answer."""
    return ANSWER
