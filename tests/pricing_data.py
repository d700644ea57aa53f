"""A small generated pricing file with a known price rule, for the pricing tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.pricing.model import PricingParams

MAKES = {"Renault": 0.0, "Citroën": -5.0, "BMW": 25.0, "Audi": 20.0}
GPS_ADDS = 10.0
CONNECT_ADDS = 5.0
SMALL_PARAMS = PricingParams(n_estimators=60, learning_rate=0.1, min_child_samples=5)
"""Few trees: enough to learn the generated rule in well under a second."""


def generated_cars(n: int = 300, *, seed: int = 0) -> pl.DataFrame:
    """``n`` cars of 4 makes whose price is 40 + 0.5/hp - 0.1/1,000 km + the make's bonus,
    +10 with GPS, +5 with Connect, plus noise (sd 3), in the pricing file's columns."""
    rng = np.random.default_rng(seed)
    makes = rng.choice(list(MAKES), n)
    power = rng.integers(70, 250, n)
    mileage = rng.integers(5_000, 300_000, n)
    gps = rng.random(n) < 0.6
    connect = rng.random(n) < 0.5
    price = (
        40
        + 0.5 * power
        - mileage / 10_000
        + np.array([MAKES[m] for m in makes])
        + GPS_ADDS * gps
        + CONNECT_ADDS * connect
        + rng.normal(0, 3, n)
    )
    return pl.DataFrame(
        {
            "": np.arange(n),
            "model_key": makes,
            "mileage": mileage,
            "engine_power": power,
            "fuel": rng.choice(["diesel", "petrol"], n),
            "paint_color": rng.choice(["black", "grey", "white"], n),
            "car_type": rng.choice(["estate", "suv", "sedan"], n),
            "private_parking_available": rng.random(n) < 0.5,
            "has_gps": gps,
            "has_air_conditioning": rng.random(n) < 0.2,
            "automatic_car": rng.random(n) < 0.2,
            "has_getaround_connect": connect,
            "has_speed_regulator": rng.random(n) < 0.3,
            "winter_tires": rng.random(n) < 0.9,
            "rental_price_per_day": np.round(price).astype(int),
        }
    )


def write_cars_csv(path: Path, n: int = 300, *, seed: int = 0) -> Path:
    """The generated cars written as a pricing CSV (with the unnamed index column)."""
    generated_cars(n, seed=seed).write_csv(path)
    return path


def a_car(**changes: object) -> dict[str, object]:
    """One valid car of the generated file's categories, with ``changes`` applied."""
    car: dict[str, object] = {
        "model_key": "BMW",
        "mileage": 80_000,
        "engine_power": 150,
        "fuel": "diesel",
        "paint_color": "black",
        "car_type": "suv",
        "private_parking_available": True,
        "has_gps": True,
        "has_air_conditioning": False,
        "automatic_car": False,
        "has_getaround_connect": True,
        "has_speed_regulator": False,
        "winter_tires": True,
    }
    car.update(changes)
    return car
