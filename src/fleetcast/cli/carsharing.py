"""`fleetcast carsharing ...`: the minimum delay between two rentals, from a rentals file."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fleetcast.cli._common import console, err, fail, open_store, run_with_progress
from fleetcast.errors import FleetcastError

carsharing_app = typer.Typer(
    help="Car sharing: the minimum delay between two rentals of a car (GetAround delay file).",
    no_args_is_help=True,
)

_SHOWN_EVERY_MIN = 60
"""The table shows the curve every hour (and the recommended thresholds); --json has it all."""


class ScopeOption(StrEnum):
    """Where the minimum delay applies."""

    all = "all"
    connect = "connect"
    mobile = "mobile"


@carsharing_app.command("delay-policy")
def delay_policy(
    file: Annotated[
        Path,
        typer.Argument(
            help="Rentals file: CSV, Parquet or Excel (GetAround's get_around_delay_analysis).",
            exists=True,
            dir_okay=False,
        ),
    ],
    system: Annotated[
        str, typer.Option(help="System id to load the rentals into (created if new).")
    ] = "getaround",
    scope: Annotated[
        ScopeOption | None,
        typer.Option(help="Only this scope: all cars, or Connect / mobile check-ins only."),
    ] = None,
    step: Annotated[
        int, typer.Option(min=1, max=720, help="Minutes between two thresholds studied.")
    ] = 15,
    price_per_day: Annotated[
        float | None,
        typer.Option(
            "--price-per-day",
            min=0.01,
            help="EUR a rental day brings, to price the revenue blocked (shares need no price).",
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Pricing file whose median rental_price_per_day is the price per day "
            "(GetAround's get_around_pricing_project.csv).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    min_solved: Annotated[
        float,
        typer.Option(
            "--min-solved",
            min=0.01,
            max=1.0,
            help="Trade-off: recommend the least revenue blocked that solves at least this "
            "share of the problematic cases.",
        ),
    ] = 0.8,
    sheet: Annotated[
        str | None, typer.Option(help="Sheet of an Excel file (default rentals_data).")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="field=Column pairs when the columns are named otherwise, e.g. "
            "--map rental_id=id,gap_with_previous_minutes=gap. Fields: rental_id, car_id, "
            "checkin_type, state, delay_at_checkout_minutes, previous_rental_id, "
            "gap_with_previous_minutes.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole analysis as JSON (every threshold).")
    ] = False,
) -> None:
    """Load rentals into the store, then show what a minimum delay between two rentals of a
    car would block and which late check-outs it would have solved, for thresholds from 0 to
    12 hours, with a recommended threshold per scope.

    A rental is *blocked* at a threshold when the planned gap to the car's previous rental is
    below it; a *problematic case* is one whose previous driver checked out later than that
    gap; it is *solved* when the threshold blocks it. Revenue counts one day per ended rental
    (the file has no durations), so its share needs no price. Re-running on the same file
    changes nothing in the store; rows that fail validation are quarantined with a reason.
    Rentals accumulate per system: load another operator's file under another --system.
    """
    from fleetcast.analytics.delay_policy import SCOPES, PolicyParams, TradeOff
    from fleetcast.jobs import carsharing
    from fleetcast.sources.files import parse_mapping
    from fleetcast.sources.rentals import RENTAL_FIELDS

    try:
        fields = parse_mapping(mapping, fields=RENTAL_FIELDS)
        price = price_per_day
        if prices is not None:
            price = carsharing.price_per_day_from(prices)
        params = PolicyParams(
            step_min=step, price_per_day=price, trade_off=TradeOff(min_solved_share=min_solved)
        )
    except (FleetcastError, ValueError) as exc:
        raise fail(str(exc), code=2) from exc
    scopes = SCOPES if scope is None else (scope.value,)
    store = open_store()
    try:
        report = run_with_progress(
            lambda stages: carsharing.ingest_rentals_file(
                store, file, system_id=system, mapping=fields, sheet=sheet, progress=stages
            )
        )
        _print_ingest(report)
        try:
            result = carsharing.delay_policy(store, system, params=params, scopes=scopes)
        except (FleetcastError, ValueError) as exc:
            raise fail(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return
    print_policy(result)


def _print_ingest(report: Any) -> None:
    """One line on stderr (stdout stays the analysis, so --json can be piped)."""
    err.print(
        f"{escape(report.system_id)}: {report.rows_read:,} rows read, "
        f"{report.rows_accepted:,} accepted ({report.rows_new:,} new, "
        f"{report.rows_changed:,} updated), {report.rows_rejected:,} quarantined"
    )
    for reason, n in list(report.reasons.items())[:10]:
        err.print(f"  rejected: {escape(reason)} ({n:,})")


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def print_policy(result: Any) -> None:
    """The curve of each scope every hour (recommendations highlighted), then the facts."""
    recommended = {(r.scope, r.threshold_min) for r in result.by_scope}
    for rec in result.by_scope:
        points = [
            p
            for p in result.points(rec.scope)
            if p.threshold_min % _SHOWN_EVERY_MIN == 0 or (p.scope, p.threshold_min) in recommended
        ]
        table = Table(
            title=f"Scope {rec.scope}: {points[0].problem_cases:,} problematic cases",
            title_justify="left",
        )
        for name in (
            "threshold (min)",
            "blocked rentals",
            "of all rentals",
            "of the scope",
            "revenue blocked",
            "solved cases",
            "of all problems",
            "of the scope's",
        ):
            table.add_column(name, justify="right")
        for p in points:
            revenue = _pct(p.revenue_share)
            if p.revenue_blocked is not None:
                revenue += f" ({p.revenue_blocked:,.0f} EUR)"
            style = "bold green" if (p.scope, p.threshold_min) in recommended else None
            table.add_row(
                f"{p.threshold_min}{' ◀' if style else ''}",
                f"{p.blocked_rentals:,}",
                _pct(p.blocked_share),
                _pct(p.blocked_share_of_scope),
                revenue,
                f"{p.solved_cases:,}",
                _pct(p.solved_share),
                _pct(p.solved_share_of_scope),
                style=style,
            )
        console.print(table)
        console.print(
            f"  recommended for {rec.scope}: [bold]{rec.threshold_min} min[/] — {escape(rec.why)}"
        )
    best = result.best
    console.print(
        f"\n[bold]Recommendation:[/] {best.threshold_min} min for scope {best.scope} — "
        f"blocks {_pct(best.point.blocked_share)} of rentals ({_pct(best.point.revenue_share)} "
        f"of revenue) and solves {best.point.solved_cases} of {result.problem_cases} "
        f"problematic cases ({_pct(best.point.solved_share)}).\n"
    )
    _print_facts(result.facts)


def _print_facts(facts: Any) -> None:
    late = Table(
        title=f"Check-out delays (outliers: {facts.outlier_method}, outside "
        f"{facts.outlier_low_min:,.0f} .. {facts.outlier_high_min:,.0f} min)",
        title_justify="left",
    )
    for name in (
        "check-in",
        "rentals",
        "canceled",
        "late",
        "median delay",
        "median when late",
        "p90 when late",
        "mean (no outliers)",
        "outliers",
    ):
        late.add_column(name, justify="left" if name == "check-in" else "right")
    for f in facts.lateness:
        late.add_row(
            f.checkin_type,
            f"{f.rentals:,}",
            _pct(f.cancel_share),
            f"{_pct(f.late_share)} of {f.with_delay:,}",
            _minutes(f.median_delay_min),
            _minutes(f.median_late_min),
            _minutes(f.p90_late_min),
            _minutes(f.mean_delay_min),
            f"{f.outliers_low + f.outliers_high:,}",
        )
    console.print(late)
    hits = Table(title="Late check-outs hitting the next rental", title_justify="left")
    for name in (
        "policy type",
        "with a previous rental",
        "previous late",
        "problematic",
        "late that hit next",
        "canceled when hit",
        "canceled otherwise",
        "median wait (min)",
    ):
        hits.add_column(name, justify="left" if name == "policy type" else "right")
    for k in facts.knock_on:
        hits.add_row(
            k.policy_type,
            f"{k.with_previous:,}",
            f"{k.previous_late:,}",
            f"{k.problematic:,} ({_pct(k.problematic_share)})",
            _pct(k.late_hits_next_share),
            f"{k.problematic_canceled:,} ({_pct(k.cancel_share_problematic)})",
            _pct(k.cancel_share_not_problematic),
            _minutes(k.median_wait_min),
        )
    console.print(hits)
