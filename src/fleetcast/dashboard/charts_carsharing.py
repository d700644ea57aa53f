"""Plotly figures of the car-sharing page: the delay policy's trade-off over thresholds and
scopes, and the late check-out facts. They draw the analysis' results; they compute nothing."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from fleetcast.analytics.delay_policy import DelayFacts, PolicyPoint

SCOPE_COLOURS = {"all": "#1f2937", "connect": "#1c7ed6", "mobile": "#f08c00"}
SOLVED = "#2b8a3e"
REVENUE = "#c92a2a"
HEIGHT_PX = 360


def _layout(fig: go.Figure, *, x_title: str, y_title: str, percent_x: bool = False) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT_PX,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis_title=x_title,
        yaxis_title=y_title,
    )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    if percent_x:
        fig.update_xaxes(tickformat=".1%", rangemode="tozero")
    return fig


def threshold_curves(points: Sequence[PolicyPoint], *, threshold: int, scope: str) -> go.Figure:
    """Over thresholds, one scope: the share of its problematic cases solved and the share of
    revenue blocked, with the chosen threshold marked."""
    x = [p.threshold_min for p in points]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p.solved_share_of_scope for p in points],
            mode="lines",
            line={"color": SOLVED, "width": 2.5, "shape": "hv"},
            name=f"Problems solved ({scope})",
            hovertemplate="%{y:.1%} of the scope's problematic cases<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p.revenue_share for p in points],
            mode="lines",
            line={"color": REVENUE, "width": 2.5, "dash": "dash", "shape": "hv"},
            name="Revenue blocked",
            hovertemplate="%{y:.1%} of revenue blocked<extra></extra>",
        )
    )
    fig.add_vline(
        x=threshold,
        line={"color": "#495057", "width": 1.5, "dash": "dot"},
        annotation_text=f"{threshold} min",
        annotation_position="top right",
    )
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(dtick=60)
    return _layout(fig, x_title="Minimum delay between two rentals (minutes)", y_title="Share")


def trade_off_frontier(curve: Sequence[PolicyPoint], *, threshold: int, scope: str) -> go.Figure:
    """Revenue blocked against the share of all problematic cases solved, a line per scope
    through its thresholds; the chosen threshold is a large marker on each line."""
    fig = go.Figure()
    for name, colour in SCOPE_COLOURS.items():
        points = [p for p in curve if p.scope == name]
        if not points:
            continue
        chosen = name == scope
        fig.add_trace(
            go.Scatter(
                x=[p.revenue_share for p in points],
                y=[p.solved_share for p in points],
                mode="lines+markers",
                line={"color": colour, "width": 3 if chosen else 1.5},
                marker={"size": 4},
                opacity=1.0 if chosen else 0.55,
                name=name,
                customdata=[p.threshold_min for p in points],
                hovertemplate=(
                    f"{name}, %{{customdata}} min: %{{y:.1%}} of problems solved, "
                    "%{x:.1%} of revenue blocked<extra></extra>"
                ),
            )
        )
        at = [p for p in points if p.threshold_min == threshold]
        if at:
            fig.add_trace(
                go.Scatter(
                    x=[at[0].revenue_share],
                    y=[at[0].solved_share],
                    mode="markers",
                    marker={"color": colour, "size": 14 if chosen else 9, "symbol": "diamond"},
                    showlegend=False,
                    hovertemplate=f"{name} at {threshold} min<extra></extra>",
                )
            )
    return _layout(
        fig,
        x_title="Revenue blocked (share of ended rentals)",
        y_title="Problematic cases solved (all)",
        percent_x=True,
    )


def delay_histogram(facts: DelayFacts) -> go.Figure:
    """Check-out delays that are not outliers, by check-in type (negative: returned early)."""
    bins = facts.histogram
    x = [(b.start + b.end) / 2 for b in bins]
    width = (bins[0].end - bins[0].start) if bins else 1.0
    fig = go.Figure()
    for kind in ("mobile", "connect"):
        fig.add_trace(
            go.Bar(
                x=x,
                y=[getattr(b, kind) for b in bins],
                width=width,
                name=kind,
                marker_color=SCOPE_COLOURS[kind],
                opacity=0.8,
                customdata=[[b.start, b.end] for b in bins],
                hovertemplate=(
                    f"{kind}: %{{y:,}} check-outs from %{{customdata[0]:.0f}} to "
                    "%{customdata[1]:.0f} min<extra></extra>"
                ),
            )
        )
    fig.add_vline(x=0, line={"color": "#495057", "width": 1})
    fig = _layout(fig, x_title="Check-out delay (minutes; negative is early)", y_title="Rentals")
    fig.update_layout(barmode="stack", bargap=0.05)
    fig.update_yaxes(tickformat=",d")
    return fig


def late_size_bars(facts: DelayFacts) -> go.Figure:
    """Late check-outs by how late, as a share of each check-in type's late check-outs."""
    fig = go.Figure()
    for late in facts.lateness:
        if late.checkin_type == "all":
            continue
        fig.add_trace(
            go.Bar(
                x=[b.label for b in late.late_by_size],
                y=[b.count / late.late if late.late else 0.0 for b in late.late_by_size],
                name=late.checkin_type,
                marker_color=SCOPE_COLOURS.get(late.checkin_type, "#868e96"),
                customdata=[b.count for b in late.late_by_size],
                hovertemplate="%{customdata:,} late check-outs (%{y:.1%})<extra></extra>",
            )
        )
    fig = _layout(fig, x_title="How late", y_title="Share of late check-outs")
    fig.update_layout(barmode="group")
    return fig


def knock_on_bars(facts: DelayFacts) -> go.Figure:
    """Per policy type: how often a late check-out hits the next rental, and how often the
    next rental is canceled when hit and when not."""
    measures = (
        ("Late check-outs that hit the next rental", "late_hits_next_share"),
        ("Next rental canceled when hit", "cancel_share_problematic"),
        ("Next rental canceled otherwise", "cancel_share_not_problematic"),
    )
    fig = go.Figure()
    for knock in facts.knock_on:
        fig.add_trace(
            go.Bar(
                x=[label for label, _ in measures],
                y=[getattr(knock, attr) for _, attr in measures],
                name=knock.policy_type,
                marker_color=SCOPE_COLOURS.get(knock.policy_type, "#868e96"),
                texttemplate="%{y:.0%}",
                textposition="outside",
                hovertemplate="%{y:.1%}<extra></extra>",
            )
        )
    fig = _layout(fig, x_title="", y_title="Share")
    fig.update_layout(barmode="group")
    return fig
