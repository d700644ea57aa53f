"""The monitor job: forecast accuracy as actuals arrive, data quality, and a verdict.

``run_monitor`` computes accuracy for every stored forecast whose actuals have arrived (days
inside the alert window are recomputed on each run, since actuals can be revised; older days
only once), checks the sources' freshness and quarantine, and stores the accuracy rows and
the run in one transaction: a failure leaves the store as it was, and is recorded as a
``failed`` run afterwards so it is visible.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from fleetcast.errors import UnknownSystemError
from fleetcast.monitoring import quality
from fleetcast.monitoring.accuracy import (
    ACCURACY_SCHEMA,
    AccuracyAlert,
    accuracy,
    beside_baseline,
    find_alerts,
)
from fleetcast.monitoring.config import MonitorConfig, config_for
from fleetcast.store import Store, records
from fleetcast.store import monitoring as mstore


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
    try:
        return _run(store, system_id, run_id, ran_at, today, config)
    except UnknownSystemError:
        raise
    except Exception as exc:
        _record_failure(store, system_id, run_id, ran_at, exc)
        raise


def _run(
    store: Store,
    system_id: str,
    run_id: str,
    ran_at: datetime,
    today: date | None,
    config: MonitorConfig,
) -> MonitorReport:
    rule = config.accuracy
    notes: list[str] = []
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
        reasons = tuple(a.message() for a in alerts) + tuple(quality.problems(health))
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
        )
        mstore.save_run(
            conn,
            run_id=run_id,
            system_id=system_id,
            ran_at=ran_at,
            status=report.status,
            summary=report.summary(),
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
    }
