"""Point predictions for one zone and day, answered from memory where possible.

:class:`ServingCache` keeps, per system, the zones and the newest issue's forecasts in
memory and reloads a system only when its stamp in the db changes (a new forecast, new
zones, new demand days), so the hot path never touches the db or a model.
:class:`Predictor` answers a (system, zone, day): from the cache, else from any stored
forecast for that day, else — for a past day with enough history — by the champion from
data up to the day before, else with a :class:`NotPredictableError` that says which days can
be answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from time import monotonic
from typing import Any

import polars as pl

from fleetcast.errors import FleetcastError, UnknownSystemError, UnknownZoneError
from fleetcast.forecasting.base import Forecaster, TrainingSet
from fleetcast.store import Store, records

#: Forecast columns kept in memory, in this order.
_ROW = ("horizon", "issued_on", "model_version", "mean", "q50", "q10", "q90")


class NotPredictableError(FleetcastError, ValueError):
    """A day that neither stored forecasts nor the champion can answer."""


class AmbiguousZoneError(FleetcastError, LookupError):
    """A zone name that matches zones of several systems and no system was given."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """Expected trips of one zone on one day, with its 80% interval and where it came from."""

    system_id: str
    zone_id: str
    zone_name: str
    target_date: date
    horizon: int
    issued_on: date
    model_version: str
    mean: float
    lower: float
    upper: float
    source: str

    @property
    def trips(self) -> int:
        """The forecast rounded to whole trips (never below zero)."""
        return max(0, round(self.mean))

    def as_dict(self) -> dict[str, Any]:
        """The /predict response body."""
        return {
            "model_version": self.model_version,
            "trips": self.trips,
            "lower": round(max(self.lower, 0.0), 2),
            "upper": round(max(self.upper, 0.0), 2),
            "zone_id": self.zone_id,
            "community": self.zone_name,
            "system": self.system_id,
            "date": self.target_date.isoformat(),
            "horizon": self.horizon,
            "issued_on": self.issued_on.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class SystemView:
    """What the cache holds for one system."""

    system_id: str
    stamp: tuple[Any, ...]
    zone_names: dict[str, str]
    by_name: dict[str, str]
    first_day: date | None
    last_day: date | None
    issue: date | None
    rows: dict[tuple[str, date], tuple[Any, ...]] = field(repr=False)
    forecast_days: tuple[date, date] | None = None
    """First and last target day of the newest issue (None without forecasts)."""
    memo: dict[tuple[Any, ...], bytes] = field(default_factory=dict, repr=False)
    """Encoded answers computed from this view, dropped with it on reload."""


def _normal(name: str) -> str:
    return " ".join(name.upper().split())


class ServingCache:
    """Zones and the newest forecasts of every system, reloaded per system on change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._views: dict[str, SystemView] = {}
        self._lock = threading.Lock()

    @property
    def views(self) -> dict[str, SystemView]:
        """The current views by system id (replaced whole on reload, safe to read)."""
        return self._views

    def sync(self) -> bool:
        """Compare stamps with the db and reload changed systems; True when anything changed."""
        with self._lock:
            with self.store.connect() as conn:
                stamps = records.serving_stamps(conn)
            current = self._views
            if stamps.keys() == current.keys() and all(
                current[sid].stamp == stamp for sid, stamp in stamps.items()
            ):
                return False
            views = {
                sid: current[sid]
                if sid in current and current[sid].stamp == stamp
                else self._load(sid, stamp)
                for sid, stamp in stamps.items()
            }
            self._views = views
            return True

    def _load(self, system_id: str, stamp: tuple[Any, ...]) -> SystemView:
        with self.store.connect() as conn:
            zones = records.load_zones(conn, system_id).select("zone_id", "name")
            frame = records.load_forecasts(conn, system_id)
        names = {z: (n or z) for z, n in zones.iter_rows()}
        by_name: dict[str, str] = {}
        for zid, name in names.items():
            by_name.setdefault(_normal(name), zid)
        rows = {
            (r[0], r[1]): r[2:] for r in frame.select("zone_id", "target_date", *_ROW).iter_rows()
        }
        issue = frame["issued_on"][0] if frame.height else None
        targets = frame["target_date"]
        days = (targets.min(), targets.max()) if frame.height else None
        return SystemView(
            system_id=system_id,
            stamp=stamp,
            zone_names=names,
            by_name=by_name,
            first_day=stamp[4],
            last_day=stamp[5],
            issue=issue,
            rows=rows,
            forecast_days=days,  # type: ignore[arg-type]
        )


class Predictor:
    """Answers /predict from the cache, stored forecasts or the champion, in that order."""

    def __init__(
        self, store: Store, cache: ServingCache, *, memo: int = 64, champion_ttl: float = 30.0
    ) -> None:
        self.store = store
        self.cache = cache
        self.champion_ttl = champion_ttl
        self._memo: OrderedDict[tuple[Any, ...], pl.DataFrame] = OrderedDict()
        self._memo_size = memo
        self._lock = threading.Lock()
        self._system_locks: dict[str, threading.Lock] = {}
        self._champions: dict[str, tuple[str | None, float]] = {}
        self._data: dict[str, tuple[tuple[Any, ...], TrainingSet]] = {}
        self._models: dict[str, tuple[str, Forecaster]] = {}

    def resolve(
        self, *, system: str | None, community: str | None, zone_id: str | None
    ) -> tuple[SystemView, str]:
        """The system view and zone id a request names, or a lookup error saying why not."""
        views = self.cache.views
        if system is not None:
            if system not in views:
                known = ", ".join(sorted(views)) or "none yet"
                raise UnknownSystemError(f"system {system!r} is not in the store (known: {known})")
            candidates = [views[system]]
        else:
            candidates = list(views.values())
            if not candidates:
                raise UnknownSystemError("the store holds no system yet: load one first")
        if zone_id is not None:
            hits = [(v, zone_id) for v in candidates if zone_id in v.zone_names]
            what = f"zone_id {zone_id!r}"
        elif community is not None:
            key = _normal(community)
            hits = [(v, v.by_name[key]) for v in candidates if key in v.by_name]
            what = f"community {community!r}"
        else:
            raise UnknownZoneError("give a community (zone name) or a zone_id")
        if not hits:
            where = f"system {system!r}" if system else "any system"
            raise UnknownZoneError(f"{what} is not a zone of {where}: GET /zones lists them")
        if len(hits) > 1:
            systems = ", ".join(v.system_id for v, _ in hits)
            raise AmbiguousZoneError(f"{what} is a zone of several systems ({systems}): add system")
        return hits[0]

    def predict(self, view: SystemView, zone_id: str, day: date) -> Prediction | None:
        """The fast answer from memory, or None when the day is not in the newest issue."""
        row = view.rows.get((zone_id, day))
        if row is None:
            return None
        horizon, issued_on, version, mean, _, q10, q90 = row
        return Prediction(
            view.system_id,
            zone_id,
            view.zone_names[zone_id],
            day,
            horizon,
            issued_on,
            version,
            mean,
            q10,
            q90,
            "forecast",
        )

    def predict_slow(self, view: SystemView, zone_id: str, day: date) -> Prediction:
        """A stored forecast of an older issue, or the champion's one-day-ahead prediction for
        a past day; NotPredictableError naming the days that can be answered otherwise."""
        with self.store.connect() as conn:
            issue = records.newest_issue_covering(conn, view.system_id, day)
            if issue is not None:
                frame = records.load_forecasts(
                    conn, view.system_id, issued_on=issue, target_date=day, zone_ids=[zone_id]
                )
                if frame.height:
                    return self._from_frame(
                        view, zone_id, day, frame.row(0, named=True), "forecast"
                    )
        from fleetcast.jobs.forecast import MIN_HISTORY_DAYS

        label = self.champion_label(view.system_id)
        earliest = None if view.first_day is None else view.first_day + timedelta(MIN_HISTORY_DAYS)
        latest = None if view.last_day is None else view.last_day + timedelta(days=1)
        if label is None or earliest is None or latest is None or not earliest <= day <= latest:
            raise NotPredictableError(self._answerable(view, day, label, earliest, latest))
        frame = self._champion_frame(view, label, day)
        rows = frame.filter((pl.col("zone_id") == zone_id) & (pl.col("target_date") == day))
        if rows.is_empty():
            raise NotPredictableError(f"the champion has no prediction for {zone_id} on {day}")
        return self._from_frame(view, zone_id, day, rows.row(0, named=True), "champion")

    def champion_label(self, system_id: str) -> str | None:
        """The champion's label, read from the registry at most every ``champion_ttl`` seconds;
        ModelUnavailableError when the registry cannot be read."""
        from fleetcast.jobs.forecast import ModelUnavailableError, registry_for

        cached = self._champions.get(system_id)
        if cached is not None and monotonic() - cached[1] < self.champion_ttl:
            return cached[0]
        try:
            champion = registry_for(self.store).champion(system_id)
        except Exception as exc:
            raise ModelUnavailableError(
                f"the model registry could not be read ({type(exc).__name__}); stored "
                "forecasts still answer"
            ) from exc
        label = champion.label if champion else None
        self._champions[system_id] = (label, monotonic())
        return label

    def _from_frame(
        self, view: SystemView, zone_id: str, day: date, row: dict[str, Any], source: str
    ) -> Prediction:
        return Prediction(
            view.system_id,
            zone_id,
            view.zone_names[zone_id],
            day,
            int(row["horizon"]),
            row["issued_on"],
            str(row["model_version"]),
            float(row["mean"]),
            float(row["q10"]),
            float(row["q90"]),
            source,
        )

    @staticmethod
    def _answerable(
        view: SystemView, day: date, label: str | None, earliest: date | None, latest: date | None
    ) -> str:
        parts = []
        if view.forecast_days is not None:
            first, last = view.forecast_days
            parts.append(f"stored forecasts cover {first}..{last} (issued {view.issue})")
        else:
            parts.append("no forecasts are stored")
        if label is None:
            parts.append(
                f"no champion model predicts past days: run 'fleetcast train --system "
                f"{view.system_id}'"
            )
        elif earliest is not None and latest is not None and earliest <= latest:
            parts.append(f"the champion predicts past days {earliest}..{latest}")
        else:
            parts.append("too little history for the champion to predict past days")
        return f"{day} cannot be answered for system {view.system_id!r}: " + "; ".join(parts)

    def _champion_frame(self, view: SystemView, label: str, day: date) -> pl.DataFrame:
        """The champion's forecast of every zone for ``day``, issued on that day, memoised by
        champion, day and the system's stamp; one computation per system at a time."""
        from fleetcast.jobs.forecast import ModelUnavailableError, load_training_set, registry_for

        key = (view.system_id, label, day, view.stamp)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        with self._lock:
            lock = self._system_locks.setdefault(view.system_id, threading.Lock())
        with lock:
            hit = self._memo.get(key)
            if hit is not None:
                return hit
            cached = self._models.get(view.system_id)
            if cached is None or cached[0] != label:
                try:
                    champion, model = registry_for(self.store).load_champion(view.system_id)
                except Exception as exc:
                    raise ModelUnavailableError(
                        f"the champion of {view.system_id!r} could not be loaded "
                        f"({type(exc).__name__}); stored forecasts still answer"
                    ) from exc
                cached = (champion.label, model)
                self._models[view.system_id] = cached
            data_entry = self._data.get(view.system_id)
            if data_entry is None or data_entry[0] != view.stamp:
                data_entry = (view.stamp, load_training_set(self.store, view.system_id, ahead=2))
                self._data[view.system_id] = data_entry
            context = data_entry[1].until(day - timedelta(days=1))
            try:
                frame = cached[1].predict(context, horizon=1)
            except ValueError as exc:
                raise NotPredictableError(f"the champion cannot predict {day}: {exc}") from exc
            frame = frame.with_columns(
                pl.lit(day).alias("issued_on"), pl.lit(cached[0]).alias("model_version")
            )
            with self._lock:
                self._memo[key] = frame
                while len(self._memo) > self._memo_size:
                    self._memo.popitem(last=False)
            return frame
