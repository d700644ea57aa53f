"""Data freshness and quality per source: ingests, polled feeds and daily demand.

Pure functions over frames read from the store: the ingest log (last successful run, its
age, rows accepted / rejected and the share quarantined over a recent window), the feed
health table (age of the last successful poll against the feed's TTL) and the last day of
daily demand. :class:`QualityThresholds` says when a source is stale or failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

OK, STALE, FAILING, QUARANTINE = "ok", "stale", "failing", "quarantine"
"""Statuses of a source: fine, too old, not succeeding, too many rows quarantined."""

SUCCESS = ("ok", "partial")
"""Ingest log statuses of a run that loaded data."""

HEALTH_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "kind": pl.String(),
    "status": pl.String(),
    "last_success_at": pl.Datetime("us", "UTC"),
    "age_hours": pl.Float64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
    "quarantined_share": pl.Float64(),
    "problem": pl.String(),
}
"""Columns of a source-health frame (one row per ingest source, feed or dataset)."""


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """When a source is flagged: ingest older than ``max_ingest_age_hours`` (None: never),
    more than ``max_quarantine_share`` of rows rejected over ``window_days``, a feed not read
    for ``feed_stale_factor`` x its TTL (at least ``min_feed_age_s``), demand ending more than
    ``max_demand_lag_days`` before today (None: never)."""

    max_ingest_age_hours: float | None = 36.0
    max_quarantine_share: float = 0.05
    window_days: int = 7
    feed_stale_factor: float = 3.0
    min_feed_age_s: float = 300.0
    max_demand_lag_days: int | None = 2

    def __post_init__(self) -> None:
        problems = []
        if self.max_ingest_age_hours is not None and self.max_ingest_age_hours <= 0:
            problems.append(f"max_ingest_age_hours={self.max_ingest_age_hours} (must be > 0)")
        if not 0.0 <= self.max_quarantine_share <= 1.0:
            problems.append(f"max_quarantine_share={self.max_quarantine_share} (allowed 0..1)")
        if not 1 <= self.window_days <= 366:
            problems.append(f"window_days={self.window_days} (allowed 1..366)")
        if self.feed_stale_factor < 1.0:
            problems.append(f"feed_stale_factor={self.feed_stale_factor} (must be >= 1)")
        if self.min_feed_age_s <= 0:
            problems.append(f"min_feed_age_s={self.min_feed_age_s} (must be > 0)")
        if self.max_demand_lag_days is not None and self.max_demand_lag_days < 1:
            problems.append(f"max_demand_lag_days={self.max_demand_lag_days} (must be >= 1)")
        if problems:
            raise ValueError("data quality thresholds not understood: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> QualityThresholds:
        """Build from a ``[monitoring.quality]`` table; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"[monitoring.quality] key(s) {sorted(unknown)} not understood; "
                f"known keys are {sorted(known)}"
            )
        return cls(**dict(data))


def _hours(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (now - then).total_seconds() / 3600.0


def _ago(hours: float) -> str:
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago"


def ingest_health(
    log: pl.DataFrame, *, now: datetime, thresholds: QualityThresholds | None = None
) -> pl.DataFrame:
    """One row per ingest source (``source/dataset``): last successful run and its age, rows
    accepted and rejected over the window and the share quarantined, and a status.

    ``log`` has the ingest log's source, dataset, started_at, finished_at, status,
    rows_accepted, rows_rejected and message columns; ``now`` is an aware UTC time.
    """
    limits = thresholds or QualityThresholds()
    since = now - timedelta(days=limits.window_days)
    out = []
    if log.is_empty():
        return pl.DataFrame(schema=HEALTH_SCHEMA)
    named = log.with_columns(
        pl.concat_str("source", pl.lit("/"), "dataset").alias("_name"),
        pl.coalesce("finished_at", "started_at").alias("_at"),
    )
    for (name,), runs in named.sort("_at").group_by(["_name"], maintain_order=True):
        done = runs.filter(pl.col("status").is_in(SUCCESS))
        last_success = done["_at"].max() if done.height else None
        assert last_success is None or isinstance(last_success, datetime)
        recent = runs.filter(pl.col("_at") >= since)
        counted = recent if recent.height else runs.tail(1)
        accepted = int(counted["rows_accepted"].sum())
        rejected = int(counted["rows_rejected"].sum())
        share = rejected / (accepted + rejected) if accepted + rejected else 0.0
        age = _hours(now, last_success)
        newest = runs.row(-1, named=True)
        status, problem = OK, None
        if last_success is None:
            status, problem = FAILING, f"no successful ingest in {runs.height} run(s)"
        elif (
            limits.max_ingest_age_hours is not None
            and age is not None
            and (age > limits.max_ingest_age_hours)
        ):
            status = STALE
            problem = (
                f"last successful ingest {_ago(age)} (limit {limits.max_ingest_age_hours:g} h)"
            )
        elif newest["status"] == "failed":
            status = FAILING
            problem = f"newest run failed: {newest['message'] or 'no message'}"
        elif share > limits.max_quarantine_share:
            status = QUARANTINE
            problem = (
                f"{share:.1%} of rows quarantined over {limits.window_days} days "
                f"(limit {limits.max_quarantine_share:.0%})"
            )
        out.append(
            {
                "source": name,
                "kind": "ingest",
                "status": status,
                "last_success_at": last_success,
                "age_hours": age,
                "rows_accepted": accepted,
                "rows_rejected": rejected,
                "quarantined_share": share,
                "problem": problem,
            }
        )
    return pl.DataFrame(out, schema=HEALTH_SCHEMA)


def feed_health(
    feeds: pl.DataFrame, *, now: datetime, thresholds: QualityThresholds | None = None
) -> pl.DataFrame:
    """One row per polled feed (``kind url``): age of its last successful poll and a status,
    stale once older than ``feed_stale_factor`` x its TTL (at least ``min_feed_age_s``).

    ``feeds`` has the feed table's kind, url, status, ttl_s, last_success_at, failures and
    last_error columns.
    """
    limits = thresholds or QualityThresholds()
    out = []
    for feed in feeds.iter_rows(named=True):
        last = feed["last_success_at"]
        age = _hours(now, last)
        ttl = feed["ttl_s"] or 0
        limit_s = max(limits.min_feed_age_s, limits.feed_stale_factor * ttl)
        status, problem = OK, None
        if last is None:
            status, problem = FAILING, f"never read ({feed['last_error'] or 'no poll yet'})"
        elif age is not None and age * 3600.0 > limit_s:
            status = STALE
            problem = f"last read {_ago(age)} (limit {limit_s:g} s)"
        elif feed["status"] == "error":
            status = FAILING
            problem = f"{feed['failures']} failure(s) in a row: {feed['last_error']}"
        out.append(
            {
                "source": f"{feed['kind']} {feed['url']}",
                "kind": "feed",
                "status": status,
                "last_success_at": last,
                "age_hours": age,
                "rows_accepted": None,
                "rows_rejected": None,
                "quarantined_share": None,
                "problem": problem,
            }
        )
    return pl.DataFrame(out, schema=HEALTH_SCHEMA)


def demand_health(
    last_day: date | None, *, today: date, thresholds: QualityThresholds | None = None
) -> pl.DataFrame:
    """One row for daily demand: how many days before ``today`` its last day is; stale past
    ``max_demand_lag_days`` (1 is normal: yesterday's actuals)."""
    limits = thresholds or QualityThresholds()
    status, problem, age = OK, None, None
    if last_day is None:
        status, problem = FAILING, "no daily demand yet"
    else:
        lag = (today - last_day).days
        age = lag * 24.0
        if limits.max_demand_lag_days is not None and lag > limits.max_demand_lag_days:
            status = STALE
            problem = (
                f"daily demand ends {last_day}, {lag} days before {today} "
                f"(limit {limits.max_demand_lag_days})"
            )
    row = {
        "source": "daily demand",
        "kind": "demand",
        "status": status,
        "last_success_at": None,
        "age_hours": age,
        "rows_accepted": None,
        "rows_rejected": None,
        "quarantined_share": None,
        "problem": problem,
    }
    return pl.DataFrame([row], schema=HEALTH_SCHEMA)


def source_health(
    log: pl.DataFrame,
    feeds: pl.DataFrame,
    demand_last_day: date | None,
    *,
    now: datetime,
    today: date,
    thresholds: QualityThresholds | None = None,
) -> pl.DataFrame:
    """Demand, ingest and feed health in one frame (see :data:`HEALTH_SCHEMA`)."""
    return pl.concat(
        [
            demand_health(demand_last_day, today=today, thresholds=thresholds),
            ingest_health(log, now=now, thresholds=thresholds),
            feed_health(feeds, now=now, thresholds=thresholds),
        ]
    )


def problems(health: pl.DataFrame) -> list[str]:
    """``source: problem`` for every flagged source."""
    return [
        f"{row['source']}: {row['problem']}"
        for row in health.filter(pl.col("status") != OK).iter_rows(named=True)
    ]


__all__ = [
    "FAILING",
    "HEALTH_SCHEMA",
    "OK",
    "QUARANTINE",
    "STALE",
    "QualityThresholds",
    "demand_health",
    "feed_health",
    "ingest_health",
    "problems",
    "source_health",
]
