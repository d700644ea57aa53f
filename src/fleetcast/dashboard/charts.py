"""Plotly figures of the pages: a zone's history with its forecast fan, backtest forecasts over
actuals, backtest WAPE per model and horizon, the fleet's battery histogram and trips by day
part. They draw frames; they compute nothing."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from fleetcast.analytics.kpis import DAY_PARTS
from fleetcast.dashboard import maps

ACTUAL = "#1f2937"
FORECAST = "#d9480f"
BAND = "rgba(217, 72, 15, 0.18)"
MODEL_COLOURS = ("#1c7ed6", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#495057")
HEIGHT_PX = 380
SMALL_HEIGHT_PX = 280
DAY_TYPE_COLOURS = {"weekday": "#1c7ed6", "weekend": "#f08c00"}
DAY_PART_LABELS = {p.name: f"{p.name}<br>{p.start_hour:02d}–{p.end_hour:02d} h" for p in DAY_PARTS}


def _layout(fig: go.Figure, *, y_title: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT_PX,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "traceorder": "normal",
        },
        hovermode="x unified",
        yaxis_title=y_title,
    )
    fig.update_xaxes(tickformat="%Y-%m-%d", hoverformat="%a %Y-%m-%d")
    fig.update_yaxes(rangemode="tozero", tickformat=",d")
    return fig


def _band(fig: go.Figure, x: list[date], lower: list[float], upper: list[float], name: str) -> None:
    fig.add_trace(
        go.Scatter(
            x=x, y=upper, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=lower,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=BAND,
            name=name,
            hoverinfo="skip",
        )
    )


def forecast_fan(actuals: pl.DataFrame, forecasts: pl.DataFrame) -> go.Figure:
    """Daily trips of one zone, then the forecast mean and its 80% band (q10 to q90)."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=actuals["date"].to_list(),
            y=actuals["trips"].to_list(),
            mode="lines+markers",
            marker={"size": 4},
            line={"color": ACTUAL, "width": 1.5},
            name="Trips",
            hovertemplate="%{y:,.0f}",
        )
    )
    if forecasts.height:
        days = forecasts["target_date"].to_list()
        fig.add_vrect(
            x0=min(days) - timedelta(hours=12),
            x1=max(days) + timedelta(hours=12),
            fillcolor="rgba(120, 120, 120, 0.08)",
            line_width=0,
            annotation_text="forecast",
            annotation_position="top left",
            annotation_font={"size": 11, "color": "#666"},
        )
        _forecast_with_band(fig, forecasts, marker_size=7)
    return _layout(fig, y_title="Trips per day")


def _forecast_with_band(fig: go.Figure, rows: pl.DataFrame, *, marker_size: int) -> None:
    """The 80% band (q10 to q90) and the dashed forecast mean, with both in the hover."""
    days = rows["target_date"].to_list()
    _band(fig, days, rows["q10"].to_list(), rows["q90"].to_list(), "80% band")
    fig.add_trace(
        go.Scatter(
            x=days,
            y=rows["mean"].to_list(),
            mode="lines+markers",
            line={"color": FORECAST, "width": 2, "dash": "dash"},
            marker={"size": marker_size},
            name="Forecast (mean)",
            customdata=list(zip(rows["q10"].to_list(), rows["q90"].to_list(), strict=True)),
            hovertemplate="%{y:,.1f} (80%: %{customdata[0]:,.1f} – %{customdata[1]:,.1f})",
        )
    )


def backtest_overlay(predictions: pl.DataFrame) -> go.Figure:
    """One model's backtest forecasts (mean and 80% band) over what actually happened."""
    rows = predictions.sort("target_date")
    days = rows["target_date"].to_list()
    fig = go.Figure()
    _forecast_with_band(fig, rows, marker_size=6)
    fig.add_trace(
        go.Scatter(
            x=days,
            y=rows["actual"].to_list(),
            mode="lines+markers",
            line={"color": ACTUAL, "width": 1.5},
            marker={"size": 6},
            name="Actual trips",
            hovertemplate="%{y:,.0f}",
        )
    )
    return _layout(fig, y_title="Trips per day")


def wape_bars(metrics: pl.DataFrame) -> go.Figure:
    """Backtest WAPE per horizon, one bar per model (lower is better)."""
    fig = go.Figure()
    for i, model in enumerate(sorted(metrics["model"].unique().to_list())):
        rows = metrics.filter(pl.col("model") == model).sort("horizon")
        fig.add_trace(
            go.Bar(
                x=[f"{h} day{'s' if h > 1 else ''} ahead" for h in rows["horizon"].to_list()],
                y=rows["wape"].to_list(),
                name=model,
                marker_color=MODEL_COLOURS[i % len(MODEL_COLOURS)],
                texttemplate="%{y:.1%}",
                textposition="outside",
                hovertemplate="%{y:.1%}",
            )
        )
    fig.update_layout(
        template="plotly_white",
        height=320,
        barmode="group",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        yaxis_title="WAPE (lower is better)",
    )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _small_layout(fig: go.Figure, *, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=SMALL_HEIGHT_PX,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis_title=x_title,
        yaxis_title=y_title,
        bargap=0.15,
    )
    fig.update_yaxes(rangemode="tozero", tickformat=",d")
    return fig


def battery_bars(histogram: pl.DataFrame) -> go.Figure:
    """Vehicles per battery bin, each bar in the colour the map gives such a vehicle."""
    starts = histogram["bin_start"].to_list()
    ends = histogram["bin_end"].to_list()
    fig = go.Figure(
        go.Bar(
            x=[f"{a}–{b}" for a, b in zip(starts, ends, strict=True)],
            y=histogram["vehicles"].to_list(),
            marker_color=[maps.css(maps.battery_rgb(float(a))) for a in starts],
            customdata=histogram["share"].to_list(),
            hovertemplate="%{y:,} vehicles (%{customdata:.1%})<extra></extra>",
            name="Vehicles",
        )
    )
    fig.update_xaxes(tickangle=0)
    return _small_layout(fig, x_title="Battery (%)", y_title="Vehicles")


def day_part_bars(usage: pl.DataFrame) -> go.Figure:
    """Trips per day in each day part, a bar for weekdays beside one for weekends."""
    fig = go.Figure()
    for day_type, colour in DAY_TYPE_COLOURS.items():
        rows = usage.filter(pl.col("day_type") == day_type)
        if rows.is_empty():
            continue
        days = int(rows.select(pl.col("days").max()).item())
        fig.add_trace(
            go.Bar(
                x=[DAY_PART_LABELS.get(p, p) for p in rows["day_part"].cast(pl.String)],
                y=rows["trips_per_day"].to_list(),
                name=f"{day_type.capitalize()} ({days} day{'s' if days != 1 else ''})",
                marker_color=colour,
                hovertemplate="%{y:,.1f} trips per day<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    return _small_layout(fig, x_title="Day part (local time)", y_title="Trips per day")
