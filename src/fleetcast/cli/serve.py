"""`fleetcast serve`, `fleetcast dashboard` and `fleetcast apikey ...`: the interfaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Annotated

import typer
from rich.table import Table

from fleetcast.cli._common import console, err, fail, open_store, settings
from fleetcast.config import Settings
from fleetcast.dashboard.launch import settings_env, start_dashboard

apikey_app = typer.Typer(
    help="Manage the API keys that write endpoints need (stored hashed; shown once).",
    no_args_is_help=True,
)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    with_dashboard: Annotated[
        bool, typer.Option("--with-dashboard", help="Also start the dashboard.")
    ] = False,
    dashboard_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the dashboard.")
    ] = 8501,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) with uvicorn, and the dashboard if asked.

    The API reads the store FLEETCAST_HOME / --home points to. Read endpoints are open unless
    `[api] open_reads = false` in fleetcast.toml; write endpoints need an `X-API-Key` made
    with `fleetcast apikey create NAME`.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise fail("the API needs its extra: pip install 'fleetcast[api]'") from exc
    from fleetcast.api.options import ApiOptions
    from fleetcast.errors import ConfigError

    where = settings()
    try:
        options = ApiOptions.from_settings(where)
    except ConfigError as exc:
        raise fail(str(exc), code=2) from exc
    os.environ.update(settings_env(where))
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="prometheus-", dir=_ensure(where))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    dashboard = None
    if with_dashboard:
        dashboard = _start_dashboard(where, host=host, port=dashboard_port)
        console.print(f"dashboard: http://{host}:{dashboard_port}")
    console.print(
        f"API: http://{host}:{port}  ·  docs http://{host}:{port}/docs  ·  "
        f"reads {'open' if options.open_reads else 'need a key'}"
    )
    try:
        uvicorn.run(
            "fleetcast.api:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )
    finally:
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(timeout=10)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _ensure(where: Settings) -> str:
    where.home.mkdir(parents=True, exist_ok=True)
    return str(where.home)


def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the dashboard.")] = 8501,
) -> None:
    """Start the operations dashboard (Streamlit) on the store FLEETCAST_HOME points to."""
    process = _start_dashboard(settings(), host=host, port=port)
    console.print(f"dashboard: http://{host}:{port}  (Ctrl-C stops it)")
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)


def _start_dashboard(where: Settings, *, host: str, port: int) -> subprocess.Popen[bytes]:
    try:
        return start_dashboard(where, host=host, port=port)
    except ImportError as exc:
        raise fail(str(exc)) from exc


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. depot-tool.")],
) -> None:
    """Create a key and print it once: it is stored only as a hash and cannot be shown again."""
    from fleetcast.store.keys import create_key

    try:
        with open_store().begin() as conn:
            info, key = create_key(conn, name)
    except ValueError as exc:
        raise fail(str(exc), code=2) from exc
    err.print(f"created key [bold]{info.key_id}[/] for {info.name}; keep it, it is shown once:")
    console.print(key, markup=False, highlight=False)


@apikey_app.command("list")
def apikey_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """List keys (ids, names, when created and revoked), never their secrets."""
    from fleetcast.store.keys import list_keys

    with open_store().connect() as conn:
        keys = list_keys(conn)
    if as_json:
        rows = [
            {
                "key_id": k.key_id,
                "name": k.name,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                "active": k.active,
            }
            for k in keys
        ]
        console.print_json(json.dumps(rows))
        return
    if not keys:
        console.print("no API keys yet: 'fleetcast apikey create NAME' makes one")
        return
    table = Table("key id", "name", "created", "revoked")
    for k in keys:
        table.add_row(
            k.key_id,
            k.name,
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "-",
        )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key id 'list' shows.")]) -> None:
    """Revoke a key: requests with it are refused (within the API's key cache time)."""
    from fleetcast.store.keys import UnknownKeyError, revoke_key

    try:
        with open_store().begin() as conn:
            info = revoke_key(conn, key_id)
    except UnknownKeyError as exc:
        raise fail(str(exc)) from exc
    console.print(f"revoked key [bold]{info.key_id}[/] ({info.name})")
