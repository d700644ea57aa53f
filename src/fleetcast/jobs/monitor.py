"""The monitor job: forecast accuracy as actuals arrive, data drift, data quality, a verdict.

``run_monitor`` computes accuracy for every stored forecast whose actuals have arrived (days
inside the alert window are recomputed on each run, since actuals can be revised; older days
only once), checks the drift of the model's inputs and target (Evidently, before the write
transaction, its HTML report saved under ``<home>/monitoring/<system>/``), checks the
sources' freshness and quarantine, and stores the accuracy rows, the drift figures and the
run in one transaction: a failure leaves the store as it was (and removes the new report),
and is recorded as a ``failed`` run afterwards so it is visible.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from fleetcast.domain import Dataset
from fleetcast.errors import UnknownSystemError
from fleetcast.jobs.city import system_arrivals
from fleetcast.monitoring import quality
from fleetcast.monitoring.accuracy import (
    ACCURACY_SCHEMA,
    AccuracyAlert,
    accuracy,
    beside_baseline,
    find_alerts,
)
from fleetcast.monitoring.config import MonitorConfig, config_for
from fleetcast.monitoring.drift import DriftConfig, DriftResult, check_drift
from fleetcast.sources.calendar import holiday_dates
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore

REPORTS_DIR = "monitoring"
"""Folder of the home holding ``<system>/drift-<day>-<run>.html`` reports."""


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


@dataclass(frozen=True)
class MonitorReport:
    """One monitor run: its verdict and reasons, the recent all-zone accuracy beside the
    backtest's WAPE, the accuracy alerts and the health of every source."""

    run_id: str
    system_id: str
    ran_at: datetime
    today: date
    status: str
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    computed_days: tuple[date, ...]
    rows_written: int
    alerts: tuple[AccuracyAlert, ...]
    backtest_run_id: str | None
    accuracy: pl.DataFrame = field(repr=False)
    sources: pl.DataFrame = field(repr=False)
    drift: DriftResult | None = field(default=None, repr=False)
    drift_report: str | None = None
    drift_seconds: float | None = None

    @property
    def degraded(self) -> bool:
        """True when an accuracy alert or a source problem was found."""
        return self.status == "degraded"

    def latest(self) -> pl.DataFrame:
        """The newest all-zone accuracy row of each horizon and model version."""
        if self.accuracy.is_empty():
            return self.accuracy
        return (
            self.accuracy.sort("target_date")
            .group_by("horizon", "model_version")
            .last()
            .sort("horizon", "model_version")
        )

    def summary(self) -> dict[str, Any]:
        """What the run found, as JSON-ready values (stored with the run)."""
        days = self.computed_days
        return {
            "run_id": self.run_id,
            "system_id": self.system_id,
            "ran_at": _json(self.ran_at),
            "today": _json(self.today),
            "status": self.status,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "computed": {
                "days": len(days),
                "first": _json(days[0]) if days else None,
                "last": _json(days[-1]) if days else None,
                "rows": self.rows_written,
            },
            "backtest_run_id": self.backtest_run_id,
            "alerts": [a.as_dict() for a in self.alerts],
            "latest": _rows(self.latest()),
            "sources": _rows(self.sources),
            "drift": self.drift_summary(),
        }

    def drift_summary(self) -> dict[str, Any] | None:
        """The drift figures with the report's path (relative to the home), None unchecked."""
        if self.drift is None:
            return None
        return {
            **{k: _json(v) for k, v in self.drift.summary().items() if k != "columns"},
            "columns": _rows(self.drift.columns),
            "problems": self.drift.problems(),
            "report_path": self.drift_report,
            "seconds": self.drift_seconds,
        }


def _days_to_compute(
    candidates: list[date], stored: set[date], *, window_start: date
) -> list[date]:
    return [d for d in candidates if d >= window_start or d not in stored]


def run_monitor(
    store: Store,
    system_id: str,
    *,
    today: date | None = None,
    config: MonitorConfig | None = None,
) -> MonitorReport:
    """Check a system now: accuracy of the forecasts whose actuals arrived, data freshness
    and quality; store the accuracy and the run; ``degraded`` with reasons when a rule broke.

    ``today`` defaults to today in the system's timezone; only days before it are scored.
    """
    config = config or config_for(store.settings, system_id)
    run_id = str(uuid.uuid4())
    ran_at = datetime.now(UTC)
    report_file: Path | None = None
    try:
        drift = _drift(store, system_id, run_id, today, config.drift)
        report_file = drift.path
        report = _run(store, system_id, run_id, ran_at, today, config, drift)
    except UnknownSystemError:
        raise
    except Exception as exc:
        if report_file is not None:
            report_file.unlink(missing_ok=True)
        _record_failure(store, system_id, run_id, ran_at, exc)
        raise
    if report_file is not None:
        prune_reports(report_file.parent, keep=config.drift.keep_reports)
    return report


@dataclass(frozen=True)
class _Drift:
    """A drift check before it is stored: the result or why there is none, the report file."""

    result: DriftResult | None
    note: str | None
    path: Path | None
    seconds: float
    failed: bool = False


def _drift(
    store: Store, system_id: str, run_id: str, today: date | None, config: DriftConfig
) -> _Drift:
    """Check drift on the demand up to yesterday and write its HTML report (no db write)."""
    began = perf_counter()
    if not config.enabled:
        return _Drift(None, "drift check disabled ([monitoring.drift] enabled = false)", None, 0)
    with store.connect() as conn:
        system = records.get_system(conn, system_id)
        day = today or datetime.now(UTC).astimezone(ZoneInfo(system.timezone)).date()
        demand = records.load_demand(conn, system_id, end=day - timedelta(days=1))
    if demand.is_empty():
        return _Drift(None, "no daily demand: drift not checked", None, 0)
    first, last = demand["date"].min(), demand["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    weather = store.lake.read(Dataset.WEATHER_DAILY, system_id=system_id, start=first, end=last)
    if not weather.is_empty():
        weather = weather.filter(pl.col("kind") == "observed")
    holidays = holiday_dates(system.country, system.subdivision, first, last)
    arrivals = system_arrivals(store, system_id=system_id, start=first, end=last)
    try:
        result = check_drift(demand, weather, holidays, arrivals=arrivals, config=config)
    except ImportError as exc:
        missing = exc.name or str(exc)
        note = (
            f"drift not checked: {missing} is not installed (pip install 'fleetcast[monitoring]')"
        )
        return _Drift(None, note, None, perf_counter() - began)
    except Exception as exc:  # accuracy and source health are still checked and stored
        note = f"drift check failed: {type(exc).__name__}: {exc}"
        return _Drift(None, note, None, perf_counter() - began, failed=True)
    if isinstance(result, str):
        return _Drift(None, result, None, perf_counter() - began)
    path = None
    if config.save_report:
        name = f"drift-{last.isoformat()}-{run_id[:8]}.html"
        path = result.save_html(store.settings.home / REPORTS_DIR / system_id / name)
    return _Drift(result, None, path, perf_counter() - began)


def prune_reports(folder: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` drift reports in ``folder``; the deleted paths."""
    reports = sorted(folder.glob("drift-*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in reports[keep:]:
        old.unlink(missing_ok=True)
    return reports[keep:]


def report_file(store: Store, relative: str | None) -> Path | None:
    """The absolute path of a stored drift report, None when unset or no longer on disk."""
    if not relative:
        return None
    home = store.settings.home.resolve()
    path = (home / relative).resolve()
    if not path.is_relative_to(home / REPORTS_DIR) or not path.is_file():
        return None
    return path


def _run(
    store: Store,
    system_id: str,
    run_id: str,
    ran_at: datetime,
    today: date | None,
    config: MonitorConfig,
    drift: _Drift,
) -> MonitorReport:
    rule = config.accuracy
    notes: list[str] = [] if drift.note is None or drift.failed else [drift.note]
    with store.begin() as conn:
        system = records.get_system(conn, system_id)
        day = today or ran_at.astimezone(ZoneInfo(system.timezone)).date()
        last_actual = records.demand_summary(conn, system_id)["last_day"]
        until = day - timedelta(days=1)
        if last_actual is not None:
            until = min(until, last_actual)
        window_start = until - timedelta(days=rule.window_days - 1)
        days = (
            []
            if last_actual is None
            else _days_to_compute(
                mstore.forecast_target_days(conn, system_id, until=until),
                mstore.accuracy_days(conn, system_id),
                window_start=window_start,
            )
        )
        scored = pl.DataFrame(schema=ACCURACY_SCHEMA)
        if days:
            forecasts = mstore.load_forecasts_for_days(conn, system_id, days)
            actuals = records.load_demand(conn, system_id, start=days[0], end=days[-1])
            scored = accuracy(forecasts, actuals)
        written = mstore.save_accuracy(conn, system_id, scored, run_id=run_id)
        recent = mstore.load_accuracy(conn, system_id, start=window_start, end=until)
        backtest_run, baseline = records.latest_backtest(conn, system_id)
        alerts = find_alerts(recent, baseline, rule)
        with_baseline = beside_baseline(recent, baseline)
        if recent.is_empty():
            notes.append(
                f"no forecast with actuals between {window_start} and {until}: "
                "issue forecasts and ingest the days they cover"
            )
        if backtest_run is None:
            notes.append("no backtest stored: accuracy has nothing to be compared with")
        elif with_baseline["baseline_wape"].null_count():
            missing = (
                with_baseline.filter(pl.col("baseline_wape").is_null())
                .select(pl.concat_str("model_version", pl.lit(" h"), "horizon"))
                .unique()
                .to_series()
                .sort()
                .to_list()
            )
            notes.append(f"the newest backtest has no WAPE for {', '.join(missing)}")
        health = quality.source_health(
            mstore.load_ingest_log(conn, system_id),
            mstore.load_feeds(conn, system_id),
            last_actual,
            now=ran_at,
            today=day,
            thresholds=config.quality,
        )
        drift_problems = [] if drift.result is None else drift.result.problems()
        if not config.drift.degrade:
            notes.extend(f"warning: {p}" for p in drift_problems)
            drift_problems = []
        if drift.failed and drift.note:
            drift_problems.append(drift.note)
        reasons = (
            tuple(a.message() for a in alerts)
            + tuple(quality.problems(health))
            + tuple(drift_problems)
        )
        relative = (
            None if drift.path is None else drift.path.relative_to(store.settings.home).as_posix()
        )
        report = MonitorReport(
            run_id=run_id,
            system_id=system_id,
            ran_at=ran_at,
            today=day,
            status="degraded" if reasons else "ok",
            reasons=reasons,
            notes=tuple(notes),
            computed_days=tuple(days),
            rows_written=written,
            alerts=tuple(alerts),
            backtest_run_id=None if backtest_run is None else str(backtest_run["run_id"]),
            accuracy=with_baseline,
            sources=health,
            drift=drift.result,
            drift_report=relative,
            drift_seconds=None if drift.result is None else round(drift.seconds, 3),
        )
        mstore.save_run(
            conn,
            run_id=run_id,
            system_id=system_id,
            ran_at=ran_at,
            status=report.status,
            summary=report.summary(),
        )
        if drift.result is not None:
            mstore.save_drift(
                conn,
                run_id=run_id,
                system_id=system_id,
                ran_at=ran_at,
                result=drift.result,
                report_path=relative,
            )
    return report


def _record_failure(
    store: Store, system_id: str, run_id: str, ran_at: datetime, error: Exception
) -> None:
    """Record a failed run in its own transaction, so the failure is visible; never raise."""
    message = f"{type(error).__name__}: {error}"
    try:
        with store.begin() as conn:
            mstore.save_run(
                conn,
                run_id=run_id,
                system_id=system_id,
                ran_at=ran_at,
                status="failed",
                summary={"run_id": run_id, "status": "failed", "reasons": [message]},
            )
    except Exception:  # the store itself may be what failed; the caller sees the error
        return


def latest_monitoring(store: Store, system_id: str, *, days: int = 14) -> dict[str, Any]:
    """The newest monitor run of a system and its all-zone accuracy over the last ``days``
    days with accuracy, beside the backtest's WAPE, as JSON-ready values (no checks run)."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        run = mstore.latest_run(conn, system_id)
        recent = mstore.load_accuracy(conn, system_id)
        _, baseline = records.latest_backtest(conn, system_id)
        drift = mstore.latest_drift(conn, system_id)
    if not recent.is_empty():
        newest = recent["target_date"].max()
        assert isinstance(newest, date)
        recent = recent.filter(pl.col("target_date") > newest - timedelta(days=days))
    return {
        "system_id": system_id,
        "run": None
        if run is None
        else {
            "run_id": run["run_id"],
            "ran_at": _json(run["ran_at"]),
            "status": run["status"],
            "summary": run["summary"],
        },
        "accuracy": _rows(beside_baseline(recent, baseline)),
        "drift": None if drift is None else _drift_view(store, drift),
    }


def _drift_view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """The newest stored drift check as JSON-ready values, ``report_available`` when its HTML
    report is still on disk."""
    out = {k: _json(v) for k, v in row.items() if k != "columns"}
    out["columns"] = [{k: _json(v) for k, v in c.items()} for c in row["columns"]]
    out["report_available"] = report_file(store, row["report_path"]) is not None
    return out


def latest_report_file(store: Store, system_id: str) -> Path | None:
    """The newest drift check's HTML report of a system, None when there is none on disk."""
    with store.connect() as conn:
        records.get_system(conn, system_id)
        drift = mstore.latest_drift(conn, system_id)
    return None if drift is None else report_file(store, drift["report_path"])
