"""Data freshness and quality per source: ingest log, feeds and daily demand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from fleetcast.monitoring.config import MonitorConfig
from fleetcast.monitoring.quality import (
    QualityThresholds,
    demand_health,
    feed_health,
    ingest_health,
    problems,
    source_health,
)
from fleetcast.store.monitoring import FEED_SCHEMA, INGEST_SCHEMA

NOW = datetime(2026, 11, 22, 6, tzinfo=UTC)


def log(*runs: dict[str, Any]) -> pl.DataFrame:
    """Ingest log rows; each run gives source, hours ago, status, accepted and rejected."""
    rows = [
        {
            "source": r.get("source", "chicago"),
            "dataset": "trips",
            "started_at": NOW - timedelta(hours=r["hours_ago"]),
            "finished_at": NOW - timedelta(hours=r["hours_ago"]),
            "status": r.get("status", "ok"),
            "rows_read": r.get("accepted", 100) + r.get("rejected", 0),
            "rows_accepted": r.get("accepted", 100),
            "rows_rejected": r.get("rejected", 0),
            "message": r.get("message"),
        }
        for r in runs
    ]
    return pl.DataFrame(rows, schema=INGEST_SCHEMA)


def one(frame: pl.DataFrame) -> dict[str, Any]:
    """The only row of a one-source health frame."""
    assert frame.height == 1
    return frame.row(0, named=True)


def test_a_recent_clean_ingest_is_ok_with_its_counts() -> None:
    """Two runs within the window: counts summed, nothing quarantined, age from the newest."""
    row = one(ingest_health(log({"hours_ago": 30}, {"hours_ago": 2, "rejected": 1}), now=NOW))
    assert row["source"] == "chicago/trips" and row["status"] == "ok"
    assert row["rows_accepted"] == 200 and row["rows_rejected"] == 1
    assert row["quarantined_share"] == pytest.approx(1 / 201)
    assert row["age_hours"] == pytest.approx(2.0)


def test_an_old_ingest_is_stale() -> None:
    """The last success 40 hours ago breaks the 36-hour limit."""
    row = one(ingest_health(log({"hours_ago": 40}), now=NOW))
    assert row["status"] == "stale" and "limit 36 h" in row["problem"]
    relaxed = QualityThresholds(max_ingest_age_hours=None)
    assert one(ingest_health(log({"hours_ago": 400}), now=NOW, thresholds=relaxed))["status"] == (
        "ok"
    )


def test_failed_runs_flag_the_source() -> None:
    """Never succeeded, or the newest run failed: failing, with the message."""
    never = one(ingest_health(log({"hours_ago": 1, "status": "failed"}), now=NOW))
    assert never["status"] == "failing" and never["last_success_at"] is None
    newest = one(
        ingest_health(
            log({"hours_ago": 5}, {"hours_ago": 1, "status": "failed", "message": "HTTP 503"}),
            now=NOW,
        )
    )
    assert newest["status"] == "failing" and "HTTP 503" in newest["problem"]


def test_too_many_quarantined_rows_flag_the_source() -> None:
    """10 of 100 rows rejected is over the 5% limit; runs outside the week do not count."""
    row = one(
        ingest_health(
            log(
                {"hours_ago": 24 * 10, "rejected": 0},
                {"hours_ago": 1, "accepted": 90, "rejected": 10},
            ),
            now=NOW,
        )
    )
    assert row["status"] == "quarantine" and row["quarantined_share"] == pytest.approx(0.1)
    assert row["rows_accepted"] == 90


def feeds(*rows: dict[str, Any]) -> pl.DataFrame:
    """Feed health rows: kind, ttl, seconds since the last success (None: never), status."""
    return pl.DataFrame(
        [
            {
                "kind": r.get("kind", "free_bike_status"),
                "url": "http://feeds.test/fbs.json",
                "status": r.get("status", "ok"),
                "ttl_s": r.get("ttl_s", 60),
                "last_success_at": None
                if r["ago_s"] is None
                else NOW - timedelta(seconds=r["ago_s"]),
                "last_updated": None,
                "failures": r.get("failures", 0),
                "last_error": r.get("last_error"),
            }
            for r in rows
        ],
        schema=FEED_SCHEMA,
    )


@pytest.mark.parametrize(
    ("row", "status"),
    [
        ({"ago_s": 200}, "ok"),
        ({"ago_s": 400}, "stale"),
        ({"ago_s": 500, "ttl_s": 300}, "ok"),
        ({"ago_s": 1000, "ttl_s": 300}, "stale"),
        ({"ago_s": None, "last_error": "timeout"}, "failing"),
        ({"ago_s": 10, "status": "error", "failures": 2, "last_error": "HTTP 500"}, "failing"),
    ],
)
def test_feed_staleness_follows_its_ttl(row: dict[str, Any], status: str) -> None:
    """Stale past 3 x TTL but never before 300 s; a feed never read or erroring is failing."""
    assert one(feed_health(feeds(row), now=NOW))["status"] == status


def test_daily_demand_lag() -> None:
    """Yesterday's actuals are fresh; three days behind is stale; none at all is failing."""
    today = date(2026, 11, 22)
    assert one(demand_health(date(2026, 11, 21), today=today))["status"] == "ok"
    stale = one(demand_health(date(2026, 11, 19), today=today))
    assert stale["status"] == "stale" and "3 days before" in stale["problem"]
    assert one(demand_health(None, today=today))["status"] == "failing"


def test_source_health_lists_every_source_and_its_problems() -> None:
    """Demand, ingests and feeds in one frame; problems name the flagged ones only."""
    health = source_health(
        log({"hours_ago": 50}),
        feeds({"ago_s": 30}),
        date(2026, 11, 21),
        now=NOW,
        today=date(2026, 11, 22),
    )
    assert health["kind"].to_list() == ["demand", "ingest", "feed"]
    found = problems(health)
    assert len(found) == 1 and found[0].startswith("chicago/trips: last successful ingest")


def test_empty_inputs_give_only_the_demand_row() -> None:
    """A system with no ingest and no feed has just its demand row."""
    health = source_health(
        pl.DataFrame(schema=INGEST_SCHEMA),
        pl.DataFrame(schema=FEED_SCHEMA),
        None,
        now=NOW,
        today=NOW.date(),
    )
    assert health.height == 1 and health["status"].to_list() == ["failing"]


def test_thresholds_refuse_nonsense_and_load_from_toml_tables() -> None:
    """A share over 1 is refused; [monitoring] with a per-system override builds the config."""
    with pytest.raises(ValueError, match="not understood"):
        QualityThresholds(max_quarantine_share=1.5)
    config = MonitorConfig.from_mapping(
        {
            "accuracy": {"wape_ratio": 1.5},
            "quality": {"max_ingest_age_hours": 48},
            "systems": {"demo": {"quality": {"max_demand_lag_days": 400}}},
        },
        system_id="demo",
    )
    assert config.accuracy.wape_ratio == 1.5 and config.accuracy.consecutive_days == 3
    assert config.quality.max_ingest_age_hours == 48
    assert config.quality.max_demand_lag_days == 400
    with pytest.raises(ValueError, match="not understood"):
        MonitorConfig.from_mapping({"acuracy": {}})
    with pytest.raises(ValueError, match="not understood"):
        MonitorConfig.from_mapping({"quality": {"max_age": 1}})
