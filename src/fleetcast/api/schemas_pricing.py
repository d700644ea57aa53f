"""Request and response models of the pricing endpoints. Only the shape is checked here; the
accepted categories and numeric ranges come from the trained model (GET /pricing/model) and
are checked against it, never against a list typed in this file."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StrictBool

EXAMPLE_CAR: Final[dict[str, Any]] = {
    "model_key": "Renault",
    "mileage": 80000,
    "engine_power": 120,
    "fuel": "diesel",
    "paint_color": "black",
    "car_type": "estate",
    "private_parking_available": True,
    "has_gps": True,
    "has_air_conditioning": False,
    "automatic_car": False,
    "has_getaround_connect": True,
    "has_speed_regulator": False,
    "winter_tires": True,
}
"""A car of the GetAround pricing file, for /docs."""

Category = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A value the trained model knows: GET /pricing/model lists them",
    ),
]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Option = Annotated[StrictBool, Field(description="true or false")]


class CarIn(BaseModel):
    """One car's features: every field is needed; nothing is guessed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_CAR]})

    model_key: Category
    mileage: Annotated[Number, Field(description="Kilometres on the odometer")]
    engine_power: Annotated[Number, Field(description="Engine power in hp")]
    fuel: Category
    paint_color: Category
    car_type: Category
    private_parking_available: Option
    has_gps: Option
    has_air_conditioning: Option
    automatic_car: Option
    has_getaround_connect: Option
    has_speed_regulator: Option
    winter_tires: Option


CarsIn = Annotated[list[CarIn], Field(min_length=1, max_length=1000)]
"""1 to 1,000 cars priced in one request."""


class PriceOut(BaseModel):
    """The predicted price of one car."""

    rental_price_per_day: float = Field(description="EUR per day")


class PricesOut(BaseModel):
    """Prices in the order of the cars sent, and the model version that made them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "fleetcast-pricing",
                    "model_version": "3",
                    "currency": "EUR",
                    "prices": [{"rental_price_per_day": 118.42}],
                }
            ]
        }
    )

    model: str
    model_version: str
    currency: str
    prices: list[PriceOut]


class NumericRangeOut(BaseModel):
    """Accepted values of a numeric feature, and the values seen in training."""

    low: float
    high: float
    seen_low: float
    seen_high: float
    unit: str


class CVOut(BaseModel):
    """Shuffled K-fold cross-validation of the model: means over the folds."""

    rmse: float
    mae: float
    r2: float
    folds: int
    seed: int
    fit_s: float
    fold_rmse: list[float]


class ImportanceOut(BaseModel):
    """How much the held-out RMSE grows (EUR/day) when a feature's values are shuffled."""

    feature: str
    rmse_increase: float
    std: float


class OptionEffectOut(BaseModel):
    """Average predicted price with an option minus without it, over the training cars."""

    option: str
    effect_per_day: float
    share_with: float


class PricingModelOut(BaseModel):
    """The champion price model: what it accepts, how well it did, what drives prices."""

    model: str
    model_version: str
    categories: dict[str, list[str]]
    ranges: dict[str, NumericRangeOut]
    options: list[str]
    typical: dict[str, Any] = Field(description="Most common value or median of each feature")
    rows: int
    cv: CVOut
    importance: list[ImportanceOut]
    option_effects: list[OptionEffectOut]
    params: dict[str, Any]
