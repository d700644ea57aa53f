"""The serving cache reloads when forecasts change and only then."""

from __future__ import annotations

from datetime import timedelta

from fleetcast.jobs import forecast as fc
from fleetcast.jobs.predict import Predictor, ServingCache
from fleetcast.store import Store


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
