"""Data drift on tiny frames: the windows (and how a short history shrinks them), the compared
frame against a plain-Python oracle, Evidently's verdicts on a shifted and a stable city, the
HTML report, and the settings' checks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.drift import (
    DriftConfig,
    DriftResult,
    DriftWindows,
    check_drift,
    drift_frame,
    drift_windows,
)

START = date(2026, 1, 5)
"""A Monday."""


def city(days: int, *, zones: int = 12, shift_last: int = 0, factor: float = 1.0) -> pl.DataFrame:
    """Poisson demand per zone and day (seeded), its last ``shift_last`` days ``factor`` x."""
    rng = np.random.default_rng(3)
    rows = []
    for z in range(zones):
        base = 5 + 3 * z
        for d in range(days):
            scale = factor if d >= days - shift_last else 1.0
            rows.append((f"z{z}", START + timedelta(days=d), int(rng.poisson(base * scale))))
    return pl.DataFrame(rows, schema=["zone_id", "date", "trips"], orient="row")


def test_enough_history_gets_the_configured_windows() -> None:
    """28 recent days against the 180 before them, all after the 28 days of lags."""
    last = START + timedelta(days=399)
    w = drift_windows(START, last)
    assert isinstance(w, DriftWindows)
    assert (w.current_start, w.current_end) == (last - timedelta(days=27), last)
    assert w.reference_end == w.current_start - timedelta(days=1)
    assert w.reference_days == 180 and w.current_days == 28


def test_a_short_history_shrinks_to_whole_weeks() -> None:
    """60 days, 28 of them for lags: 32 usable, 7 recent (whole weeks, a third at most) and
    the 25 before as reference, starting on the first day with every lag."""
    w = drift_windows(START, START + timedelta(days=59))
    assert isinstance(w, DriftWindows)
    assert w.current_days == 7
    assert w.reference_start == START + timedelta(days=28)
    assert w.reference_days == 25


@pytest.mark.parametrize(
    ("days", "config"),
    [(40, DriftConfig()), (100, DriftConfig(shrink=False))],
)
def test_too_little_history_says_why(days: int, config: DriftConfig) -> None:
    """Under 28 + 7 + 14 days (or the full windows without shrinking): a sentence, no check."""
    message = drift_windows(START, START + timedelta(days=days - 1), config)
    assert isinstance(message, str)
    assert f"{days} stored" in message and "drift not checked" in message


def test_the_frame_matches_a_plain_python_oracle() -> None:
    """Lags and rolling means of the days before, a missing day counted as 0 trips, weekday
    1..7 and day_off on weekends and holidays; weather joined by day."""
    trips = {"a": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3], "b": [2, 7, 1, 8, 2, 8, 1, 8, 2, 8]}
    days = [START + timedelta(days=i) for i in range(10)]
    demand = pl.DataFrame(
        [(z, d, t) for z, ts in trips.items() for d, t in zip(days, ts, strict=True)],
        schema=["zone_id", "date", "trips"],
        orient="row",
    ).filter(~((pl.col("zone_id") == "b") & (pl.col("date") == days[4])))
    trips["b"][4] = 0
    weather = pl.DataFrame(
        {
            "date": days,
            "temp_max_c": [float(i) for i in range(10)],
            "temp_min_c": [0.0] * 10,
            "precip_mm": [1.0] * 10,
            "wind_max_kmh": [2.0] * 10,
        }
    )
    holiday = days[2]
    config = DriftConfig(lags=(1, 3), rolling_windows=(2,))
    frame = drift_frame(demand, weather, {holiday}, config=config)
    assert frame.columns == [
        "zone_id",
        "date",
        "trips",
        "lag_1",
        "lag_3",
        "rolling_mean_2",
        "weekday",
        "day_off",
        *("temp_max_c", "temp_min_c", "precip_mm", "wind_max_kmh"),
    ]
    for row in frame.iter_rows(named=True):
        ts, i = trips[row["zone_id"]], days.index(row["date"])
        assert row["trips"] == ts[i]
        assert row["lag_1"] == (ts[i - 1] if i >= 1 else None)
        assert row["lag_3"] == (ts[i - 3] if i >= 3 else None)
        assert row["rolling_mean_2"] == (
            pytest.approx((ts[i - 1] + ts[i - 2]) / 2) if i >= 2 else None
        )
        assert row["weekday"] == row["date"].isoweekday()
        assert row["day_off"] == int(row["date"] == holiday or row["date"].isoweekday() >= 6)
        assert row["temp_max_c"] == float(i)


@pytest.fixture(scope="module")
def shifted() -> DriftResult:
    """A city whose last 14 of 77 days carry three times the demand."""
    result = check_drift(city(77, shift_last=14, factor=3.0), config=SMALL)
    assert isinstance(result, DriftResult)
    return result


SMALL = DriftConfig(current_days=14, min_reference_days=14, lags=(1, 7), rolling_windows=(7,))
"""Two weeks against the weeks before, two lags and one rolling mean."""


def test_a_demand_shift_is_target_and_input_drift(shifted: DriftResult) -> None:
    """Tripled demand: the target and the one-day lag drift; weekday and day_off do not (whole
    weeks); drift share over a half, and both problems are named."""
    cols = {r["column"]: r for r in shifted.columns.to_dicts()}
    assert shifted.target_drifted and cols["trips"]["role"] == "target"
    assert cols["lag_1"]["drifted"] and not cols["weekday"]["drifted"]
    assert not cols["day_off"]["drifted"]
    assert "lag_1" in shifted.drifted_inputs
    assert set(shifted.drifted_inputs) <= {"lag_1", "lag_7", "rolling_mean_7"}
    problems = shifted.problems()
    assert any(p.startswith("target drift") for p in problems)
    summary = shifted.summary()
    assert summary["inputs"] == 5 and summary["current_rows"] == 12 * 14
    assert all(c["method"] and c["threshold"] > 0 for c in summary["columns"])


def test_a_stable_city_does_not_drift() -> None:
    """The same Poisson rates throughout: neither the target nor any input drifts."""
    result = check_drift(city(77), config=SMALL)
    assert isinstance(result, DriftResult)
    assert not result.target_drifted and result.drifted_inputs == []
    assert result.problems() == []


def test_the_html_report_is_written_whole(shifted: DriftResult, tmp_path: Path) -> None:
    """One self-contained HTML file, no temporary file left beside it."""
    path = shifted.save_html(tmp_path / "reports" / "drift.html")
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<html") or "<!doctype html" in text[:200].lower()
    assert "trips" in text
    assert [p.name for p in path.parent.iterdir()] == ["drift.html"]


def test_nonsense_settings_are_refused_all_at_once() -> None:
    """Every bad value is named in one error; unknown keys of [monitoring.drift] too."""
    with pytest.raises(ValueError, match=r"current_days=3.*max_drift_share=1\.5.*lags"):
        DriftConfig(current_days=3, max_drift_share=1.5, lags=(0,))
    with pytest.raises(ValueError, match="windows"):
        DriftConfig.from_mapping({"windows": 3})


def test_monitoring_config_reads_the_drift_table_per_system() -> None:
    """[monitoring.drift] applies to every system, [monitoring.systems.<id>.drift] over it."""
    data = {
        "drift": {"current_days": 14, "lags": [1, 7]},
        "systems": {"demo": {"drift": {"degrade": True}}},
    }
    demo = MonitorConfig.from_mapping(data, system_id="demo").drift
    other = MonitorConfig.from_mapping(data, system_id="other").drift
    assert (demo.current_days, demo.lags, demo.degrade) == (14, (1, 7), True)
    assert other.degrade is False and other.input_columns(weather=False)[:2] == ["lag_1", "lag_7"]


def test_arrivals_are_an_input_when_stored_in_both_windows() -> None:
    """Airport arrivals join by day; stored over the whole history they are compared (and a
    tripling drifts), stored only in the recent days they are left out."""
    demand = city(77)
    days = sorted(set(demand["date"].to_list()))
    flights = pl.DataFrame({"date": days, "arrivals": [300.0] * 63 + [900.0] * 14})
    frame = drift_frame(demand, arrivals=flights, config=SMALL)
    assert frame.columns[-1] == "arrivals"
    assert frame.filter(pl.col("date") == days[-1])["arrivals"].unique().to_list() == [900.0]
    result = check_drift(demand, arrivals=flights, config=SMALL)
    assert isinstance(result, DriftResult)
    assert "arrivals" in result.drifted_inputs
    recent = flights.filter(pl.col("date") > days[-14])
    result = check_drift(demand, arrivals=recent, config=SMALL)
    assert isinstance(result, DriftResult)
    assert "arrivals" not in result.columns["column"].to_list()
