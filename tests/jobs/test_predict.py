"""The serving cache reloads when forecasts change and only then."""

from __future__ import annotations

import uuid
from datetime import timedelta

import polars as pl
import pytest

from fleetcast.jobs import forecast as fc
from fleetcast.jobs.predict import Predictor, ServingCache
from fleetcast.store import Store, records


def test_cache_reloads_only_when_a_new_forecast_is_written(served_store: Store) -> None:
    """A second sync is a no-op; writing an earlier issue's forecasts does not change the
    newest issue but does reload; the view then answers the same newest issue."""
    cache = ServingCache(served_store)
    assert cache.sync() is True
    assert cache.sync() is False
    view = cache.views["demo"]
    assert view.issue is not None and len(view.rows) == 270
    fc.forecast(served_store, "demo", issued_on=view.issue - timedelta(days=1))
    assert cache.sync() is True
    assert cache.views["demo"].issue == view.issue


def test_resolve_finds_zones_by_name_or_id(served_store: Store) -> None:
    """Names match case- and space-insensitively; ids match exactly."""
    cache = ServingCache(served_store)
    cache.sync()
    predictor = Predictor(served_store, cache)
    view = cache.views["demo"]
    zone_id, name = next(iter(view.zone_names.items()))
    assert predictor.resolve(system=None, community=name.upper(), zone_id=None)[1] == zone_id
    assert predictor.resolve(system="demo", community=None, zone_id=zone_id)[1] == zone_id


def test_stamp_follows_zone_renames_and_ingests(served_store: Store) -> None:
    """Renaming a zone or logging an ingest changes the stamp, so the cache reloads."""
    cache = ServingCache(served_store)
    cache.sync()
    with served_store.connect() as conn:
        zones = records.load_zones(conn, "demo")
    first = zones.row(0, named=True)
    renamed = zones.head(1).with_columns(pl.lit(first["name"] + " (new)").alias("name"))
    try:
        with served_store.begin() as conn:
            records.save_zones(conn, "demo", renamed)
        assert cache.sync() is True
        assert cache.views["demo"].zone_names[first["zone_id"]].endswith("(new)")
    finally:
        with served_store.begin() as conn:
            records.save_zones(conn, "demo", zones.head(1))
    cache.sync()
    with served_store.begin() as conn:
        records.start_ingest(
            conn,
            ingest_id=str(uuid.uuid4()),
            system_id="demo",
            source="test",
            dataset="trips",
            location="test://revision",
            content_sha256=None,
        )
    assert cache.sync() is True


def test_an_issue_date_holds_one_model_version(served_store: Store) -> None:
    """Writing another version's forecasts for an issue date replaces the earlier ones."""
    with served_store.connect() as conn:
        issue = records.latest_issue(conn, "demo")
        frame = records.load_forecasts(conn, "demo", issued_on=issue)
    assert issue is not None
    try:
        with served_store.begin() as conn:
            records.save_forecasts(conn, "demo", frame, issued_on=issue, model_version="other@v9")
        with served_store.connect() as conn:
            again = records.load_forecasts(conn, "demo", issued_on=issue)
        assert again["model_version"].unique().to_list() == ["other@v9"]
        assert again.height == frame.height
    finally:
        version = frame["model_version"][0]
        with served_store.begin() as conn:
            records.save_forecasts(conn, "demo", frame, issued_on=issue, model_version=version)


def test_non_finite_forecasts_are_refused(served_store: Store) -> None:
    """A NaN mean is an error and leaves the stored issue as it was."""
    with served_store.connect() as conn:
        issue = records.latest_issue(conn, "demo")
        frame = records.load_forecasts(conn, "demo", issued_on=issue)
    assert issue is not None
    broken = frame.with_columns(
        pl.when(pl.col("zone_id") == "Z001")
        .then(float("nan"))
        .otherwise(pl.col("mean"))
        .alias("mean")
    )
    with pytest.raises(ValueError, match="NaN"), served_store.begin() as conn:
        records.save_forecasts(conn, "demo", broken, issued_on=issue, model_version="x@v1")
    with served_store.connect() as conn:
        assert records.load_forecasts(conn, "demo", issued_on=issue).equals(frame)


def test_a_broken_registry_is_model_unavailable(
    served_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the registry cannot be read, a past day is a ModelUnavailableError, not a crash."""
    from fleetcast.jobs import forecast as fc

    class Broken:
        def champion(self, system_id: str) -> None:
            raise OSError("artifacts gone")

    monkeypatch.setattr(fc, "registry_for", lambda store: Broken())
    cache = ServingCache(served_store)
    cache.sync()
    view = cache.views["demo"]
    assert view.last_day is not None
    with pytest.raises(fc.ModelUnavailableError, match="stored forecasts still answer"):
        Predictor(served_store, cache).predict_slow(
            view, "Z001", view.last_day - timedelta(days=10)
        )
