"""Plotly figures of the monitoring page: accuracy over time per horizon beside the backtest's
level, and each column's drift score against its threshold. They draw frames; they compute
nothing."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from fleetcast.dashboard.charts import HEIGHT_PX, MODEL_COLOURS

DRIFTED = "#e03131"
STABLE = "#2b8a3e"
METRICS = {
    "wape": ("WAPE", ".0%"),
    "mae": ("MAE (trips per zone)", ".2f"),
    "bias": ("Bias", "+.0%"),
    "coverage": ("10-90% interval coverage", ".0%"),
}
"""Accuracy columns the chart can show: axis title and tick format."""


def _layout(fig: go.Figure, *, y_title: str, y_format: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT_PX,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        hovermode="x unified",
        yaxis_title=y_title,
    )
    fig.update_yaxes(tickformat=y_format)
    return fig


def accuracy_over_time(accuracy: pl.DataFrame, *, metric: str = "wape") -> go.Figure:
    """One line per horizon (and model) of an all-zone accuracy ``metric`` by target day; for
    WAPE the backtest's level of each horizon as a dotted line of the same colour."""
    title, tick = METRICS[metric]
    fig = go.Figure()
    groups = accuracy.sort("horizon", "model_version", "target_date").partition_by(
        "horizon", "model_version", maintain_order=True
    )
    for i, rows in enumerate(groups):
        colour = MODEL_COLOURS[i % len(MODEL_COLOURS)]
        h, model = rows["horizon"][0], rows["model_version"][0]
        name = f"h{h} · {model}"
        fig.add_trace(
            go.Scatter(
                x=rows["target_date"].to_list(),
                y=rows[metric].to_list(),
                mode="lines+markers",
                name=name,
                line={"color": colour, "width": 2},
                hovertemplate=f"{name}: %{{y:{tick}}}<extra></extra>",
            )
        )
        if metric == "wape" and rows["baseline_wape"].drop_nulls().len():
            fig.add_trace(
                go.Scatter(
                    x=rows["target_date"].to_list(),
                    y=rows["baseline_wape"].to_list(),
                    mode="lines",
                    name=f"h{h} backtest",
                    line={"color": colour, "width": 1, "dash": "dot"},
                    hovertemplate=f"h{h} backtest: %{{y:{tick}}}<extra></extra>",
                )
            )
    fig.update_xaxes(tickformat="%Y-%m-%d", hoverformat="%a %Y-%m-%d")
    return _layout(fig, y_title=title, y_format=tick)


MAX_RATIO = 10.0
"""Where the drift-strength bars are cut (a p-value of 0 would be infinitely strong)."""


def drift_strength(columns: pl.DataFrame) -> pl.Series:
    """How far each column is past its threshold, 1 at the threshold and above it drifted: a
    distance over its threshold, or a test's threshold over its p-value (cut at 10)."""
    p_value = pl.col("method").str.contains("(?i)p_value")
    ratio = (
        pl.when(p_value)
        .then(pl.col("threshold") / pl.col("score").clip(lower_bound=1e-12))
        .otherwise(pl.col("score") / pl.col("threshold"))
        .clip(upper_bound=MAX_RATIO)
    )
    return columns.select(ratio.alias("ratio"))["ratio"]


def drift_scores(columns: pl.DataFrame) -> go.Figure:
    """Each column's drift strength (:func:`drift_strength`; the dashed line is the threshold),
    red when Evidently judged the column drifted."""
    rows = columns.with_columns(drift_strength(columns))
    fig = go.Figure(
        go.Bar(
            x=rows["column"].to_list(),
            y=rows["ratio"].to_list(),
            marker_color=[DRIFTED if d else STABLE for d in rows["drifted"].to_list()],
            customdata=list(
                zip(
                    rows["method"].to_list(),
                    rows["score"].to_list(),
                    rows["threshold"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate=(
                "%{x}: %{customdata[0]} %{customdata[1]:.3g} "
                "(threshold %{customdata[2]:g})<extra></extra>"
            ),
        )
    )
    fig.add_hline(y=1.0, line={"color": "#495057", "dash": "dash", "width": 1})
    fig.update_layout(showlegend=False)
    return _layout(fig, y_title="drift strength (1 = threshold)", y_format=".1f")
