"""Live state in the db: stations, newest station status, feed health and watermarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from fleetcast.domain import SystemInfo
from fleetcast.store import Store, records, state

T0 = datetime(2025, 10, 18, 9, tzinfo=UTC)


@pytest.fixture
def paris(store: Store) -> Store:
    """A store with one station-based system."""
    with store.begin() as conn:
        records.save_system(conn, SystemInfo("paris", "Vélib", "Europe/Paris"))
    return store


def _status(station: str, at: datetime, bikes: int) -> dict[str, object]:
    return {
        "station_id": station,
        "observed_at": at,
        "last_reported": at - timedelta(minutes=3),
        "bikes_available": bikes,
        "ebikes_available": 1,
        "bikes_disabled": 0,
        "docks_available": 10 - bikes,
        "docks_disabled": 0,
        "is_installed": True,
        "is_renting": True,
        "is_returning": True,
    }


def test_stations_are_upserted(paris: Store) -> None:
    """Saving a station twice updates it in place."""
    first = pl.DataFrame(
        {
            "station_id": ["1", "2"],
            "name": ["A", "B"],
            "lat": [48.8, 48.9],
            "lon": [2.3, 2.4],
            "capacity": [10, 20],
        }
    )
    with paris.begin() as conn:
        state.save_stations(conn, "paris", first)
        state.save_stations(conn, "paris", first.with_columns(pl.lit(30).alias("capacity")))
    with paris.connect() as conn:
        got = state.load_stations(conn, "paris")
    assert got["station_id"].to_list() == ["1", "2"]
    assert got["capacity"].to_list() == [30, 30]


def test_station_status_keeps_the_newest(paris: Store) -> None:
    """A late, older snapshot does not overwrite a newer status; times read back in UTC."""
    with paris.begin() as conn:
        state.save_station_status(conn, "paris", pl.DataFrame([_status("1", T0, 4)]))
        late = pl.DataFrame([_status("1", T0 - timedelta(minutes=5), 9), _status("2", T0, 2)])
        assert state.save_station_status(conn, "paris", late) == 1
    with paris.connect() as conn:
        got = state.load_station_status(conn, "paris")
    assert got["bikes_available"].to_list() == [4, 2]
    assert got["observed_at"].to_list() == [T0, T0]


def test_feed_state_round_trips(paris: Store) -> None:
    """A feed's poll history is stored and read back whole."""
    feed = state.FeedState(
        "paris",
        "https://x/gbfs.json",
        "gbfs",
        "error",
        version="1.0",
        ttl_s=60,
        last_attempt_at=T0,
        last_success_at=T0 - timedelta(minutes=2),
        failures=2,
        last_error="timed out",
        warnings=("integer station_id",),
    )
    with paris.begin() as conn:
        state.save_feed_state(conn, feed)
    with paris.connect() as conn:
        assert state.load_feed_states(conn, "paris") == [feed]


def test_watermarks_per_source_and_entity(paris: Store) -> None:
    """A watermark is None until set, then the last value written."""
    with paris.begin() as conn:
        assert state.get_watermark(conn, "paris", "opsdb", "trips") is None
        state.set_watermark(conn, "paris", "opsdb", "trips", "41")
        state.set_watermark(conn, "paris", "opsdb", "trips", "42")
        state.set_watermark(conn, "paris", "opsdb", "telemetry", "2025-10-18T09:00:00Z")
    with paris.connect() as conn:
        assert state.get_watermark(conn, "paris", "opsdb", "trips") == "42"
        assert state.get_watermark(conn, "paris", "opsdb", "telemetry") == "2025-10-18T09:00:00Z"


def test_deleting_a_system_removes_its_live_state(paris: Store) -> None:
    """Stations, statuses, feeds and watermarks go with their system."""
    with paris.begin() as conn:
        state.save_station_status(conn, "paris", pl.DataFrame([_status("1", T0, 4)]))
        state.set_watermark(conn, "paris", "opsdb", "trips", "1")
        state.save_feed_state(conn, state.FeedState("paris", "u", "gbfs", "ok"))
        records.delete_system(conn, "paris")
    with paris.connect() as conn:
        assert state.load_station_status(conn, "paris").is_empty()
        assert state.get_watermark(conn, "paris", "opsdb", "trips") is None
        assert state.load_feed_states(conn) == []
