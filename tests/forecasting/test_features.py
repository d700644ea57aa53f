"""Model features against plain-Python oracles: calendar, holidays, weather, climatology, zones."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from fleetcast.forecasting import features as ft


def days_frame(first: date, n: int) -> pl.DataFrame:
    """A frame with one ``date`` column: ``n`` consecutive days from ``first``."""
    return pl.DataFrame({"date": [first + timedelta(days=i) for i in range(n)]})


def weather_frame(first: date, n: int) -> pl.DataFrame:
    """Weather whose every value encodes its day index, so joins are easy to check."""
    return pl.DataFrame(
        {
            "date": [first + timedelta(days=i) for i in range(n)],
            "temp_max_c": [float(i) for i in range(n)],
            "temp_min_c": [float(i) - 5 for i in range(n)],
            "precip_mm": [float(i % 3) for i in range(n)],
            "wind_max_kmh": [10.0 + i for i in range(n)],
        }
    )


def test_calendar_features_match_pythons_calendar() -> None:
    """Over two years with a leap day, every calendar column equals what ``datetime`` says."""
    frame = ft.add_calendar_features(days_frame(date(2023, 12, 1), 800))
    for row in frame.iter_rows(named=True):
        day: date = row["date"]
        assert row["day_of_year"] == day.timetuple().tm_yday
        assert row["weekday"] == day.isoweekday()
        assert row["weekend"] == int(day.isoweekday() >= 6)
        assert row["iso_week"] == day.isocalendar().week
        assert row["month"] == day.month
    assert set(ft.CALENDAR_FEATURES) <= set(frame.columns)


def test_holiday_flags_mark_the_day_its_neighbours_and_days_off() -> None:
    """Independence Day 2026 falls on a Saturday: flags on the 3rd, 4th and 5th of July;
    day_off on the weekend and on a weekday holiday (Labor Day, 7 September)."""
    holidays = {date(2026, 7, 4), date(2026, 9, 7)}
    frame = ft.add_holiday_features(days_frame(date(2026, 7, 1), 70), holidays)
    rows = {r["date"]: r for r in frame.iter_rows(named=True)}
    assert rows[date(2026, 7, 3)]["day_before_holiday"] == 1
    assert rows[date(2026, 7, 4)]["holiday"] == 1
    assert rows[date(2026, 7, 5)]["day_after_holiday"] == 1
    assert rows[date(2026, 7, 6)]["day_after_holiday"] == 0
    assert rows[date(2026, 9, 7)]["day_off"] == 1  # a Monday holiday
    assert rows[date(2026, 9, 8)]["day_off"] == 0
    assert rows[date(2026, 7, 12)]["day_off"] == 1  # a Sunday
    assert sum(r["holiday"] for r in rows.values()) == 2


def test_weather_features_join_the_day_and_the_day_before() -> None:
    """Each day gets its own weather, the previous day's temperature and rain, a wet flag."""
    first = date(2026, 3, 1)
    weather = weather_frame(first, 10)
    frame = ft.add_weather_features(days_frame(first + timedelta(days=1), 5), weather)
    for i, row in enumerate(frame.iter_rows(named=True), start=1):
        assert row["temp_max_c"] == float(i)
        assert row["temp_max_c_prev"] == float(i - 1)
        assert row["precip_mm_prev"] == float((i - 1) % 3)
        assert row["wet"] == int(i % 3 >= 1)


def test_climatology_is_the_mean_of_nearby_days_of_year_across_the_year_end() -> None:
    """Oracle: for 3 January the mean over history rows within 7 days of its day of year,
    counting late December as near (the window wraps around the year)."""
    first = date(2024, 12, 1)
    history = weather_frame(first, 60)  # 1 Dec 2024 .. 29 Jan 2025
    target = date(2026, 1, 3)
    got = ft.climatology(history, [target]).row(0, named=True)

    def near(day: date) -> bool:
        gap = abs(day.timetuple().tm_yday - target.timetuple().tm_yday)
        return min(gap, 366 - gap) <= 7

    values = [r["temp_max_c"] for r in history.iter_rows(named=True) if near(r["date"])]
    assert any(r["date"].month == 12 for r in history.iter_rows(named=True) if near(r["date"]))
    assert got["temp_max_c"] == pytest.approx(sum(values) / len(values))
    assert got["date"] == target


def test_climatology_without_history_is_refused() -> None:
    """Nothing to average is a ValueError, not a row of NaN."""
    with pytest.raises(ValueError, match="no weather history"):
        ft.climatology(weather_frame(date(2026, 1, 1), 0), [date(2026, 1, 5)])


def test_complete_weather_fills_only_the_missing_days_and_names_them() -> None:
    """Rows that exist are kept as they are; missing days (and only those) are climatology
    and appear in ``filled`` and the note."""
    first = date(2026, 1, 1)
    weather = weather_frame(first, 40)
    days = [first + timedelta(days=i) for i in range(38, 43)]  # 3 of them have no row
    done = ft.complete_weather(weather, days, history_until=first + timedelta(days=39))
    assert done.filled == tuple(days[2:])
    assert set(done.frame["date"].to_list()) >= set(days)
    kept = done.frame.filter(pl.col("date") == days[0])["temp_max_c"].item()
    assert kept == 38.0
    assert done.note is not None and days[-1].isoformat() in done.note
    assert "climatology" in done.note


def test_complete_weather_with_every_row_present_has_no_note() -> None:
    """Nothing filled: no note for the job report."""
    first = date(2026, 1, 1)
    done = ft.complete_weather(
        weather_frame(first, 10), [first + timedelta(days=5)], history_until=first
    )
    assert done.filled == () and done.note is None


def test_complete_weather_without_any_history_leaves_nulls_and_says_so() -> None:
    """No weather ever observed: the rows are null (LightGBM's missing values) and the note
    says the features are missing rather than pretending climatology."""
    empty = weather_frame(date(2026, 1, 1), 0)
    done = ft.complete_weather(empty, [date(2026, 2, 1)], history_until=date(2026, 1, 31))
    assert done.frame["temp_max_c"].null_count() == done.frame.height
    assert done.note is not None and "missing" in done.note


def test_zone_codes_are_ranks_of_sorted_ids_and_unknown_zones_get_null() -> None:
    """Codes depend only on the set of zone ids; a zone outside the codes gets a null code."""
    codes = ft.zone_codes(["b", "a", "c", "a"])
    assert codes == {"a": 0, "b": 1, "c": 2}
    zones = pl.DataFrame(
        {"zone_id": ["a", "b", "z"], "area_km2": [1.0, 2.0, 3.0], "centre_km": [0.5, 1.5, 9.0]}
    )
    frame = ft.add_zone_features(pl.DataFrame({"zone_id": ["b", "z"]}), zones, codes)
    assert frame["zone_code"].to_list() == [1, None]
    assert frame["area_km2"].to_list() == [2.0, 3.0]
