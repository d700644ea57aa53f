"""Shared fixtures: a store on SQLite (always) and on PostgreSQL (with FLEETCAST_TEST_PG_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# fleetcast.cli builds its Rich consoles at import time: fix their width on every worker.
os.environ.setdefault("COLUMNS", "200")

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fleetcast.config import Settings, load_settings
from fleetcast.store import Store
from servers import unavailable
from shared_data import shared_file

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("data")
PG_ENV = "FLEETCAST_TEST_PG_URL"
MINI_ZONES = DATA / "zones" / "mini_chicago.geojson"
"""Four 2 km squares north-west of the Loop with community-area properties 1-4."""


STORE_ENV = (
    "FLEETCAST_HOME",
    "FLEETCAST_DB_URL",
    "FLEETCAST_LAKE_URL",
    "FLEETCAST_CONFIG",
    "PREFECT_API_URL",
)
"""What `fleetcast run` exports for its flow runs: set in-process by a CLI test, it would
point every later test in the same worker at that test's store."""


@pytest.fixture(autouse=True)
def _restore_store_env() -> Iterator[None]:
    """Put the store-locating variables back as they were before each test."""
    before = {name: os.environ.get(name) for name in STORE_ENV}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def chicago_areas_path() -> Path:
    """The portal's real 77 community areas (skips when ../shared/data is absent)."""
    return shared_file("chicago", "chicago_community_areas.geojson")


@pytest.fixture
def mini_zones_path() -> Path:
    """Four square zones near Chicago, owned by the tests."""
    return MINI_ZONES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store folder for CLI tests, the working folder beside it; no FLEETCAST_*
    variable or fleetcast.toml points elsewhere, and Rich output is 200 columns wide so
    long paths are not folded."""
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("FLEETCAST_DB_URL", "FLEETCAST_LAKE_URL", "FLEETCAST_HOME", "FLEETCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """The PostgreSQL server the tests may use, or skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped (CI sets it)")
    return url


def _pg_schema_url(base: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A db URL for each backend: a SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fleetcast.db'}"
        return
    base = request.getfixturevalue("pg_base_url")
    yield from _pg_schema_url(base)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings with the home and lake in a temporary folder and the parametrised db."""
    return load_settings(home=tmp_path / "home", db_url=db_url, env={})


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """A store on each backend, closed after the test."""
    s = Store(settings)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A store on SQLite only, for tests about the lake or the sources."""
    s = Store(load_settings(home=tmp_path / "home", env={}))
    yield s
    s.close()


def _build_served(store: Store, *, train: bool) -> None:
    """Demo city, a short backtest, a champion (when ``train``) and forecasts in ``store``."""
    from fleetcast.jobs import build_demo
    from fleetcast.jobs import forecast as fc

    build_demo(store, seed=5, days=150)
    fc.backtest(store, "demo", models=("seasonal_naive", "global_gbm"), weeks=1)
    if train:
        fc.train(store, "demo", model="global_gbm", weeks=1)
    fc.forecast(store, "demo")


@pytest.fixture(scope="session")
def served_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding a 150-day demo city with a backtest, a champion and forecasts (SQLite);
    MLflow tracks into the same home. Built once per test session."""
    home = tmp_path_factory.mktemp("served") / "home"
    mp = pytest.MonkeyPatch()
    mp.delenv("FLEETCAST_MLFLOW_URI", raising=False)
    store = Store(load_settings(home=home, env={}))
    try:
        _build_served(store, train=True)
    finally:
        store.close()
        mp.undo()
    return home


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served_store(request: pytest.FixtureRequest, served_home: Path) -> Iterator[Store]:
    """The served demo on each backend; the PostgreSQL one shares the home's lake and MLflow
    registry (so the same champion) and gets its own demand, backtest and forecasts."""
    if request.param == "sqlite":
        store = Store(load_settings(home=served_home, env={}))
        yield store
        store.close()
        return
    base = request.getfixturevalue("pg_base_url")
    for url in _pg_schema_url(base):
        store = Store(load_settings(home=served_home, db_url=url, env={}))
        _build_served(store, train=False)
        yield store
        store.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (skipped, or failed in CI, without it)."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is absent: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install playwright")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
