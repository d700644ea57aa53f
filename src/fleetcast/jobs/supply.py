"""Live supply jobs: a GBFS feed into the store once (``ingest_gbfs``) or on a schedule
(``poll_gbfs``).

A fetch reads the system's files in order (system_information, vehicle_types,
station_information, station_status, free_bike_status / vehicle_status), validates each,
then writes the lake first (the status snapshots and the quarantined records) and the db in
one transaction: the system, the stations, the newest status per station, the whole fleet,
one ingest-log entry per data feed and the feed states. A file that cannot be used leaves
the data as it was; its failure is recorded in its feed state.

What the poller remembers of each file (its ``last_updated`` above all) moves on only once
that transaction has committed: a snapshot whose write failed is not "unchanged" at the next
poll but written then, and the failure is in its feed state meanwhile.

A vehicle snapshot is the whole fleet, except for what it could not say: the stored rows of
vehicles whose records were quarantined are kept, and when more than ``max_rejected_share``
of its records were quarantined the fleet is not replaced at all (its good rows are
updated, the others kept, and the feed state says so).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import httpx
import polars as pl
from sqlalchemy import Connection, delete, func, select

from fleetcast.domain import Dataset, SystemInfo, VehicleKind, check_timezone
from fleetcast.errors import FleetcastError, NothingLoadedError, SchemaError, UnknownSystemError
from fleetcast.geo import Zoning
from fleetcast.jobs._progress import Progress, Silent
from fleetcast.jobs.ingest import load_zoning, quarantine_frame
from fleetcast.sources.gbfs import (
    FEEDS,
    FREE_BIKE_STATUS,
    STATION_INFORMATION,
    STATION_STATUS,
    SYSTEM_INFORMATION,
    VEHICLE_FEEDS,
    VEHICLE_STATUS,
    VEHICLE_TYPES,
    CheckedFeed,
    Discovery,
    FeedDocument,
    FeedReader,
    SystemDetails,
    VehicleType,
    check_station_information,
    check_station_status,
    check_vehicles,
    discover,
    read_document,
    read_system_information,
    read_vehicle_types,
)
from fleetcast.store import Store, records, state
from fleetcast.store.lake import check_system_id
from fleetcast.store.state import FeedState
from fleetcast.store.tables import Station, VehicleStatus

SOURCE: Final = "gbfs"
DISCOVERY: Final = "gbfs"
"""The auto-discovery file, tracked like a feed."""
KINDS: Final[Mapping[str, str]] = {
    DISCOVERY: "gbfs",
    SYSTEM_INFORMATION: "system_info",
    VEHICLE_TYPES: "vehicle_types",
    STATION_INFORMATION: "station_info",
    STATION_STATUS: "station_status",
    FREE_BIKE_STATUS: "free_bike_status",
    VEHICLE_STATUS: "vehicle_status",
}
"""Feed name -> the feed state's ``kind`` (the db column holds 16 characters)."""
DATASETS: Final[Mapping[str, str]] = {
    STATION_INFORMATION: "stations",
    STATION_STATUS: Dataset.STATION_STATUS.value,
    FREE_BIKE_STATUS: Dataset.VEHICLE_STATUS.value,
    VEHICLE_STATUS: Dataset.VEHICLE_STATUS.value,
}
"""Data feed -> the dataset its ingest-log entries name."""
LIVE_FEEDS: Final = frozenset({STATION_STATUS, *VEHICLE_FEEDS})
"""Feeds whose publish time must keep advancing (the others may rightly stay unchanged)."""
DEFAULT_EVERY_S: Final = 60.0
MAX_REJECTED_SHARE: Final = 0.2
"""A vehicle snapshot with more of its records quarantined than this does not replace the
fleet: it is more likely a broken feed than a fleet that shrank."""
_DELETE_CHUNK: Final = 500
"""Vehicle ids per DELETE statement (well under SQLite's and PostgreSQL's bind limits)."""

Clock = Callable[[], datetime]
Sleep = Callable[[float], object]


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often each feed is read: at its ``ttl`` (never faster than ``min_interval_s``),
    never slower than ``every_s``; after ``n`` failures in a row, ``interval * 2**(n-1)``
    up to ``max_backoff_s``; a live feed whose ``last_updated`` has not advanced for
    ``max(3 * ttl, stale_after_s)`` is stale.

    When a feed's ttl is longer than ``every_s``, ``every_s`` wins: it is the freshness the
    user asked for (Vélib' announces a ttl of an hour on a feed that changes every minute).
    """

    every_s: float | None = None
    min_interval_s: float = 10.0
    max_backoff_s: float = 900.0
    stale_after_s: float = 300.0

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be > 0, got {value}"
            for name, value in (
                ("every_s", self.every_s),
                ("min_interval_s", self.min_interval_s),
                ("max_backoff_s", self.max_backoff_s),
                ("stale_after_s", self.stale_after_s),
            )
            if value is not None and not value > 0
        ]
        if problems:
            raise ValueError("poll policy not understood: " + "; ".join(problems))

    def interval(self, ttl_s: int | None) -> float:
        """Seconds between two reads of a feed with this ttl."""
        base = float(ttl_s) if ttl_s else (self.every_s or DEFAULT_EVERY_S)
        base = max(base, self.min_interval_s)
        return min(base, self.every_s) if self.every_s is not None else base

    def retry_after(self, ttl_s: int | None, failures: int) -> float:
        """Seconds before the next try after ``failures`` failures in a row."""
        interval = self.interval(ttl_s)
        grown = interval * 2.0 ** max(failures - 1, 0)
        return min(grown, max(self.max_backoff_s, interval))

    def stale_after(self, ttl_s: int | None) -> float:
        """Seconds without a new ``last_updated`` after which a live feed is stale."""
        return max(3.0 * (ttl_s or 0), self.stale_after_s)


@dataclass(slots=True)
class FeedReport:
    """One file of one fetch: what was read, kept, quarantined and new in the store."""

    name: str
    url: str
    version: str | None = None
    last_updated: datetime | None = None
    ttl_s: int | None = None
    ingest_id: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_new: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        out = asdict(self)
        out["last_updated"] = self.last_updated.isoformat() if self.last_updated else None
        return out


@dataclass(slots=True)
class GbfsReport:
    """What one ``ingest_gbfs`` did."""

    system_id: str
    location: str
    version: str | None
    language: str | None
    system_created: bool
    stations: int
    station_statuses: int
    vehicles: int
    feeds: list[FeedReport]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        """Records quarantined over every feed."""
        return sum(f.rows_rejected for f in self.feeds)

    @property
    def status(self) -> str:
        """``partial`` when some record was quarantined, else ``ok``."""
        return "partial" if self.rows_rejected else "ok"

    @property
    def reasons(self) -> dict[str, int]:
        """Quarantined records per reason over every feed, most frequent first."""
        merged: dict[str, int] = {}
        for feed in self.feeds:
            for reason, n in feed.reasons.items():
                merged[reason] = merged.get(reason, 0) + n
        return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {
            "system_id": self.system_id,
            "location": self.location,
            "status": self.status,
            "version": self.version,
            "language": self.language,
            "system_created": self.system_created,
            "stations": self.stations,
            "station_statuses": self.station_statuses,
            "vehicles": self.vehicles,
            "rows_rejected": self.rows_rejected,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "feeds": [f.to_dict() for f in self.feeds],
            "seconds": self.seconds,
        }


@dataclass(slots=True)
class CycleReport:
    """One poll: which files were read, stored, unchanged, stale or failing."""

    at: datetime
    stored: list[FeedReport] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    next_at: datetime | None = None


@dataclass(slots=True)
class PollReport:
    """What a ``poll_gbfs`` run did, and the feeds' states when it stopped."""

    system_id: str
    url: str
    polls: int = 0
    snapshots: int = 0
    failures: int = 0
    stale_polls: int = 0
    feeds: list[FeedState] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        out = {k: v for k, v in asdict(self).items() if k != "feeds"}
        out["feeds"] = [_feed_state_dict(s) for s in self.feeds]
        return out


def _feed_state_dict(feed: FeedState) -> dict[str, Any]:
    """A feed state as JSON-ready values."""
    out = asdict(feed)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    out["warnings"] = list(feed.warnings)
    return out


@dataclass(slots=True)
class _Track:
    """The health of one file of the feed, and when to read it next."""

    name: str
    url: str
    next_at: datetime
    version: str | None = None
    ttl_s: int | None = None
    last_updated: datetime | None = None
    changed_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    warnings: tuple[str, ...] = ()
    status: str = "ok"

    def read(self, doc: FeedDocument, now: datetime, policy: PollPolicy) -> bool:
        """Record a successful read; True when ``last_updated`` moved (a new snapshot)."""
        changed = self.last_updated is None or doc.last_updated != self.last_updated
        self.version, self.ttl_s = doc.version, doc.ttl_s
        self.last_attempt_at = self.last_success_at = now
        self.failures = 0
        if changed or self.changed_at is None:
            self.last_updated, self.changed_at = doc.last_updated, now
        self.status = "ok"
        if self.name in LIVE_FEEDS and not changed:
            quiet = (now - self.changed_at).total_seconds()
            if quiet > policy.stale_after(self.ttl_s):
                self.status = "stale"
        self.next_at = now + timedelta(seconds=policy.interval(self.ttl_s))
        return changed

    def failed(self, error: BaseException, now: datetime, policy: PollPolicy) -> str:
        """Record a failed read and back off; returns the error as stored."""
        self.last_attempt_at = now
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        self.status = "error"
        self.next_at = now + timedelta(seconds=policy.retry_after(self.ttl_s, self.failures))
        return self.last_error

    def stale_note(self) -> str | None:
        """Why the feed is stale, for its warnings."""
        if self.status != "stale" or self.last_updated is None:
            return None
        return f"last_updated has not advanced since {self.last_updated:%Y-%m-%d %H:%M:%S} UTC"

    def state(self, system_id: str) -> FeedState:
        """The row saved in the feeds table."""
        note = self.stale_note()
        return FeedState(
            system_id=system_id,
            url=self.url,
            kind=KINDS[self.name],
            status=self.status,
            version=self.version,
            ttl_s=self.ttl_s,
            last_attempt_at=self.last_attempt_at,
            last_success_at=self.last_success_at,
            last_updated=self.last_updated,
            failures=self.failures,
            last_error=self.last_error,
            warnings=(*self.warnings, note) if note else self.warnings,
        )


@dataclass(slots=True)
class _Read:
    """A file read and checked in this fetch, waiting to be written."""

    name: str
    document: FeedDocument
    checked: CheckedFeed | None
    warnings: list[str]


class _FeedSession:
    """One system's GBFS feed between fetches: where its files are, the system row, zones,
    vehicle types, station positions and the health of every file."""

    def __init__(
        self,
        store: Store,
        source: str,
        *,
        system_id: str,
        timezone: str | None,
        language: str | None,
        reader: FeedReader,
        policy: PollPolicy,
        max_rejected_share: float = MAX_REJECTED_SHARE,
    ) -> None:
        if not 0.0 <= max_rejected_share <= 1.0:
            raise ValueError(
                f"max_rejected_share must be between 0 and 1, got {max_rejected_share}"
            )
        self.store = store
        self.max_rejected_share = max_rejected_share
        self.source = source
        self.system_id = check_system_id(system_id)
        self.timezone = check_timezone(timezone) if timezone else None
        self.language = language
        self.reader = reader
        self.policy = policy
        self.discovery: Discovery | None = None
        self.tracks: dict[str, _Track] = {}
        self.types: dict[str, VehicleType] = {}
        self.details: SystemDetails | None = None
        self.notes: list[str] = []
        self.created = False
        self.system, self.stations = self._load()
        self.zoning = self._zoning() if self.system is not None else None

    def _load(self) -> tuple[SystemInfo | None, dict[str, tuple[float, float]]]:
        """The system when it exists, and its stations' positions."""
        with self.store.connect() as conn:
            try:
                system = records.get_system(conn, self.system_id)
            except UnknownSystemError:
                return None, {}
            stations = state.load_stations(conn, self.system_id)
        positions = {
            sid: (lat, lon)
            for sid, lat, lon in stations.select("station_id", "lat", "lon").iter_rows()
        }
        if self.timezone and self.timezone != system.timezone:
            self.notes.append(
                f"system {self.system_id} already has timezone {system.timezone}; "
                f"--timezone {self.timezone} ignored"
            )
        return system, positions

    def _zoning(self) -> Zoning | None:
        """The system's zones for stations and vehicles (H3 cells located exactly)."""
        zoning = load_zoning(self.store, self.system_id)
        if zoning is not None and self.system is not None and self.system.h3_resolution:
            zoning = replace(zoning, h3_resolution=self.system.h3_resolution)
        return zoning

    def discover(self, now: datetime) -> Discovery:
        """Read gbfs.json (or the folder) and follow its links; tracks follow the links."""
        if DISCOVERY not in self.tracks:
            self.tracks[DISCOVERY] = _Track(DISCOVERY, self.source, next_at=now)
        found = discover(self.source, reader=self.reader, now=now, language=self.language)
        found.require_data()
        self.discovery = found
        gbfs = self.tracks[DISCOVERY]
        if found.url is None:
            del self.tracks[DISCOVERY]
        else:
            gbfs.url = found.url
            gbfs.warnings = found.warnings
            gbfs.version, gbfs.ttl_s = found.version, found.ttl_s
            gbfs.last_attempt_at = gbfs.last_success_at = now
            gbfs.last_updated, gbfs.failures, gbfs.status = found.last_updated, 0, "ok"
            gbfs.next_at = now + timedelta(seconds=self.policy.interval(found.ttl_s))
        for name in [n for n in self.tracks if n != DISCOVERY and n not in found.feeds]:
            del self.tracks[name]
        for name, url in found.feeds.items():
            if name not in self.tracks or self.tracks[name].url != url:
                self.tracks[name] = _Track(name, url, next_at=now)
        return found

    def fetch(self, name: str, now: datetime) -> FeedDocument:
        """Read one file of the feed (SourceError when it cannot be used)."""
        version = self.discovery.version if self.discovery else None
        return read_document(self.reader, name, self.tracks[name].url, now=now, version=version)

    def resolve_system(self) -> tuple[SystemInfo, bool]:
        """The system to write into, and whether it is new (not yet in the db)."""
        if self.system is not None:
            known = self.details.timezone if self.details else None
            note = (
                f"system_information gives timezone {known}; the stored {self.system.timezone} "
                "is kept"
            )
            if known and known != self.system.timezone and note not in self.notes:
                self.notes.append(note)
            return self.system, False
        given = self.details.timezone if self.details else None
        timezone = self.timezone or given
        if timezone is None:
            raise SchemaError(
                f"{self.source} has no system_information with a timezone and system "
                f"{self.system_id!r} is new: give its timezone with --timezone (an IANA name "
                "such as Europe/Paris)"
            )
        if self.timezone and given and given != self.timezone:
            self.notes.append(f"--timezone {self.timezone} used; system_information says {given}")
        name = (self.details.name if self.details else None) or self.system_id
        return SystemInfo(self.system_id, name, timezone, kind=self._kind()), True

    def _kind(self) -> VehicleKind:
        """Bikes for a station-based system, else what the vehicle types say (scooters)."""
        kinds = {t.kind for t in self.types.values() if t.kind is not None}
        if len(kinds) == 1:
            return kinds.pop()
        if STATION_STATUS in self.tracks:
            return VehicleKind.BIKE
        return VehicleKind.SCOOTER

    def check(self, name: str, doc: FeedDocument, now: datetime) -> _Read:
        """Validate one file; system_information and vehicle_types update the session.

        A data file of which every record is rejected raises NothingLoadedError: the last
        good state is kept rather than replaced by nothing.
        """
        if name == SYSTEM_INFORMATION:
            self.details = read_system_information(doc, language=self.language)
            return _Read(name, doc, None, list(self.details.warnings))
        if name == VEHICLE_TYPES:
            self.types, warnings = read_vehicle_types(doc)
            return _Read(name, doc, None, warnings)
        system, _ = self.resolve_system()
        checked: CheckedFeed
        if name == STATION_INFORMATION:
            checked = check_station_information(doc, language=self.language, zoning=self.zoning)
        elif name == STATION_STATUS:
            checked = check_station_status(
                doc,
                system_id=self.system_id,
                timezone=system.timezone,
                now=now,
                vehicle_types=self.types,
            )
        else:
            checked = check_vehicles(
                doc,
                system_id=self.system_id,
                timezone=system.timezone,
                now=now,
                vehicle_types=self.types,
                stations=self.stations,
                zoning=self.zoning,
            )
        if checked.rows_read and checked.accepted.is_empty():
            top = ", ".join(f"{r} ({n:,})" for r, n in list(checked.reasons.items())[:3])
            raise NothingLoadedError(
                f"every one of the {checked.rows_read:,} records of {doc.url} was rejected "
                f"({top}); the last good state was kept",
                checked.reasons,
            )
        if name == STATION_INFORMATION:
            accepted = checked.accepted.select("station_id", "lat", "lon").iter_rows()
            self.stations.update({sid: (lat, lon) for sid, lat, lon in accepted})
        return _Read(name, doc, checked, list(checked.warnings))

    def write(self, reads: list[_Read], now: datetime) -> list[FeedReport]:
        """Write checked files: the lake first, then one db transaction with the system,
        stations, statuses, fleet, ingest log and every file's state.

        The files' tracks are updated on copies that replace them only once everything is
        written: when a write fails, the tracks still hold the previous ``last_updated``, so
        the next poll sees the snapshot as new and writes it (the caller records the
        failure on the tracks as they were).
        """
        data = [r for r in reads if r.checked is not None]
        pending: dict[str, _Track] = {}
        for read in reads:
            track = replace(self.tracks[read.name])
            track.warnings = tuple(read.warnings)
            track.read(read.document, now, self.policy)
            pending[read.name] = track
        reports = {r.name: _report(r) for r in reads}
        if self.system is None and not data and self.details is None:
            self.tracks.update(pending)
            return list(reports.values())
        try:
            system, created = self.resolve_system()
        except SchemaError:
            if data:
                raise
            self.tracks.update(pending)
            return list(reports.values())
        if created:
            system = _with_center(system, data)
        for read in data:
            reports[read.name].ingest_id = str(uuid.uuid4())
        self._write_lake(data, reports)
        with self.store.begin() as conn:
            if created:
                records.save_system(conn, system)
            for read in data:
                report = reports[read.name]
                self._write_db(conn, read, report)
                pending[read.name].warnings = tuple(report.warnings)
            for track in self._attempted(pending):
                state.save_feed_state(conn, track.state(self.system_id))
        self.tracks.update(pending)
        if created:
            self.system, self.created = system, True
        return [reports[r.name] for r in reads]

    def _attempted(self, pending: Mapping[str, _Track] | None = None) -> list[_Track]:
        """Tracks of files read at least once (the others have no state to tell), with
        ``pending`` in place of the tracks they update."""
        tracks = {**self.tracks, **(pending or {})}
        return [t for t in tracks.values() if t.last_attempt_at is not None]

    def save_states(self) -> bool:
        """Save every file's state on its own (after a failure); False when the system does
        not exist yet or the db cannot be written."""
        if self.system is None:
            return False
        try:
            with self.store.begin() as conn:
                for track in self._attempted():
                    state.save_feed_state(conn, track.state(self.system_id))
        except Exception:
            return False
        return True

    def _write_lake(self, data: list[_Read], reports: dict[str, FeedReport]) -> None:
        """Append the status snapshots and the quarantined records (before the db)."""
        quarantine: list[pl.DataFrame] = []
        for read in data:
            report = reports[read.name]
            assert read.checked is not None and report.ingest_id is not None
            if read.name == STATION_STATUS:
                report.rows_new = self.store.lake.append(
                    Dataset.STATION_STATUS, read.checked.accepted
                ).rows_new
            elif read.name in VEHICLE_FEEDS:
                report.rows_new = self.store.lake.append(
                    Dataset.VEHICLE_STATUS, read.checked.accepted
                ).rows_new
            if not read.checked.rejected.is_empty():
                quarantine.append(
                    quarantine_frame(
                        read.checked.rejected,
                        system_id=self.system_id,
                        ingest_id=report.ingest_id,
                        source=f"{SOURCE}:{read.name}",
                    )
                )
        if quarantine:
            self.store.lake.append(Dataset.QUARANTINE, pl.concat(quarantine))

    def _write_db(self, conn: Connection, read: _Read, report: FeedReport) -> None:
        """Write one data file's rows and its ingest-log entry inside the transaction."""
        checked = read.checked
        assert checked is not None and report.ingest_id is not None
        records.start_ingest(
            conn,
            ingest_id=report.ingest_id,
            system_id=self.system_id,
            source=SOURCE,
            dataset=DATASETS[read.name],
            location=read.document.url,
            content_sha256=None,
            rows_read=report.rows_read,
            rows_accepted=0,
            rows_rejected=0,
            rows_new=0,
        )
        if read.name == STATION_INFORMATION:
            before = set(
                conn.execute(
                    select(Station.station_id).where(Station.system_id == self.system_id)
                ).scalars()
            )
            state.save_stations(conn, self.system_id, checked.accepted)
            report.rows_new = len(set(checked.accepted["station_id"]) - before)
        elif read.name == STATION_STATUS:
            state.save_station_status(conn, self.system_id, checked.accepted)
        else:
            newest = _aware(
                conn.execute(
                    select(func.max(VehicleStatus.observed_at)).where(
                        VehicleStatus.system_id == self.system_id
                    )
                ).scalar_one_or_none()
            )
            if newest is not None and read.document.last_updated < newest:
                report.warnings.append(
                    f"snapshot of {read.document.last_updated:%Y-%m-%d %H:%M} UTC is older than "
                    f"the fleet in the db ({newest:%Y-%m-%d %H:%M} UTC): kept in the lake only"
                )
            else:
                self._replace_fleet(conn, checked, report)
        records.finish_ingest(
            conn,
            report.ingest_id,
            status=report.status,
            rows_read=report.rows_read,
            rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected,
            rows_new=report.rows_new,
            rejects_by_reason=report.reasons or None,
            message="; ".join(report.warnings) or None,
        )

    def _replace_fleet(self, conn: Connection, checked: CheckedFeed, report: FeedReport) -> None:
        """Make a vehicle snapshot the fleet, without losing what its rejected records hid.

        Vehicles absent from the snapshot leave the db; a vehicle whose record was
        quarantined is not absent, so its last good row stays. When more than
        ``max_rejected_share`` of the records were quarantined, nothing leaves: the
        accepted vehicles are updated and a warning says the fleet was not replaced.
        """
        accepted = checked.accepted
        share = checked.rejected.height / checked.rows_read if checked.rows_read else 0.0
        if share > self.max_rejected_share:
            state.save_vehicle_status(conn, self.system_id, accepted)
            report.warnings.append(
                f"{checked.rejected.height:,} of {checked.rows_read:,} vehicle records were "
                f"quarantined ({share:.0%}, more than {self.max_rejected_share:.0%}): the fleet "
                f"was not replaced; {accepted.height:,} updated, the others kept as they were"
            )
            return
        keep = set(accepted["vehicle_id"].to_list()) | set(checked.rejected_ids)
        stored = set(
            conn.execute(
                select(VehicleStatus.vehicle_id).where(VehicleStatus.system_id == self.system_id)
            ).scalars()
        )
        gone = sorted(stored - keep)
        for start in range(0, len(gone), _DELETE_CHUNK):
            conn.execute(
                delete(VehicleStatus).where(
                    VehicleStatus.system_id == self.system_id,
                    VehicleStatus.vehicle_id.in_(gone[start : start + _DELETE_CHUNK]),
                )
            )
        state.save_vehicle_status(conn, self.system_id, accepted)
        kept = len(stored & (set(checked.rejected_ids) - set(accepted["vehicle_id"].to_list())))
        if kept:
            which = "vehicle whose record was" if kept == 1 else "vehicles whose records were"
            report.warnings.append(
                f"{kept:,} {which} quarantined: last good state kept in the fleet"
            )

    def log_failure(self, name: str, error: BaseException, now: datetime) -> None:
        """Record a fetch refused as a whole: its file's state (when the system exists) and
        a 'failed' ingest-log entry with no rows."""
        track = self.tracks.get(name)
        url = track.url if track else self.source
        if track is not None:
            track.failed(error, now, self.policy)
        ingest_id = str(uuid.uuid4())
        with self.store.begin() as conn:
            records.start_ingest(
                conn,
                ingest_id=ingest_id,
                system_id=self.system_id,
                source=SOURCE,
                dataset=DATASETS.get(name, DISCOVERY),
                location=url,
                content_sha256=None,
                rows_read=0,
                rows_accepted=0,
                rows_rejected=0,
                rows_new=0,
            )
            records.finish_ingest(
                conn, ingest_id, status="failed", message=f"{type(error).__name__}: {error}"
            )
        self.save_states()


def _aware(value: Any) -> datetime | None:
    """SQLite returns naive datetimes; stored times are UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _report(read: _Read) -> FeedReport:
    """The report of one file read in a fetch (counts for data files)."""
    doc, checked = read.document, read.checked
    report = FeedReport(
        name=read.name,
        url=doc.url,
        version=doc.version,
        last_updated=doc.last_updated,
        ttl_s=doc.ttl_s,
        warnings=list(read.warnings),
    )
    if checked is not None:
        report.rows_read = checked.rows_read
        report.rows_accepted = checked.accepted.height
        report.rows_rejected = checked.rejected.height
        report.reasons = dict(checked.reasons)
        report.status = "partial" if report.rows_rejected else "ok"
    return report


def _with_center(system: SystemInfo, data: list[_Read]) -> SystemInfo:
    """A new system centred on the median of its stations (else of its vehicles)."""
    for names in ((STATION_INFORMATION,), VEHICLE_FEEDS):
        for read in data:
            if read.name in names and read.checked is not None:
                frame = read.checked.accepted
                if not frame.is_empty():
                    lat, lon = frame["lat"].median(), frame["lon"].median()
                    if isinstance(lat, float) and isinstance(lon, float):
                        return replace(system, center_lat=lat, center_lon=lon)
    return system


def ingest_gbfs(
    store: Store,
    url_or_dir: str | Path,
    *,
    system_id: str,
    timezone: str | None = None,
    language: str | None = None,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    max_rejected_share: float = MAX_REJECTED_SHARE,
) -> GbfsReport:
    """Read a GBFS feed once (a gbfs.json URL or a folder of saved files) into ``system_id``.

    A new system takes its name and timezone from system_information (or ``timezone``).
    Stations, the newest status per station and the whole fleet go to the db, status
    snapshots to the lake; impossible records are quarantined with their reasons. A file
    that cannot be used raises SourceError (or NothingLoadedError when every record of a
    data file is rejected) and the data are left as they were; the failure is logged. A
    vehicle snapshot with more than ``max_rejected_share`` of its records quarantined
    updates its good vehicles without replacing the fleet.
    """
    progress = progress or Silent()
    began = perf_counter()
    now = now or utc_now()
    with FeedReader(client=client) as reader:
        session = _FeedSession(
            store,
            str(url_or_dir),
            system_id=system_id,
            timezone=timezone,
            language=language,
            reader=reader,
            policy=PollPolicy(),
            max_rejected_share=max_rejected_share,
        )
        current = DISCOVERY
        reads: list[_Read] = []
        try:
            progress.stage(f"discovering the feeds of {url_or_dir}")
            found = session.discover(now)
            names = [n for n in FEEDS if n in found.feeds]
            progress.stage(f"reading {len(names)} feeds", total=len(names))
            for current in names:
                reads.append(session.check(current, session.fetch(current, now), now))
                progress.advance()
        except FleetcastError as exc:
            session.log_failure(current, exc, now)
            raise
        progress.stage("writing the lake and the db")
        reports = session.write(reads, now)
    by_name = {r.name: r for r in reports}
    status_report = by_name.get(STATION_STATUS)
    vehicles = next((by_name[n] for n in VEHICLE_FEEDS if n in by_name), None)
    stations = by_name.get(STATION_INFORMATION)
    return GbfsReport(
        system_id=session.system_id,
        location=str(url_or_dir),
        version=found.version or next((r.version for r in reports if r.version), None),
        language=found.language,
        system_created=session.created,
        stations=stations.rows_accepted if stations else 0,
        station_statuses=status_report.rows_accepted if status_report else 0,
        vehicles=vehicles.rows_accepted if vehicles else 0,
        feeds=reports,
        warnings=[*found.warnings, *session.notes],
        seconds=perf_counter() - began,
    )


def poll_gbfs(
    store: Store,
    url: str | Path,
    *,
    system_id: str,
    every: float | None = None,
    max_polls: int | None = None,
    timezone: str | None = None,
    language: str | None = None,
    policy: PollPolicy | None = None,
    clock: Clock = utc_now,
    sleep: Sleep | None = None,
    stop: threading.Event | None = None,
    client: httpx.Client | None = None,
    on_cycle: Callable[[CycleReport], None] | None = None,
    max_rejected_share: float = MAX_REJECTED_SHARE,
) -> PollReport:
    """Poll a GBFS feed until ``max_polls`` polls are done or ``stop`` is set.

    Each file is read at its own pace (see :class:`PollPolicy`); a new snapshot is written
    like ``ingest_gbfs`` does, an unchanged one only updates the file's state. Timeouts,
    HTTP errors, broken JSON and rejected snapshots are recorded in the file's state
    (``failures``, ``last_error``) and retried with exponential backoff; the last good
    stations and fleet stay in the db. A snapshot whose write fails is recorded the same
    way and written at the next poll. ``max_rejected_share`` is as for ``ingest_gbfs``.
    Nothing a feed does stops the poller.
    """
    policy = policy or PollPolicy(every_s=every)
    if every is not None and policy.every_s != every:
        policy = replace(policy, every_s=every)
    if max_polls is not None and max_polls < 1:
        raise ValueError(f"max_polls must be >= 1, got {max_polls}")
    wait: Sleep = sleep or (stop.wait if stop is not None else time.sleep)
    began = perf_counter()
    report = PollReport(system_id=system_id, url=str(url))
    with FeedReader(client=client, retries=1, sleep=wait) as reader:
        session = _FeedSession(
            store,
            str(url),
            system_id=system_id,
            timezone=timezone,
            language=language,
            reader=reader,
            policy=policy,
            max_rejected_share=max_rejected_share,
        )
        while max_polls is None or report.polls < max_polls:
            if stop is not None and stop.is_set():
                break
            cycle = _poll_once(session, clock())
            report.polls += 1
            report.snapshots += sum(1 for r in cycle.stored if r.ingest_id)
            report.failures += len(cycle.failed)
            report.stale_polls += len(cycle.stale)
            if on_cycle is not None:
                on_cycle(cycle)
            if (max_polls is not None and report.polls >= max_polls) or (
                stop is not None and stop.is_set()
            ):
                break
            if cycle.next_at is not None:
                wait(max((cycle.next_at - clock()).total_seconds(), 0.0))
    report.feeds = [t.state(session.system_id) for t in session._attempted()]
    report.seconds = perf_counter() - began
    return report


def _poll_once(session: _FeedSession, now: datetime) -> CycleReport:
    """Read every file that is due and write what is new; never raises."""
    cycle = CycleReport(at=now)
    policy = session.policy
    reads: list[_Read] = []
    try:
        gbfs = session.tracks.get(DISCOVERY)
        if gbfs is None or gbfs.next_at <= now:
            try:
                session.discover(now)
            except Exception as exc:
                if DISCOVERY not in session.tracks:
                    session.tracks[DISCOVERY] = _Track(DISCOVERY, session.source, next_at=now)
                cycle.failed[DISCOVERY] = session.tracks[DISCOVERY].failed(exc, now, policy)
        for name in [n for n in FEEDS if n in session.tracks]:
            track = session.tracks[name]
            if track.next_at > now:
                continue
            try:
                doc = session.fetch(name, now)
                if track.last_updated is not None and doc.last_updated == track.last_updated:
                    track.read(doc, now, policy)
                    (cycle.stale if track.status == "stale" else cycle.unchanged).append(name)
                    continue
                reads.append(session.check(name, doc, now))
            except Exception as exc:
                cycle.failed[name] = track.failed(exc, now, policy)
        try:
            cycle.stored = session.write(reads, now)
        except Exception as exc:
            for read in reads:
                cycle.failed[read.name] = session.tracks[read.name].failed(exc, now, policy)
            cycle.stored = []
            session.save_states()
    except Exception as exc:
        cycle.failed["poll"] = f"{type(exc).__name__}: {exc}"
    due = [t.next_at for t in session.tracks.values()]
    cycle.next_at = min(due) if due else now + timedelta(seconds=policy.retry_after(None, 1))
    return cycle
