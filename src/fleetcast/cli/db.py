"""`fleetcast db ...`: the db schema."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetcast.cli._common import console, fail, settings
from fleetcast.errors import FleetcastError

db_app = typer.Typer(help="Manage the db schema (migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the db schema to the newest version (other commands do it on use)."""
    from fleetcast.store import db

    where = settings()
    try:
        engine = db.make_engine(where.db_url)
        before = db.current_revision(engine)
        db.upgrade(engine, revision)
        after = db.current_revision(engine)
    except FleetcastError as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:
        raise fail(f"could not reach or migrate {where.db_url}: {exc}") from exc
    console.print(f"db at revision [bold]{after}[/] (was {before or 'empty'})")


@db_app.command("current")
def db_current() -> None:
    """Show the db's schema revision and the newest one this version ships."""
    from fleetcast.store import db

    engine = db.make_engine(settings().db_url)
    console.print(f"db {db.current_revision(engine) or 'empty'}  ·  newest {db.head_revision()}")
