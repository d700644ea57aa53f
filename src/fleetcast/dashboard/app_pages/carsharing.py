"""Car-sharing page: the minimum delay between two rentals of a car. A threshold slider and a
scope selector give the figures at that threshold (rentals and revenue blocked, late
check-outs solved) beside the trade-off curves over every threshold and scope, then the
late check-out facts. The price estimator of the pricing model closes the page.

Rentals are loaded by ``fleetcast carsharing delay-policy FILE --system NAME``; the analysis
is ``jobs.carsharing`` (definitions in ``analytics.delay_policy``).
"""

from __future__ import annotations

import streamlit as st

from fleetcast.analytics.delay_policy import MAX_THRESHOLD_MIN, SCOPES, DelayPolicy, PolicyPoint
from fleetcast.dashboard import charts_carsharing as charts
from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import state, state_carsharing
from fleetcast.dashboard.app_pages._price_form import render_price_estimator
from fleetcast.jobs.carsharing import NoRentalsError

TITLE = "Car sharing: minimum delay between rentals"
STEP_MIN = 15
DEFAULT_THRESHOLD_MIN = 60
SCOPE_LABELS = {
    "all": "All cars",
    "connect": "Connect only",
    "mobile": "Mobile check-in only",
}


def point_at(result: DelayPolicy, scope: str, threshold: int) -> PolicyPoint:
    """The curve's point of a scope at a threshold."""
    return next(p for p in result.points(scope) if p.threshold_min == threshold)


def figures(point: PolicyPoint, total_problems: int) -> None:
    """The policy's figures at the chosen threshold and scope, as metric cards."""
    revenue = fmt.percent(point.revenue_share)
    if point.revenue_blocked is not None:
        revenue += f" ({fmt.count(point.revenue_blocked)} EUR)"
    cards = [
        (
            "Rentals blocked",
            fmt.count(point.blocked_rentals),
            f"{fmt.percent(point.blocked_share)} of all rentals, "
            f"{fmt.percent(point.blocked_share_of_scope)} of the scope's",
            "Rentals whose planned gap to the car's previous rental is below the threshold: "
            "they could not have been booked.",
        ),
        (
            "Revenue blocked",
            revenue,
            f"{fmt.count(point.blocked_ended)} ended rentals",
            "One day of rent per blocked ended rental (the data has no durations); an upper "
            "bound, as a blocked driver may book another slot.",
        ),
        (
            "Problems solved",
            f"{fmt.count(point.solved_cases)} of {fmt.count(point.problem_cases)}",
            f"{fmt.percent(point.solved_share_of_scope)} of the scope's",
            "Problematic cases (the previous driver checked out later than the planned gap) "
            "that the threshold blocks.",
        ),
        (
            "Of all problems",
            fmt.percent(point.solved_share),
            f"{fmt.count(total_problems)} problematic cases in every scope",
            "Solved cases over every problematic case, whatever the scope.",
        ),
        (
            "Cancellations avoided",
            fmt.count(point.solved_cancellations),
            "canceled after a late check-out",
            "Solved cases whose rental was canceled: cancellations likely caused by lateness.",
        ),
    ]
    for column, (label, value, note, help_text) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(
            label,
            value,
            delta=note,
            delta_color="off",
            delta_arrow="off",
            help=help_text,
            border=True,
        )


def recommendations(result: DelayPolicy, scope: str) -> None:
    """The chosen scope's recommended threshold and the best threshold and scope overall."""
    own = result.recommendation_for(scope)
    best = result.best
    st.success(
        f"**Recommended for {SCOPE_LABELS[scope].lower()}: {own.threshold_min} min** — "
        f"{own.why}.  \n"
        f"**Best overall: {best.threshold_min} min, {SCOPE_LABELS[best.scope].lower()}** — "
        f"{best.why}.",
        icon=":material/recommend:",
    )


def late_facts(result: DelayPolicy) -> None:
    """How often and how late drivers check out, and how often it hits the next rental."""
    facts = result.facts
    everyone = facts.lateness[0]
    knock = facts.knock_on[0]
    st.subheader("Late check-outs")
    cols = st.columns(4)
    cols[0].metric(
        "Late check-outs",
        fmt.percent(everyone.late_share),
        help=f"Of {fmt.count(everyone.with_delay)} ended rentals with a measured delay.",
        border=True,
    )
    cols[1].metric(
        "Median delay when late",
        f"{fmt.count(everyone.median_late_min)} min",
        help=f"90% of late check-outs are within {fmt.count(everyone.p90_late_min)} min.",
        border=True,
    )
    cols[2].metric(
        "Late check-outs that hit the next rental",
        fmt.percent(knock.late_hits_next_share),
        help="Of late check-outs followed within 12 h by another rental of the car: those "
        "later than the planned gap.",
        border=True,
    )
    cols[3].metric(
        "Cancellations after a late check-out",
        fmt.count(knock.problematic_canceled),
        help=f"{fmt.percent(knock.cancel_share_problematic)} of rentals hit by a late "
        f"check-out were canceled, against {fmt.percent(knock.cancel_share_not_problematic)} "
        "of the others with a previous rental.",
        border=True,
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Check-out delay by check-in type**")
        st.plotly_chart(charts.delay_histogram(facts), width="stretch")
        outliers = everyone.outliers_low + everyone.outliers_high
        st.caption(
            f"{fmt.count(outliers)} outliers ({fmt.count(everyone.outliers_low)} early, "
            f"{fmt.count(everyone.outliers_high)} late) outside "
            f"{fmt.count(facts.outlier_low_min)} .. {fmt.count(facts.outlier_high_min)} min "
            f"({facts.outlier_method} rule) are left out of the chart and the mean; they still "
            "count as late or early."
        )
    with right:
        st.markdown("**How late, by check-in type**")
        st.plotly_chart(charts.late_size_bars(facts), width="stretch")
    st.markdown("**Knock-on on the next rental, by the previous rental's check-in type**")
    st.plotly_chart(charts.knock_on_bars(facts), width="stretch")


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    st.title(TITLE)
    controls = st.columns([2, 3, 1])
    scope = (
        controls[0].segmented_control(
            "Scope",
            list(SCOPES),
            default="all",
            format_func=SCOPE_LABELS.__getitem__,
            key="carsharing_scope",
            help="Where the minimum delay applies: every car, or only cars whose previous rental "
            "was checked in with Connect (keyless) or on the owner's phone.",
        )
        or "all"
    )
    threshold = controls[1].slider(
        "Minimum delay between two rentals (minutes)",
        min_value=0,
        max_value=MAX_THRESHOLD_MIN,
        value=DEFAULT_THRESHOLD_MIN,
        step=STEP_MIN,
        key="carsharing_threshold",
    )
    price = controls[2].number_input(
        "Price per day (EUR)",
        min_value=0.0,
        max_value=10_000.0,
        value=0.0,
        step=5.0,
        key="carsharing_price",
        help="To show revenue in EUR; 0 shows shares only (they need no price).",
    )
    try:
        result = state_carsharing.delay_policy(
            key, system_id, step=STEP_MIN, price_per_day=price or None
        )
    except NoRentalsError:
        state_carsharing.show_no_rentals(system_id)
        price_estimator_section()
        return
    st.caption(
        f"{fmt.count(result.rentals)} rentals of {system_id}, "
        f"{fmt.count(result.problem_cases)} hit by a late check-out of the previous driver."
    )
    figures(point_at(result, scope, threshold), result.problem_cases)
    recommendations(result, scope)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{SCOPE_LABELS[scope]}: solved vs revenue blocked by threshold**")
        st.plotly_chart(
            charts.threshold_curves(result.points(scope), threshold=threshold, scope=scope),
            width="stretch",
        )
    with right:
        st.markdown("**Trade-off of each scope (marker: the chosen threshold)**")
        st.plotly_chart(
            charts.trade_off_frontier(result.curve, threshold=threshold, scope=scope),
            width="stretch",
        )
    late_facts(result)
    price_estimator_section()


def price_estimator_section() -> None:
    """The bottom of the page: the pricing model's price estimator."""
    st.divider()
    render_price_estimator()


if __name__ == "__main__":
    render()
