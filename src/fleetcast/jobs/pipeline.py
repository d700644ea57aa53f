"""The scheduled pipelines as plain functions: their schedule (the ``[schedule]`` table of
fleetcast.toml), their steps (each a call of an existing job) and the record of every run.

``daily_cycle`` runs ingest -> airport arrivals -> train (when due) -> forecast -> plan,
then monitor, for one system; ``poll_feed`` reads one configured GBFS feed once;
``compact_snapshots`` merges each past day's snapshot files. Each records its run and
steps in the ``pipeline_runs`` table. A step that fails leaves the store as its job leaves
it on failure (as it was: every job writes in one transaction, the lake atomically), the
steps that need it are skipped, and the previous forecasts and plan stay in service; the
failure is recorded with its message.

``fleetcast.flows`` wraps the same functions as Prefect flows and tasks: a flow passes a
``call`` that runs each step as a task; without one, steps are plain calls (what the tests
and the pipeline benchmark compare).

```toml
[schedule]
daily_at = "05:00"          # local time of the daily cycle, in each system's timezone
train_on = "monday"         # weekday the cycle retrains first ("daily" or "never" too)
train_weeks = 8             # backtest weeks behind the champion decision
model = "global_gbm"        # the candidate each training backtests against the champion
horizon = 3                 # days forecast
lookback_days = 3           # days of demand recounted by the "lake" ingest
compact_every_minutes = 60  # compaction of snapshot history
systems = ["demo"]          # systems with a daily cycle (default: every one with demand)

[schedule.ingest]           # the ingest step per system: "lake" (default), "chicago",
chicago = "chicago"         # "opsdb" or "none"
shop = "opsdb"

[[schedule.feeds]]          # polled every minute (or every_s), one poll per run; without
                            # any, each system's GBFS feed on record (its last ingest)
system_id = "madison"
url = "https://gbfs.bcycle.com/bcycle_madison/gbfs.json"
every_s = 60
```
"""

from __future__ import annotations

import re
import uuid
from asyncio import CancelledError
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from fleetcast.config import Settings
from fleetcast.domain import Dataset, check_timezone
from fleetcast.errors import ConfigError, FleetcastError
from fleetcast.store import Store, records, state
from fleetcast.store import pipeline as pstore
from fleetcast.store.lake import check_system_id

T = TypeVar("T")

DAILY: Final = "daily"
POLL: Final = "poll"
COMPACT: Final = "compact"
DAILY_STEPS: Final = ("ingest", "arrivals", "train", "forecast", "plan", "monitor")
INGEST_SOURCES: Final = ("lake", "chicago", "opsdb", "none")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TRAIN_ON: Final = (*WEEKDAYS, "daily", "never")
KEEP_POLL_RUNS_DAYS: Final = 14
"""Poll runs (two rows a minute per feed) older than this are pruned by the compaction."""
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SNAPSHOTS: Final = (Dataset.VEHICLE_STATUS, Dataset.STATION_STATUS, Dataset.TELEMETRY)

Call = Callable[..., Any]
"""How a flow runs a step: ``call(step_name, fn, *args)`` returns ``fn(*args)``."""


def plain_call(_step: str, fn: Callable[..., T], *args: Any) -> T:
    """Run a step as a plain function call (no orchestrator)."""
    return fn(*args)


@dataclass(frozen=True, slots=True)
class FeedSchedule:
    """A GBFS feed polled on a schedule into ``system_id``, one poll per run."""

    system_id: str
    url: str
    every_s: float = 60.0
    timezone: str | None = None

    def __post_init__(self) -> None:
        try:
            check_system_id(self.system_id)
        except ValueError as exc:
            raise ValueError(f"[[schedule.feeds]] system_id: {exc}") from None
        if not isinstance(self.url, str) or not self.url.strip():
            raise ValueError(
                f"[[schedule.feeds]] url of {self.system_id!r} must be a URL or folder"
            )
        if isinstance(self.every_s, bool) or not isinstance(self.every_s, int | float):
            raise ValueError(f"[[schedule.feeds]] every_s must be a number, got {self.every_s!r}")
        if not 10 <= self.every_s <= 86_400:
            raise ValueError(
                f"[[schedule.feeds]] every_s must be between 10 and 86400 seconds, "
                f"got {self.every_s}"
            )
        if self.timezone is not None:
            try:
                check_timezone(self.timezone)
            except ValueError as exc:
                raise ValueError(f"[[schedule.feeds]] timezone: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FeedSchedule:
        """One ``[[schedule.feeds]]`` entry."""
        known = {"system_id", "url", "every_s", "timezone"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"[[schedule.feeds]] key(s) {sorted(unknown)} not understood; known keys are "
                f"{sorted(known)}"
            )
        missing = {"system_id", "url"} - set(data)
        if missing:
            raise ValueError(f"[[schedule.feeds]] needs {sorted(missing)}")
        return cls(**dict(data))


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """When each pipeline runs and what the daily cycle does (see the module docstring)."""

    daily_at: str = "05:00"
    train_on: str = "monday"
    train_weeks: int = 8
    model: str | None = None
    horizon: int = 3
    lookback_days: int = 3
    compact_every_minutes: float = 60.0
    systems: tuple[str, ...] | None = None
    ingest: Mapping[str, str] = field(default_factory=dict)
    feeds: tuple[FeedSchedule, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.daily_at, str) or not _CLOCK.match(self.daily_at):
            raise ValueError(f"[schedule] daily_at must be HH:MM (24 h), got {self.daily_at!r}")
        if self.train_on not in TRAIN_ON:
            raise ValueError(
                f"[schedule] train_on {self.train_on!r} not understood: use a weekday, "
                "'daily' or 'never'"
            )
        for name, value, low, high in (
            ("train_weeks", self.train_weeks, 1, 52),
            ("horizon", self.horizon, 1, 28),
            ("lookback_days", self.lookback_days, 1, 366),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"[schedule] {name} must be an integer from {low} to {high}, got {value!r}"
                )
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise ValueError(f"[schedule] model must be a model name, got {self.model!r}")
        minutes = self.compact_every_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 1:
            raise ValueError(
                f"[schedule] compact_every_minutes must be a number >= 1, got {minutes!r}"
            )
        if self.systems is not None:
            for sid in self.systems:
                try:
                    check_system_id(sid)
                except ValueError as exc:
                    raise ValueError(f"[schedule] systems: {exc}") from None
        for sid, source in self.ingest.items():
            if source not in INGEST_SOURCES:
                raise ValueError(
                    f"[schedule.ingest] {sid} = {source!r} not understood: use one of "
                    f"{', '.join(INGEST_SOURCES)}"
                )
        seen = [f.system_id for f in self.feeds]
        twice = sorted({s for s in seen if seen.count(s) > 1})
        if twice:
            raise ValueError(f"[[schedule.feeds]] system_id {twice} polled twice: one feed each")

    @property
    def daily_time(self) -> time:
        """``daily_at`` as a time of day."""
        hours, minutes = self.daily_at.split(":")
        return time(int(hours), int(minutes))

    def source_of(self, system_id: str) -> str:
        """The ingest source of a system's daily cycle."""
        return self.ingest.get(system_id, "lake")

    def trains_on(self, day: date) -> bool:
        """Whether the daily cycle of ``day`` (a local day) retrains before forecasting."""
        if self.train_on == "daily":
            return True
        if self.train_on == "never":
            return False
        return WEEKDAYS[day.weekday()] == self.train_on

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScheduleConfig:
        """Build from a ``[schedule]`` table; ValueError naming any key not understood."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"[schedule] key(s) {sorted(unknown)} not understood; known keys are "
                f"{sorted(known)}"
            )
        values = dict(data)
        if "systems" in values:
            systems = values["systems"]
            if isinstance(systems, str) or not isinstance(systems, list | tuple):
                raise ValueError(f"[schedule] systems must be a list of ids, got {systems!r}")
            values["systems"] = tuple(systems)
        ingest = values.get("ingest", {})
        if not isinstance(ingest, Mapping):
            raise ValueError("[schedule.ingest] must be a table of system_id = source")
        values["ingest"] = dict(ingest)
        feeds = values.get("feeds", [])
        if not isinstance(feeds, list | tuple) or not all(isinstance(f, Mapping) for f in feeds):
            raise ValueError("[[schedule.feeds]] must be a list of tables")
        values["feeds"] = tuple(FeedSchedule.from_mapping(f) for f in feeds)
        return cls(**values)


def schedule_for(settings: Settings) -> ScheduleConfig:
    """The schedule from fleetcast.toml (defaults when absent); ConfigError naming the file
    when a value is not understood."""
    try:
        return ScheduleConfig.from_mapping(settings.section("schedule"))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"[schedule] in {settings.config_file or 'fleetcast.toml'}: {exc}"
        ) from exc


def scheduled_systems(store: Store, config: ScheduleConfig) -> list[tuple[str, str]]:
    """(system_id, timezone) of each system with a daily cycle: ``config.systems``, or every
    system with daily demand. A configured system missing from the store is a ConfigError."""
    with store.connect() as conn:
        known = records.list_system_ids(conn)
        if config.systems is not None:
            missing = sorted(set(config.systems) - set(known))
            if missing:
                raise ConfigError(
                    f"[schedule] systems {missing} are not in the store (it has {known}): "
                    "ingest them first or remove them"
                )
            chosen = list(config.systems)
        else:
            chosen = [s for s in known if records.demand_summary(conn, s)["last_day"] is not None]
        return [(sid, records.get_system(conn, sid).timezone) for sid in chosen]


def scheduled_feeds(store: Store, config: ScheduleConfig) -> list[FeedSchedule]:
    """The feeds to poll: ``[[schedule.feeds]]``, or else the GBFS discovery feed each system
    last read successfully (what ``fleetcast ingest gbfs`` or the demo recorded)."""
    if config.feeds:
        return list(config.feeds)
    with store.connect() as conn:
        recorded = [
            f
            for f in state.load_feed_states(conn)
            if f.kind == "gbfs" and f.last_success_at is not None
        ]
    newest: dict[str, state.FeedState] = {}
    for feed in sorted(
        recorded, key=lambda f: f.last_success_at or datetime.min.replace(tzinfo=UTC)
    ):
        newest[feed.system_id] = feed
    return [FeedSchedule(sid, newest[sid].url) for sid in sorted(newest)]


def close_abandoned(store: Store, *, why: str) -> int:
    """Mark every run and step still ``running`` as ``interrupted`` (a scheduler stopped or
    killed while they ran: their jobs wrote in one transaction, so nothing of them is
    half-written); returns the rows marked."""
    with store.begin() as conn:
        return pstore.close_running(conn, at=_now(), message=why)


def under_way(
    store: Store, flow: str, system_id: str | None, *, within_s: float
) -> datetime | None:
    """When a run of the same pipeline still running began (one started in the last
    ``within_s`` seconds, its flow's timeout: an older row is a killed run, not a live one),
    so a run due while the previous one works can stand aside instead of overlapping it."""
    with store.connect() as conn:
        return pstore.running_since(
            conn, flow=flow, system_id=system_id, after=_now() - timedelta(seconds=within_s)
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _describe(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt | SystemExit | CancelledError):
        return f"stopped ({type(error).__name__}: Ctrl-C, SIGTERM or a cancelled run)"
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 2000 else text[:1997] + "..."


@dataclass(slots=True)
class StepOutcome:
    """How one step of a run ended."""

    step: str
    status: str
    seconds: float
    message: str | None = None


@dataclass(slots=True)
class RunReport:
    """One recorded pipeline run and its steps."""

    run_id: str
    flow: str
    system_id: str | None
    steps: list[StepOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``failed`` when a step failed, else ``ok``."""
        return "failed" if any(s.status == "failed" for s in self.steps) else "ok"

    def step(self, name: str) -> StepOutcome:
        """The outcome of the named step."""
        return next(s for s in self.steps if s.step == name)

    def failures(self) -> list[StepOutcome]:
        """The failed steps."""
        return [s for s in self.steps if s.status == "failed"]


class Recorder:
    """Writes a run and its steps to ``pipeline_runs`` as they start and end.

    A step that raises an ``Exception`` is recorded ``failed`` and reported to the caller
    (the run goes on); anything else (KeyboardInterrupt, a cancellation) is recorded
    ``interrupted`` together with the run, and propagates.
    """

    def __init__(
        self, store: Store, *, flow: str, system_id: str | None, flow_run_id: str | None = None
    ) -> None:
        self.store = store
        self.report = RunReport(str(uuid.uuid4()), flow, system_id)
        self.flow_run_id = flow_run_id
        self._began = perf_counter()

    def start(self) -> Recorder:
        """Record the run as started."""
        with self.store.begin() as conn:
            pstore.start_step(
                conn,
                run_id=self.report.run_id,
                step=pstore.RUN_STEP,
                flow=self.report.flow,
                system_id=self.report.system_id,
                started_at=_now(),
                flow_run_id=self.flow_run_id,
            )
        return self

    def run(self, step: str, call: Call, fn: Callable[..., Any], *args: Any) -> StepOutcome:
        """Run one step through ``call`` and record its outcome (its summary on success)."""
        with self.store.begin() as conn:
            pstore.start_step(
                conn,
                run_id=self.report.run_id,
                step=step,
                flow=self.report.flow,
                system_id=self.report.system_id,
                started_at=_now(),
                flow_run_id=self.flow_run_id,
            )
        began = perf_counter()
        try:
            summary = call(step, fn, *args)
        except Exception as exc:
            outcome = StepOutcome(step, "failed", perf_counter() - began, _describe(exc))
        except BaseException as exc:
            outcome = StepOutcome(step, "interrupted", perf_counter() - began, _describe(exc))
            self._close(outcome)
            self.finish(status="interrupted", message=f"interrupted during {step}")
            raise
        else:
            message = summary if isinstance(summary, str) else None
            outcome = StepOutcome(step, "ok", perf_counter() - began, message)
        self._close(outcome)
        return outcome

    def _close(self, outcome: StepOutcome) -> None:
        self.report.steps.append(outcome)
        with self.store.begin() as conn:
            pstore.finish_step(
                conn,
                run_id=self.report.run_id,
                step=outcome.step,
                status=outcome.status,
                finished_at=_now(),
                seconds=outcome.seconds,
                message=outcome.message,
            )

    def skip(self, step: str, why: str) -> None:
        """Record a step that does not run in this run."""
        self.report.steps.append(StepOutcome(step, "skipped", 0.0, why))
        with self.store.begin() as conn:
            pstore.skip_step(
                conn,
                run_id=self.report.run_id,
                step=step,
                flow=self.report.flow,
                system_id=self.report.system_id,
                at=_now(),
                message=why,
            )

    def finish(self, *, status: str | None = None, message: str | None = None) -> RunReport:
        """Record the run's outcome: failed when a step failed (naming them), else ok."""
        self.report.seconds = perf_counter() - self._began
        failed = self.report.failures()
        if status is None:
            status = self.report.status
        if message is None and failed:
            message = "failed: " + "; ".join(f"{s.step}: {s.message}" for s in failed)
        with self.store.begin() as conn:
            pstore.finish_step(
                conn,
                run_id=self.report.run_id,
                step=pstore.RUN_STEP,
                status=status,
                finished_at=_now(),
                seconds=self.report.seconds,
                message=message,
            )
        return self.report


# --- the steps: each calls an existing job and returns a one-line summary ------------------


def system_today(store: Store, system_id: str) -> date:
    """Today in the system's timezone."""
    with store.connect() as conn:
        tz = records.get_system(conn, system_id).timezone
    return datetime.now(ZoneInfo(tz)).date()


def ingest_step(store: Store, system_id: str, config: ScheduleConfig, today: date) -> str:
    """The daily cycle's ingest: what the system's configured source gives up to yesterday.

    ``lake`` recounts the last ``lookback_days`` of daily demand (and any days since the
    stored demand ends) from the trips in the lake, which the live sources, file drops and
    other jobs append to; ``chicago`` fetches the portal's trips since the stored demand
    ends; ``opsdb`` reads the operator's database after its watermark; ``none`` does nothing.
    """
    source = config.source_of(system_id)
    if source == "none":
        return "no ingest configured"
    with store.connect() as conn:
        last_demand = records.demand_summary(conn, system_id)["last_day"]
    if source == "chicago":
        from fleetcast.jobs.trips import ingest_chicago_api

        since = (last_demand or today - timedelta(days=28)) - timedelta(
            days=config.lookback_days - 1
        )
        report = ingest_chicago_api(store, since=since, until=today, system_id=system_id)
        return f"chicago {since}..{today}: {report.rows_accepted:,} trips accepted"
    if source == "opsdb":
        from fleetcast.jobs.operator import ingest_opsdb
        from fleetcast.sources.opsdb import OpsdbConfig

        opsdb = OpsdbConfig.from_settings(store.settings)
        done = ingest_opsdb(store, system_id=system_id, config=opsdb, entity="trips")
        parts = [f"opsdb trips: {done.rows_accepted:,} accepted"]
        if opsdb.telemetry is not None:
            tele = ingest_opsdb(store, system_id=system_id, config=opsdb, entity="telemetry")
            parts.append(f"telemetry: {tele.rows_accepted:,} accepted")
        return "; ".join(parts)
    files = store.lake.partitions(Dataset.TRIPS, system_id=system_id)
    if not files:
        return "no trips in the lake: nothing to recount"
    yesterday = today - timedelta(days=1)
    last = min(max(p.last_day for p in files), yesterday)
    first_stored = min(p.first_day for p in files)
    first = max(first_stored, last - timedelta(days=config.lookback_days - 1))
    if last_demand is not None and last_demand < first:
        first = max(first_stored, last_demand + timedelta(days=1))
    if last < first:
        return f"no trips up to {yesterday}: nothing to recount"
    from fleetcast.jobs.ingest import refresh_demand

    demand = refresh_demand(store, system_id, first, last)
    trips = int(demand["trips"].sum())
    return f"daily demand {first}..{last} recounted from the lake: {trips:,} trips"


def arrivals_plan(store: Store, system_id: str) -> tuple[list[str], str | None]:
    """The airports whose arrivals the daily cycle fetches, and why it fetches none (no
    FLEETCAST_AERODATABOX_KEY, or no airport stored for the system)."""
    from fleetcast.jobs.city import arrivals_key
    from fleetcast.store import context as context_db

    if not arrivals_key():
        return [], "off: FLEETCAST_AERODATABOX_KEY is not set"
    with store.connect() as conn:
        airports = context_db.load_airports(conn, system_id)["airport"].to_list()
    if not airports:
        return [], (
            "off: no airport stored for the system (fleetcast ingest airports --airport IATA)"
        )
    return airports, None


def arrivals_step(
    store: Store, system_id: str, config: ScheduleConfig, today: date, airports: list[str]
) -> str:
    """Flights landed yesterday and scheduled over the forecast horizon at the system's
    airports (AeroDataBox), a forecasting feature."""
    from fleetcast.jobs.city import fetch_airport_arrivals

    start, end = today - timedelta(days=1), today + timedelta(days=config.horizon)
    report = fetch_airport_arrivals(
        store, system_id=system_id, airports=airports, start=start, end=end
    )
    return f"arrivals {start}..{end} at {', '.join(airports)}: {report.rows_accepted:,} rows"


def train_step(store: Store, system_id: str, config: ScheduleConfig) -> str:
    """Backtest a candidate beside the champion and promote it only if it wins."""
    from fleetcast.jobs.forecast import DEFAULT_MODEL, train

    report = train(
        store,
        system_id,
        model=config.model or DEFAULT_MODEL,
        weeks=config.train_weeks,
        horizon=config.horizon,
    )
    verdict = "promoted" if report.promoted else "champion kept"
    return f"{report.model} v{report.version} {verdict} ({report.reason})"


def forecast_step(store: Store, system_id: str, config: ScheduleConfig) -> str:
    """The champion's forecast of the next ``horizon`` days."""
    from fleetcast.jobs.forecast import forecast

    report = forecast(store, system_id, horizon=config.horizon)
    return (
        f"{report.rows:,} forecasts issued {report.issued_on} by {report.model_version} "
        f"({report.horizon} days)"
    )


def plan_step(store: Store, system_id: str, config: ScheduleConfig) -> str:
    """Today's stock targets, moves, routes and tasks (the [planning] parameters)."""
    from fleetcast.jobs.plan import make_plan

    plan = make_plan(store, system_id)
    summary = plan.summary
    return (
        f"plan {plan.plan_date} {plan.status}: {summary['moves']} moves, "
        f"{summary['vehicles_moved']} vehicles moved, {summary['tasks']} tasks"
    )


def monitor_step(store: Store, system_id: str, config: ScheduleConfig) -> str:
    """Accuracy, freshness and quality checks; a degraded verdict is a result, not a failure."""
    from fleetcast.jobs.monitor import run_monitor

    report = run_monitor(store, system_id)
    reasons = "; ".join(report.reasons[:3])
    return f"monitor {report.status}" + (f": {reasons}" if reasons else "")


def _has_champion(store: Store, system_id: str) -> bool:
    from fleetcast.jobs.forecast import registry_for

    try:
        return registry_for(store).champion(system_id) is not None
    except Exception:
        return False


def daily_cycle(
    store: Store,
    system_id: str,
    *,
    config: ScheduleConfig,
    today: date | None = None,
    call: Call = plain_call,
    flow_run_id: str | None = None,
) -> RunReport:
    """One daily cycle of a system: ingest -> arrivals (with a key) -> train (when due) ->
    forecast -> plan, then monitor; every step recorded.

    A failed ingest skips the rest but monitoring (yesterday's forecasts and plan stay in
    service); failed arrivals or training leave the feature or the champion as they were
    and forecasting goes on; a failed forecast skips the plan. Monitoring always runs: it
    is what reports the rest.
    """
    today = today or system_today(store, system_id)
    rec = Recorder(store, flow=DAILY, system_id=system_id, flow_run_id=flow_run_id).start()
    ingested = rec.run("ingest", call, ingest_step, store, system_id, config, today)
    if ingested.status != "ok":
        for step in ("arrivals", "train", "forecast", "plan"):
            rec.skip(step, "ingest failed: the previous forecasts and plan stay in service")
    else:
        airports, off = arrivals_plan(store, system_id)
        if off:
            rec.skip("arrivals", off)
        else:
            rec.run("arrivals", call, arrivals_step, store, system_id, config, today, airports)
        if config.trains_on(today) or not _has_champion(store, system_id):
            rec.run("train", call, train_step, store, system_id, config)
        else:
            rec.skip("train", f"not due: the cycle retrains on {config.train_on}")
        forecast = rec.run("forecast", call, forecast_step, store, system_id, config)
        if forecast.status == "ok":
            rec.run("plan", call, plan_step, store, system_id, config)
        else:
            rec.skip("plan", "forecast failed: the previous plan stays in service")
    rec.run("monitor", call, monitor_step, store, system_id, config)
    return rec.finish()


def poll_step(store: Store, feed: FeedSchedule) -> str:
    """One poll cycle of a feed (every file read, what is new written); a feed whose every
    file failed is a FleetcastError, so the run is recorded as failed."""
    from fleetcast.jobs.supply import poll_gbfs

    cycles: list[Any] = []
    report = poll_gbfs(
        store,
        feed.url,
        system_id=feed.system_id,
        max_polls=1,
        timezone=feed.timezone,
        on_cycle=cycles.append,
    )
    failed = cycles[0].failed if cycles else {}
    if failed and not (cycles[0].stored or cycles[0].unchanged or cycles[0].stale):
        first = next(iter(failed.items()))
        raise FleetcastError(f"every file of {feed.url} failed ({first[0]}: {first[1]})")
    note = f"; {len(failed)} failed ({', '.join(sorted(failed))})" if failed else ""
    return f"{report.snapshots} snapshot(s) stored{note}"


def poll_feed(
    store: Store, feed: FeedSchedule, *, call: Call = plain_call, flow_run_id: str | None = None
) -> RunReport:
    """Poll one feed once and record the run."""
    rec = Recorder(store, flow=POLL, system_id=feed.system_id, flow_run_id=flow_run_id).start()
    rec.run("poll", call, poll_step, store, feed)
    return rec.finish()


def compact_step(store: Store) -> str:
    """Merge each past local day's snapshot files into one (today's are still growing) and
    prune poll runs older than two weeks."""
    removed = 0
    with store.connect() as conn:
        systems = [
            (sid, records.get_system(conn, sid).timezone) for sid in records.list_system_ids(conn)
        ]
    for sid, tz in systems:
        today = datetime.now(ZoneInfo(tz)).date()
        for dataset in _SNAPSHOTS:
            removed += store.lake.compact(dataset, system_id=sid, before=today)
    with store.begin() as conn:
        pruned = pstore.prune(conn, flow=POLL, before=_now() - timedelta(days=KEEP_POLL_RUNS_DAYS))
    return (
        f"{removed} snapshot file(s) merged away in {len(systems)} system(s); "
        f"{pruned} old poll rows pruned"
    )


def compact_snapshots(
    store: Store, *, call: Call = plain_call, flow_run_id: str | None = None
) -> RunReport:
    """Compact the snapshot history of every system and record the run."""
    rec = Recorder(store, flow=COMPACT, system_id=None, flow_run_id=flow_run_id).start()
    rec.run("compact", call, compact_step, store)
    return rec.finish()


def pipeline_status(store: Store) -> dict[str, Any]:
    """The newest run of each pipeline (flow, system) with its steps, and those failing."""
    from fleetcast.jobs.status import json_value

    with store.connect() as conn:
        runs = pstore.latest_runs(conn)
    failing = pstore.failing(runs)

    def clean(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            k: ([clean(s) for s in v] if k == "steps" else json_value(v)) for k, v in entry.items()
        }

    return {"runs": [clean(r) for r in runs], "failing": [clean(f) for f in failing]}
