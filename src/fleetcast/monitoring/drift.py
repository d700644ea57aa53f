"""Data drift of the model's inputs and of its target, between a reference window and recent days.

The frame compared is one row per zone and day: the target (``trips``, daily demand per zone)
and the inputs the forecasting models read — demand lags and rolling means (as mlforecast
builds them: the mean over ``window`` days ending the day before), the weekday and day-off
flags, the day's weather and airport arrivals (when the system has them). Calendar columns
that only encode the date (day of year, ISO week, month) are left out: two different windows
always differ in them, which says nothing about the data. Static zone features and city facts
are left out too: they do not change over time.

The recent window is the last ``current_days`` days with demand; the reference is up to
``reference_days`` days before it — the history the model was trained on — starting no
earlier than the first day whose every lag is known. A city with less history than that (a
new system, the small demo) gets smaller windows: whole weeks making up about a third of its
usable days recent (so every weekday counts the same), the rest reference, at least 7 and 14
days. Drift is a warning by default (weather drifts with the seasons); ``degrade = true``
makes it mark the system degraded like an accuracy alert.

Evidently 0.7 (``DataDriftPreset``) tests each column — it picks the method from the column's
type and size unless :class:`DriftConfig` names one — and renders the HTML report.
Evidently takes seconds to import: it is imported only when a check actually runs.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import polars as pl

TARGET: Final = "trips"
"""The target column: daily demand per zone."""

INPUT, TARGET_ROLE = "input", "target"
"""Roles of a compared column."""

CALENDAR_INPUTS: Final = ("weekday", "day_off")
"""Calendar inputs compared (categorical); the date-like ones are left out (module doc)."""

WEATHER_INPUTS: Final = ("temp_max_c", "temp_min_c", "precip_mm", "wind_max_kmh")
"""Weather inputs compared (numerical), when the system has weather."""

ARRIVALS_INPUT: Final = "arrivals"
"""Flights landed at the system's airports that day (numerical), when any are stored."""

COLUMNS_SCHEMA: dict[str, pl.DataType] = {
    "column": pl.String(),
    "role": pl.String(),
    "method": pl.String(),
    "threshold": pl.Float64(),
    "score": pl.Float64(),
    "drifted": pl.Boolean(),
}
"""Columns of :attr:`DriftResult.columns` (the ``monitor_drift_columns`` table's figures)."""


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """What a drift check compares and when it marks the system degraded.

    ``current_days`` recent days against up to ``reference_days`` days before them (at least
    ``min_reference_days``; with less history the windows shrink when ``shrink``, else the
    check is skipped with a note). Drift is found when the target drifts or more than
    ``max_drift_share`` of the inputs drift; it marks the system degraded only with
    ``degrade`` (otherwise it is a warning among the run's notes). ``method`` / ``cat_method``:
    an Evidently stattest for the numerical / categorical columns (e.g. ``wasserstein``,
    ``jensenshannon``), ``threshold`` for every column (None: Evidently's choice per column).
    ``lags`` and ``rolling_windows``: the demand features compared (days back; window days).
    ``save_report``: write Evidently's HTML report per run, keeping the newest ``keep_reports``.
    """

    enabled: bool = True
    current_days: int = 28
    reference_days: int = 180
    min_reference_days: int = 56
    max_drift_share: float = 0.5
    method: str | None = None
    cat_method: str | None = None
    threshold: float | None = None
    lags: tuple[int, ...] = (1, 7, 14, 28)
    rolling_windows: tuple[int, ...] = (7, 28)
    save_report: bool = True
    keep_reports: int = 30
    shrink: bool = True
    degrade: bool = False

    def __post_init__(self) -> None:
        for name in ("lags", "rolling_windows"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        problems = []
        if not 7 <= self.current_days <= 366:
            problems.append(f"current_days={self.current_days} (allowed 7..366)")
        if not 7 <= self.min_reference_days <= self.reference_days <= 1096:
            problems.append(
                f"min_reference_days={self.min_reference_days}, reference_days="
                f"{self.reference_days} (allowed 7 <= min_reference_days <= reference_days "
                "<= 1096)"
            )
        if not 0.0 <= self.max_drift_share < 1.0:
            problems.append(f"max_drift_share={self.max_drift_share} (allowed 0..1, below 1)")
        if self.keep_reports < 1:
            problems.append(f"keep_reports={self.keep_reports} (at least 1)")
        if self.threshold is not None and not self.threshold > 0:
            problems.append(f"threshold={self.threshold} (must be > 0)")
        if not all(isinstance(n, int) and 1 <= n <= 366 for n in self.lags):
            problems.append(f"lags={self.lags!r} (days back, 1..366)")
        if not all(isinstance(n, int) and 2 <= n <= 366 for n in self.rolling_windows):
            problems.append(f"rolling_windows={self.rolling_windows!r} (window days, 2..366)")
        if problems:
            raise ValueError("drift settings not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DriftConfig:
        """Build from a ``[monitoring.drift]`` table; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"[monitoring.drift] key(s) {sorted(unknown)} not understood; "
                f"known keys are {sorted(known)}"
            )
        return cls(**dict(data))

    @property
    def lookback_days(self) -> int:
        """Days of history the longest demand feature reaches back."""
        return max([*self.lags, *self.rolling_windows, 0])

    def input_columns(self, *, weather: bool, arrivals: bool = False) -> list[str]:
        """The inputs compared, demand features first."""
        demand = [f"lag_{n}" for n in self.lags] + [
            f"rolling_mean_{n}" for n in self.rolling_windows
        ]
        context = [*(WEATHER_INPUTS if weather else ()), *([ARRIVALS_INPUT] if arrivals else [])]
        return [*demand, *CALENDAR_INPUTS, *context]


@dataclass(frozen=True, slots=True)
class DriftWindows:
    """The reference days and the current (recent) days compared, both inclusive."""

    reference_start: date
    reference_end: date
    current_start: date
    current_end: date

    @property
    def reference_days(self) -> int:
        """Days in the reference window."""
        return (self.reference_end - self.reference_start).days + 1

    @property
    def current_days(self) -> int:
        """Days in the current window."""
        return (self.current_end - self.current_start).days + 1

    def as_dict(self) -> dict[str, str]:
        """ISO days, JSON-ready."""
        return {
            "reference_start": self.reference_start.isoformat(),
            "reference_end": self.reference_end.isoformat(),
            "current_start": self.current_start.isoformat(),
            "current_end": self.current_end.isoformat(),
        }


_MIN_CURRENT, _MIN_REFERENCE = 7, 14
"""The smallest windows a short history shrinks to."""


def drift_windows(
    first_day: date, last_day: date, config: DriftConfig | None = None
) -> DriftWindows | str:
    """The windows to compare for demand from ``first_day`` to ``last_day``, or why there is
    not enough history (a sentence for the run's notes)."""
    config = config or DriftConfig()
    earliest = first_day + timedelta(days=config.lookback_days)
    usable = (last_day - earliest).days + 1
    current_days = config.current_days
    if usable < config.current_days + config.min_reference_days:
        if not config.shrink or usable < _MIN_CURRENT + _MIN_REFERENCE:
            need = config.lookback_days + (
                _MIN_CURRENT + _MIN_REFERENCE
                if config.shrink
                else config.current_days + config.min_reference_days
            )
            days = (last_day - first_day).days + 1
            return (
                f"data drift needs {need} days of demand ({config.lookback_days} for the "
                f"lags, then recent and reference days); {days} stored: drift not checked"
            )
        current_days = min(config.current_days, max(_MIN_CURRENT, usable // 3 // 7 * 7))
    current_end = last_day
    current_start = last_day - timedelta(days=current_days - 1)
    reference_end = current_start - timedelta(days=1)
    reference_start = max(earliest, reference_end - timedelta(days=config.reference_days - 1))
    return DriftWindows(reference_start, reference_end, current_start, current_end)


def drift_frame(
    demand: pl.DataFrame,
    weather: pl.DataFrame | None = None,
    holidays: Collection[date] = (),
    *,
    arrivals: pl.DataFrame | None = None,
    config: DriftConfig | None = None,
) -> pl.DataFrame:
    """One row per zone and day of ``demand`` (zone_id, date, trips): the target and every
    input :meth:`DriftConfig.input_columns` names (weather only when ``weather`` has rows,
    arrivals — ``date, arrivals``, null on days without a row — only when ``arrivals`` has).

    A day missing for a zone between its first day and the system's last is a day without
    trips (0). ``lag_n`` is the zone's demand ``n`` days before; ``rolling_mean_n`` the mean
    of the ``n`` days before (null until the zone has that history); ``weekday`` is
    1 (Monday) .. 7, ``day_off`` 1 on a weekend day or a public holiday.
    """
    config = config or DriftConfig()
    days = pl.Series("holidays", sorted(holidays), dtype=pl.Date).implode()
    rows = demand.select("zone_id", pl.col("date").cast(pl.Date), pl.col(TARGET).cast(pl.Float64))
    last = rows["date"].max()
    grid = (
        rows.group_by("zone_id")
        .agg(pl.col("date").min().alias("first"))
        .select("zone_id", pl.date_ranges("first", pl.lit(last, dtype=pl.Date)).alias("date"))
        .explode("date")
    )
    frame = (
        grid.join(rows, on=["zone_id", "date"], how="left")
        .with_columns(pl.col(TARGET).fill_null(0.0))
        .sort("zone_id", "date")
    )
    frame = frame.with_columns(
        *(pl.col(TARGET).shift(n).over("zone_id").alias(f"lag_{n}") for n in config.lags),
        *(
            pl.col(TARGET).shift(1).rolling_mean(n).over("zone_id").alias(f"rolling_mean_{n}")
            for n in config.rolling_windows
        ),
        pl.col("date").dt.weekday().cast(pl.Int8).alias("weekday"),
        (pl.col("date").is_in(days) | (pl.col("date").dt.weekday() >= 6))
        .cast(pl.Int8)
        .alias("day_off"),
    )
    has_weather = weather is not None and not weather.is_empty()
    if has_weather:
        assert weather is not None
        day = weather.select(
            pl.col("date").cast(pl.Date), *(pl.col(c).cast(pl.Float64) for c in WEATHER_INPUTS)
        ).unique("date", keep="first")
        frame = frame.join(day, on="date", how="left")
    has_arrivals = arrivals is not None and not arrivals.is_empty()
    if has_arrivals:
        assert arrivals is not None
        flights = arrivals.select(
            pl.col("date").cast(pl.Date), pl.col(ARRIVALS_INPUT).cast(pl.Float64)
        ).unique("date", keep="first")
        frame = frame.join(flights, on="date", how="left")
    inputs = config.input_columns(weather=has_weather, arrivals=has_arrivals)
    return frame.select("zone_id", "date", TARGET, *inputs)


@dataclass(frozen=True)
class DriftResult:
    """What a drift check found: the windows, per column the method, threshold, score and
    verdict, and the Evidently snapshot the HTML report is rendered from."""

    windows: DriftWindows
    reference_rows: int
    current_rows: int
    columns: pl.DataFrame
    max_drift_share: float
    snapshot: Any = field(default=None, repr=False)

    @property
    def inputs(self) -> pl.DataFrame:
        """The input columns' rows."""
        return self.columns.filter(pl.col("role") == INPUT)

    @property
    def drifted_inputs(self) -> list[str]:
        """Names of the inputs that drifted."""
        return self.inputs.filter(pl.col("drifted"))["column"].to_list()

    @property
    def drift_share(self) -> float:
        """Share of the inputs that drifted (0 with no input)."""
        n = self.inputs.height
        return len(self.drifted_inputs) / n if n else 0.0

    @property
    def target(self) -> dict[str, Any] | None:
        """The target's row, None when it was not compared."""
        rows = self.columns.filter(pl.col("role") == TARGET_ROLE).to_dicts()
        return rows[0] if rows else None

    @property
    def target_drifted(self) -> bool:
        """True when the target's distribution drifted."""
        target = self.target
        return bool(target and target["drifted"])

    def problems(self) -> list[str]:
        """Why this drift marks the system degraded (empty when it does not)."""
        out = []
        target = self.target
        if target is not None and target["drifted"]:
            out.append(
                f"target drift: daily demand per zone of {self.windows.current_start}.."
                f"{self.windows.current_end} differs from the reference "
                f"({target['method']} {target['score']:.3g}, threshold {target['threshold']:g})"
            )
        if self.drift_share > self.max_drift_share:
            names = ", ".join(self.drifted_inputs)
            out.append(
                f"input drift: {len(self.drifted_inputs)} of {self.inputs.height} model inputs "
                f"drifted ({self.drift_share:.0%}, limit {self.max_drift_share:.0%}): {names}"
            )
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (stored with the monitor run)."""
        return {
            **self.windows.as_dict(),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "inputs": self.inputs.height,
            "drifted_inputs": self.drifted_inputs,
            "drift_share": self.drift_share,
            "max_drift_share": self.max_drift_share,
            "target_drifted": self.target_drifted,
            "columns": self.columns.to_dicts(),
        }

    def save_html(self, path: Path) -> Path:
        """Write the Evidently HTML report to ``path`` atomically (a temporary file in the same
        folder, then a rename), so a reader never sees half a report."""
        if self.snapshot is None:
            raise ValueError("this drift result has no Evidently snapshot to render")
        html: str = self.snapshot.get_html_str(as_iframe=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(html)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _to_pandas(frame: pl.DataFrame, columns: list[str]) -> Any:
    return frame.select(columns).to_pandas()


def compare(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    *,
    inputs: list[str],
    target: str | None = TARGET,
    categorical: Collection[str] = CALENDAR_INPUTS,
    windows: DriftWindows,
    config: DriftConfig | None = None,
) -> DriftResult:
    """Evidently's data drift of ``inputs`` and ``target`` between two frames.

    ``categorical`` names the inputs compared as categories (the rest are numerical). Each
    column gets Evidently's verdict: a distance above its threshold, or a p-value below it.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    config = config or DriftConfig()
    names = [*inputs, *([target] if target else [])]
    cats = [c for c in names if c in set(categorical)]
    definition = DataDefinition(
        numerical_columns=[c for c in names if c not in set(cats)], categorical_columns=cats
    )
    ref = Dataset.from_pandas(_to_pandas(reference, names), data_definition=definition)
    cur = Dataset.from_pandas(_to_pandas(current, names), data_definition=definition)
    preset = DataDriftPreset(
        columns=names,
        drift_share=config.max_drift_share,
        num_method=config.method,
        cat_method=config.cat_method,
        threshold=config.threshold,
    )
    with warnings.catch_warnings():  # numpy's divide warnings on constant columns
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(current_data=cur, reference_data=ref)
    columns = _column_figures(snapshot.dict(), target=target)
    order = {name: i for i, name in enumerate(names)}
    columns = columns.sort(pl.col("column").replace_strict(order, return_dtype=pl.Int32))
    return DriftResult(
        windows=windows,
        reference_rows=reference.height,
        current_rows=current.height,
        columns=columns,
        max_drift_share=config.max_drift_share,
        snapshot=snapshot,
    )


def _column_figures(data: dict[str, Any], *, target: str | None) -> pl.DataFrame:
    """Per column: method, threshold, score (from the ValueDrift metrics) and the verdict
    (the metric's test failed = drifted)."""
    failed = {
        t["metric_config"]["metric_id"]
        for t in data.get("tests", [])
        if t.get("status") == "FAIL" and t.get("id") == "drift"
    }
    rows = []
    for metric in data["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        value = metric["value"]
        score = None if value is None or value != value else float(value)
        rows.append(
            {
                "column": config["column"],
                "role": TARGET_ROLE if config["column"] == target else INPUT,
                "method": str(config["method"]),
                "threshold": float(config["threshold"]),
                "score": score,
                "drifted": metric["id"] in failed,
            }
        )
    return pl.DataFrame(rows, schema=COLUMNS_SCHEMA, orient="row")


def check_drift(
    demand: pl.DataFrame,
    weather: pl.DataFrame | None = None,
    holidays: Collection[date] = (),
    *,
    arrivals: pl.DataFrame | None = None,
    config: DriftConfig | None = None,
) -> DriftResult | str:
    """The drift of a system's inputs and target between its reference window and its recent
    days (:func:`drift_windows`), or why it could not be checked. An input without any value
    in one of the windows (arrivals stored only lately) is left out of the comparison."""
    config = config or DriftConfig()
    if demand.is_empty():
        return "no daily demand: drift not checked"
    first, last = demand["date"].min(), demand["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    windows = drift_windows(first, last, config)
    if isinstance(windows, str):
        return windows
    frame = drift_frame(demand, weather, holidays, arrivals=arrivals, config=config)
    reference = frame.filter(
        pl.col("date").is_between(windows.reference_start, windows.reference_end)
    )
    current = frame.filter(pl.col("date").is_between(windows.current_start, windows.current_end))
    inputs = [
        c
        for c in frame.columns
        if c not in ("zone_id", "date", TARGET)
        and reference[c].null_count() < reference.height
        and current[c].null_count() < current.height
    ]
    return compare(reference, current, inputs=inputs, windows=windows, config=config)


__all__ = [
    "ARRIVALS_INPUT",
    "CALENDAR_INPUTS",
    "COLUMNS_SCHEMA",
    "INPUT",
    "TARGET",
    "TARGET_ROLE",
    "WEATHER_INPUTS",
    "DriftConfig",
    "DriftResult",
    "DriftWindows",
    "check_drift",
    "compare",
    "drift_frame",
    "drift_windows",
]
