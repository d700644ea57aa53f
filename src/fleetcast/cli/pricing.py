"""`fleetcast pricing train` and `predict`: the car-sharing price-per-day model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetcast.cli._common import console, fail, run_with_progress, settings
from fleetcast.errors import FleetcastError

pricing_app = typer.Typer(
    help="Price per day of a shared car: train the model on a pricing file, price cars.",
    no_args_is_help=True,
)

EXAMPLE = (
    '{"model_key": "Renault", "mileage": 80000, "engine_power": 120, "fuel": "diesel", '
    '"paint_color": "black", "car_type": "estate", "private_parking_available": true, '
    '"has_gps": true, "has_air_conditioning": false, "automatic_car": false, '
    '"has_getaround_connect": true, "has_speed_regulator": false, "winter_tires": true}'
)


@pricing_app.command("train")
def train(
    file: Annotated[
        Path, typer.Argument(help="Pricing CSV (GetAround columns).", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the shuffled folds.")] = 42,
) -> None:
    """Cross-validate the price model on FILE (shuffled K-fold), fit it on every usable row
    and register it in MLflow as `fleetcast-pricing`; it becomes the champion only if its CV
    RMSE beats the current champion's on the same folds. Rows with absurd values (negative
    mileage, zero engine power, ...) are set apart and counted."""
    from fleetcast.jobs.pricing import train_pricing

    home = settings().home
    report = run_with_progress(
        lambda stages: train_pricing(file, home, folds=folds, seed=seed, progress=stages),
        errors=(FleetcastError, ValueError),
    )
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    console.print(
        f"{report.rows_read:,} rows read from {report.file}, {report.rows_used:,} used"
        + (
            ", set apart: " + ", ".join(f"{r} ({n})" for r, n in report.rejected.items())
            if report.rejected
            else ""
        )
    )
    console.print(_metrics_table(report))
    console.print(_importance_table(report.importance.head(8).to_dicts()))
    console.print(_effects_table(report.option_effects.to_dicts()))
    verdict = (
        "[bold green]promoted to champion[/]" if report.promoted else "[bold]kept the champion[/]"
    )
    console.print(
        f"fleetcast-pricing registered as version {report.version}: {verdict} "
        f"({report.reason}; {report.seconds:.1f} s)"
    )
    console.print(f"MLflow UI: [bold]{report.ui_command}[/]")


@pricing_app.command("predict")
def predict(
    cars: Annotated[
        str,
        typer.Option(
            "--json",
            help="One car as a JSON object, or a list of them; @FILE reads the JSON from a "
            f"file, - from stdin. Example: '{EXAMPLE}'",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--format", help="table or json (prices with the model version).")
    ] = "table",
) -> None:
    """Price per day (EUR) of one car or a list, by the champion model. Unknown categories
    or implausible numbers are refused with the accepted values, never guessed."""
    from fleetcast.jobs.pricing import predict_prices
    from fleetcast.pricing.model import InvalidCarError

    if output not in ("table", "json"):
        raise fail(f"--format {output!r} not understood: use table or json", code=2)
    parsed = _parse(cars)
    try:
        result = predict_prices(parsed, settings().home)
    except InvalidCarError as exc:
        lines = "\n  ".join(p.message for p in exc.problems)
        raise fail(f"the model cannot price these cars:\n  {lines}", code=2) from exc
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    if output == "json":
        sys.stdout.write(json.dumps(result.as_dict()) + "\n")
        return
    batch = [parsed] if isinstance(parsed, dict) else parsed
    table = Table(
        title=f"Price per day by fleetcast-pricing v{result.version}", title_justify="left"
    )
    for column, justify in (
        ("#", "right"),
        ("model", "left"),
        ("type", "left"),
        ("engine power", "right"),
        ("mileage", "right"),
        ("EUR/day", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for i, (car, price) in enumerate(zip(batch, result.prices, strict=True)):
        table.add_row(
            str(i),
            str(car["model_key"]),
            str(car["car_type"]),
            f"{car['engine_power']:,.0f} hp",
            f"{car['mileage']:,.0f} km",
            f"[bold]{price:,.2f}[/]",
        )
    console.print(table)


def _parse(text: str) -> Any:
    """The cars of ``--json``: inline JSON, @FILE or - (stdin); exit 2 when not JSON."""
    source = "--json"
    if text == "-":
        text, source = sys.stdin.read(), "stdin"
    elif text.startswith("@"):
        path = Path(text[1:])
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {path}: {exc}", code=2) from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{source} is not valid JSON: {exc}", code=2) from exc
    if isinstance(value, dict) or (
        isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    ):
        return value
    raise fail(
        f"{source} must be a car object or a non-empty list of them, e.g. '{EXAMPLE}'", code=2
    )


def _metrics_table(report: Any) -> Table:
    cv = report.cv
    table = Table(
        title=f"{cv.folds}-fold cross-validation (shuffled, seed {cv.seed})", title_justify="left"
    )
    for column in ("RMSE EUR/day", "MAE EUR/day", "R²", "fit s", "champion RMSE"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{cv.rmse:.2f}",
        f"{cv.mae:.2f}",
        f"{cv.r2:.3f}",
        f"{cv.fit_s:.1f}",
        "—" if report.champion_rmse is None else f"{report.champion_rmse:.2f}",
    )
    return table


def _importance_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Top features (held-out RMSE increase when shuffled)", title_justify="left")
    table.add_column("feature")
    table.add_column("EUR/day", justify="right")
    for row in rows:
        table.add_row(row["feature"], f"{row['rmse_increase']:.2f}")
    return table


def _effects_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Option effects (average predicted price with it minus without)",
        title_justify="left",
    )
    table.add_column("option")
    table.add_column("EUR/day", justify="right")
    table.add_column("cars with it", justify="right")
    for row in rows:
        table.add_row(row["option"], f"{row['effect_per_day']:+.2f}", f"{row['share_with']:.0%}")
    return table
