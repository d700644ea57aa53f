"""The price estimator: a form built from the trained price model (its categories fill the
select boxes, its plausible ranges bound the numbers), the predicted price per day, and what
each option adds. A section for the car-sharing page, which calls
:func:`render_price_estimator`; the leading underscore keeps it out of the page list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from fleetcast.dashboard import state
from fleetcast.jobs.pricing import (
    NoPricingModelError,
    PricingModelUnavailableError,
    PricingService,
)
from fleetcast.pricing.data import OPTIONS
from fleetcast.pricing.model import InvalidCarError, PricingModel

LABELS = {
    "model_key": "Make",
    "fuel": "Fuel",
    "paint_color": "Paint colour",
    "car_type": "Car type",
    "mileage": "Mileage (km)",
    "engine_power": "Engine power (hp)",
    "private_parking_available": "Private parking",
    "has_gps": "GPS",
    "has_air_conditioning": "Air conditioning",
    "automatic_car": "Automatic gearbox",
    "has_getaround_connect": "Getaround Connect",
    "has_speed_regulator": "Cruise control",
    "winter_tires": "Winter tyres",
}
STEPS = {"mileage": 1000.0, "engine_power": 5.0}
TRAIN_COMMAND = "fleetcast pricing train ../shared/data/getaround/get_around_pricing_project.csv"


@st.cache_resource(show_spinner=False)
def pricing_service(home: str) -> PricingService:
    """One price-model service per fleetcast home for the server's lifetime."""
    return PricingService(Path(home))


def option_effects_chart(effects: pl.DataFrame) -> go.Figure:
    """Horizontal bars: average EUR/day a car gains with each option, largest on top."""
    rows = effects.sort("effect_per_day")
    values = rows["effect_per_day"].to_list()
    pad = 0.25 * (max(map(abs, values), default=1.0) or 1.0)
    figure = go.Figure(
        go.Bar(
            x=values,
            y=[LABELS.get(o, o) for o in rows["option"].to_list()],
            orientation="h",
            text=[f"{v:+.1f} €" for v in values],
            textposition="outside",
            cliponaxis=False,
            customdata=rows["share_with"].to_list(),
            hovertemplate="%{y}: %{x:+.2f} EUR/day<br>%{customdata:.0%} of cars have it"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title="What each option adds to the price per day",
        xaxis_title="EUR/day, all else equal",
        xaxis_range=[
            min(min(values, default=0.0), 0.0) - pad,
            max(max(values, default=0.0), 0.0) + pad,
        ],
        yaxis_ticksuffix="  ",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=320,
    )
    return figure


def _form(model: PricingModel) -> dict[str, Any] | None:
    """The car form; the car when submitted, else None."""
    schema = model.schema
    car: dict[str, Any] = {}
    with st.form("price_estimator"):
        left, right = st.columns(2)
        for i, (name, values) in enumerate(schema.categories.items()):
            column = left if i % 2 == 0 else right
            typical = schema.typical.get(name)
            index = values.index(typical) if typical in values else 0
            car[name] = column.selectbox(LABELS.get(name, name), values, index=index, key=name)
        for column, (name, bounds) in zip((left, right), schema.ranges.items(), strict=False):
            step = STEPS.get(name, 1.0)
            start = round(float(schema.typical.get(name, bounds.seen_low)) / step) * step
            car[name] = column.number_input(
                LABELS.get(name, name),
                min_value=float(bounds.low),
                max_value=float(bounds.high),
                value=min(max(start, float(bounds.low)), float(bounds.high)),
                step=step,
                format="%.0f",
                help=f"Accepted {bounds.low:,.0f}..{bounds.high:,.0f}; the training cars had "
                f"{bounds.seen_low:,.0f}..{bounds.seen_high:,.0f}",
                key=name,
            )
        boxes = st.columns(4)
        for i, name in enumerate(OPTIONS):
            car[name] = boxes[i % 4].checkbox(
                LABELS.get(name, name), value=bool(schema.typical.get(name, False)), key=name
            )
        submitted = st.form_submit_button("Estimate the price", type="primary")
    return car if submitted else None


def render_price_estimator() -> None:
    """The estimator section: form, predicted price, option effects; how to train if no
    model exists yet."""
    st.subheader("Price estimator")
    service = pricing_service(state.store_key()[0])
    try:
        version, model = service.champion()
    except NoPricingModelError:
        st.info(
            "**No price model yet.** Train one on a pricing file (GetAround columns); it "
            f"becomes the champion:\n\n```\n{TRAIN_COMMAND}\n```",
            icon=":material/sell:",
        )
        return
    except PricingModelUnavailableError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    cv = model.cv
    st.caption(
        f"fleetcast-pricing v{version}, trained on {model.rows:,} cars · {cv.folds}-fold CV: "
        f"RMSE {cv.rmse:.1f} EUR/day, MAE {cv.mae:.1f}, R² {cv.r2:.3f}. Choices come from the "
        "model's training data."
    )
    form, chart = st.columns([3, 2])
    with form:
        car = _form(model)
        if car is not None:
            try:
                price = service.predict(car).prices[0]
            except InvalidCarError as exc:
                st.error("\n\n".join(p.message for p in exc.problems))
            else:
                st.metric("Estimated price", f"{price:,.0f} EUR/day")
    chart.plotly_chart(option_effects_chart(model.option_effects), width="stretch")
