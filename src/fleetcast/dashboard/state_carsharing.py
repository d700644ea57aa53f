"""Cached reads of the car-sharing page, beside ``dashboard.state``: the delay-policy
analysis of a system's stored rentals, keyed by the store and the analysis' parameters."""

from __future__ import annotations

import streamlit as st

from fleetcast.analytics.delay_policy import DelayPolicy, PolicyParams, TradeOff
from fleetcast.dashboard.state import READ_TTL_S, StoreKey, open_store


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def delay_policy(
    key: StoreKey,
    system_id: str,
    *,
    step: int = 15,
    price_per_day: float | None = None,
    min_solved: float = 0.8,
) -> DelayPolicy:
    """The curve, recommendations and facts of a system's rentals (NoRentalsError, not
    cached, when it has none)."""
    from fleetcast.jobs import carsharing

    params = PolicyParams(
        step_min=step, price_per_day=price_per_day, trade_off=TradeOff(min_solved_share=min_solved)
    )
    return carsharing.delay_policy(open_store(*key), system_id, params=params)


def show_no_rentals(system_id: str) -> None:
    """The empty state of a system without rentals: how to load GetAround's delay file."""
    st.info(
        f"**No rentals for {system_id}.** Load a rentals file (GetAround's delay analysis, CSV "
        "or Excel) and this page shows the minimum-delay trade-off:\n\n"
        "```\nfleetcast carsharing delay-policy get_around_delay_analysis.xlsx "
        f"--system {system_id}\n```",
        icon=":material/directions_car:",
    )
