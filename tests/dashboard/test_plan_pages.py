"""The Rebalancing plan and Field tasks pages run headless (Streamlit's AppTest) through app.py
on a small demo city with a hand-written plan, its workers and their tasks: the plan's
numbers, map and moves are the stored plan's; a worker sees their own tasks in route order,
and Start / Complete / Skip change the task in the store (a skip only with a reason)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fleetcast.config import load_settings
from fleetcast.jobs import build_demo, field, plan_view
from fleetcast.store import Store, plans, records

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
pytest.importorskip("pydeck", reason="the dashboard extra is not installed")

from streamlit.testing.v1 import AppTest

from fleetcast.dashboard import app as dashboard_app
from fleetcast.dashboard import geolocation
from fleetcast.dashboard.app_pages import field as field_page
from fleetcast.dashboard.app_pages import plan as plan_page

APP = Path(dashboard_app.__file__)
PLAN_PAGE = "app_pages/plan.py"
FIELD_PAGE = "app_pages/field.py"
TIMEOUT_S = 60
PLAN_ID = "00000000-0000-4000-8000-000000000001"
W1_TASKS = ("swap_battery", "retrieve", "repair")
"""The kinds of W1's three tasks, in route order."""


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point the dashboard's settings at ``home`` alone (no other FLEETCAST_* leaking in)."""
    for name in (
        "FLEETCAST_DB_URL",
        "FLEETCAST_LAKE_URL",
        "FLEETCAST_CONFIG",
        "FLEETCAST_MLFLOW_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLEETCAST_HOME", str(home))


def _targets(zones: pl.DataFrame) -> pl.DataFrame:
    """A target per zone: the first four zones short, the next four with a surplus."""
    n = zones.height
    supply = [4] * n
    target = [4] * n
    for i in range(4):
        target[i] = 8
        target[4 + i] = 1
    after = list(supply)
    return pl.DataFrame(
        {
            "zone_id": zones["zone_id"],
            "supply": supply,
            "target": target,
            "after": after,
            "demand_at_ratio": [float(t) for t in target],
            "newsvendor_target": target,
            "min_vehicles": [0] * n,
            "max_vehicles": [None] * n,
            "cut": [0] * n,
            "rides_per_vehicle": [2.0] * n,
            "expected_rides_supply": [8.0] * n,
            "expected_rides_after": [8.0] * n,
        },
        schema_overrides={"max_vehicles": pl.Int64},
    )


def _stop(truck: str, seq: int, node: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "truck_id": truck,
        "seq": seq,
        "node_id": node["id"],
        "kind": node["kind"],
        "lat": node["lat"],
        "lon": node["lon"],
        "pickup": kw.get("pickup", 0),
        "dropoff": kw.get("dropoff", 0),
        "load_after": kw.get("load", 0),
        "arrival_s": 600.0 * seq,
        "move_ids": kw.get("moves", []),
    }


def write_plan(store: Store, system_id: str = "demo") -> dict[str, Any]:
    """A plan with two trucks (T1 carries two moves between zones, T2 one from its depot) and
    one unserved move; returns its summary."""
    with store.connect() as conn:
        zones = records.load_zones(conn, system_id)
        depots = records.load_depots(conn, system_id)
    z = [
        {"id": r["zone_id"], "kind": "zone", "lat": r["centroid_lat"], "lon": r["centroid_lon"]}
        for r in zones.head(8).iter_rows(named=True)
    ]
    d = [
        {"id": r["depot_id"], "kind": "depot", "lat": r["lat"], "lon": r["lon"]}
        for r in depots.iter_rows(named=True)
    ]
    moves = pl.DataFrame(
        [
            (
                "M1",
                z[4]["id"],
                z[0]["id"],
                3,
                3,
                1500.0,
                4.5,
                "T1",
                "planned",
                None,
                ["V1", "V2", "V3"],
            ),
            ("M2", z[5]["id"], z[1]["id"], 2, 2, 1800.0, 3.0, "T1", "planned", None, ["V4", "V5"]),
            ("M3", d[1]["id"], z[2]["id"], 6, 4, 5200.0, 5.5, "T2", "partial", "truck full", []),
            ("M4", z[6]["id"], z[3]["id"], 2, 0, 2500.0, 1.0, None, "unserved", "no time left", []),
        ],
        schema={
            "move_id": pl.String,
            "from_id": pl.String,
            "to_id": pl.String,
            "vehicles": pl.Int64,
            "vehicles_served": pl.Int64,
            "distance_m": pl.Float64,
            "rides_gained": pl.Float64,
            "truck_id": pl.String,
            "status": pl.String,
            "reason": pl.String,
            "vehicle_ids": pl.List(pl.String),
        },
        orient="row",
    )
    routes = pl.DataFrame(
        {
            "truck_id": ["T1", "T2"],
            "capacity": [20, 20],
            "start_load": [0, 4],
            "depot_id": [d[0]["id"], d[1]["id"]],
            "end_depot_id": [d[0]["id"], d[1]["id"]],
            "distance_m": [14_200.0, 9_800.0],
            "duration_s": [5_400.0, 3_000.0],
        }
    )
    stops = pl.DataFrame(
        [
            _stop("T1", 0, d[0]),
            _stop("T1", 1, z[4], pickup=3, load=3, moves=["M1"]),
            _stop("T1", 2, z[0], dropoff=3, load=0, moves=["M1"]),
            _stop("T1", 3, z[5], pickup=2, load=2, moves=["M2"]),
            _stop("T1", 4, z[1], dropoff=2, load=0, moves=["M2"]),
            _stop("T1", 5, d[0]),
            _stop("T2", 0, d[1], load=4),
            _stop("T2", 1, z[2], dropoff=4, load=0, moves=["M3"]),
            _stop("T2", 2, d[1]),
        ]
    )
    summary = {
        "zones": zones.height,
        "moves": 4,
        "moves_served": 3,
        "moves_unserved": 1,
        "vehicles_moved": 9,
        "trucks": 3,
        "trucks_used": 2,
        "km_driven": 24.0,
        "expected_rides_before": 700.0,
        "expected_rides_after": 713.0,
        "expected_rides_gained": 13.0,
        "tasks": 4,
        "tasks_assigned": 4,
    }
    with store.begin() as conn:
        plans.save_plan(
            conn,
            plan_id=PLAN_ID,
            system_id=system_id,
            plan_date=date(2025, 6, 2),
            status="partial",
            issued_on=date(2025, 6, 1),
            model_version="global_gbm/1",
            params={},
            summary=summary,
            targets=_targets(zones),
            moves=moves,
            routes=routes,
            stops=stops,
            created_at=datetime(2025, 6, 2, 5, 0, tzinfo=UTC),
        )
    return summary


def write_tasks(store: Store, system_id: str = "demo") -> None:
    """Three tasks of W1 in route order (written out of order) and one of W2, all near
    W1's shift start."""
    workers = field.list_workers(store, system_id)
    w1 = workers.row(0, named=True)
    rows = []
    for key, kind, seq, assignee, dlat in (
        ("k-c", "repair", 3, "W1", 0.006),
        ("k-a", "swap_battery", 1, "W1", 0.002),
        ("k-d", "reposition", 1, "W2", 0.001),
        ("k-b", "retrieve", 2, "W1", 0.004),
    ):
        rows.append(
            {
                "task_key": key,
                "kind": kind,
                "vehicle_id": f"V-{key}",
                "parking_id": None,
                "zone_id": "Z001",
                "lat": w1["lat"] + dlat,
                "lon": w1["lon"] + dlat,
                "quantity": 1,
                "priority": 5.0 - seq,
                "score_parts": {},
                "reason": f"{kind.replace('_', ' ')} needed",
                "service_minutes": 5.0,
                "assignee": assignee,
                "route_seq": seq,
                "eta_minutes": 10.0 * seq,
            }
        )
    with store.begin() as conn:
        plans.replace_tasks(conn, system_id, pl.DataFrame(rows), plan_id=PLAN_ID)


def seed_home(home: Path, *, with_plan: bool = True) -> None:
    """A 10-day demo city (zones, depots, six workers) with the plan and tasks above."""
    store = Store(load_settings(home=home, env={}))
    try:
        build_demo(store, seed=5, days=10)
        if with_plan:
            write_plan(store)
            write_tasks(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded home, built once per module and copied for each test that writes."""
    home = tmp_path_factory.mktemp("planned") / "home"
    seed_home(home)
    return home


@pytest.fixture
def planned(
    seeded_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """A private copy of the seeded home, the dashboard pointed at it; a store to check."""
    home = tmp_path / "home"
    shutil.copytree(seeded_template, home)
    _use_home(monkeypatch, home)
    store = Store(load_settings(home=home, env={}))
    yield store
    store.close()


def open_page(page: str, *, worker: str | None = None) -> AppTest:
    """Run app.py (with ``?worker=`` when given), then ``page``, without exception."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    if worker is not None:
        at.query_params["worker"] = worker
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def task_status(store: Store, assignee: str = "W1") -> dict[str, str]:
    """Task kind -> status of a worker's tasks."""
    tasks = field.list_tasks(store, system_id="demo", assignee=assignee)
    return dict(zip(tasks["kind"], tasks["status"], strict=True))


def first_task_id(store: Store) -> str:
    """The id of W1's first task in route order."""
    tasks = field.list_tasks(store, system_id="demo", assignee="W1")
    return str(tasks.row(0, named=True)["task_id"])


def assert_constant_units(deck: dict[str, Any]) -> None:
    """Unit props are plain strings: pydeck turns a bare string into an accessor expression
    (``@@=pixels``), which makes deck.gl drop the whole map in the browser."""
    for layer in deck["layers"]:
        for name, value in layer.items():
            if name.endswith("Units"):
                assert value in ("pixels", "meters", "common"), (layer["id"], name, value)


def next_heading(at: AppTest) -> str:
    """The heading of the next stop's card."""
    return str(at.subheader[0].value)


def test_plan_page_shows_summary_map_moves_and_trucks(planned: Store) -> None:
    """The cards are the plan's summary; the map shades every zone and draws both trucks'
    routes in different colours with numbered stops; the moves table and one expander per
    truck follow the stored plan."""
    at = open_page(PLAN_PAGE)
    plan = plan_view.latest_plan(planned, "demo")
    shown = {m.label: m.value for m in at.metric}
    assert at.title[0].value == plan_page.TITLE
    assert shown == {
        "Vehicles moved": "9",
        "Km driven": "24.0",
        "Trucks used": "2 of 3",
        "Rides gained": "+13.0",
        "Tasks": "4",
    }
    assert any("could not be served" in w.value for w in at.warning)
    (chart,) = at.get("deck_gl_json_chart")
    deck = json.loads(chart.proto.json)
    layers = {layer["id"]: layer for layer in deck["layers"]}
    assert deck["mapStyle"] == "__MAP_STYLE__"
    assert len(layers["zones"]["data"]["features"]) == plan.targets.height
    fills = {
        f["properties"]["tip_id"]: f["properties"]["fill"]
        for f in layers["zones"]["data"]["features"]
    }
    short, surplus = plan.targets["zone_id"][0], plan.targets["zone_id"][4]
    assert fills[short][:3] != fills[surplus][:3]
    paths = layers["routes"]["data"]
    assert [len(p["path"]) for p in paths] == [6, 3]
    assert paths[0]["rgb"] != paths[1]["rgb"]
    assert len(layers["stops"]["data"]) == plan.stops.height
    tooltip = json.loads(chart.proto.tooltip)["html"]
    assert "{tip_title}" in tooltip
    assert_constant_units(deck)

    moves = at.dataframe[0].value
    assert len(moves) == plan.moves.height
    assert moves["Truck"].tolist() == ["T1", "T1", "T2", "–"]
    assert moves["Status"].tolist() == ["planned", "planned", "partial", "unserved"]
    assert moves["Carried"].tolist() == [3, 2, 4, 0]
    assert moves["Reason"].tolist()[-1] == "no time left"
    assert len(at.expander) == plan.routes.height
    assert "Truck T1" in at.expander[0].label and "4 stops" in at.expander[0].label


def test_plan_page_without_a_plan_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system without a plan (nor forecasts) shows the commands that make one, and no map;
    the field page says the same instead of an empty list."""
    home = tmp_path / "home"
    seed_home(home, with_plan=False)
    _use_home(monkeypatch, home)
    at = open_page(PLAN_PAGE)
    assert any("fleetcast plan --system demo" in i.value for i in at.info)
    assert any("fleetcast forecast --system demo" in i.value for i in at.info)
    assert not at.get("deck_gl_json_chart")
    at = open_page(FIELD_PAGE, worker="W1")
    assert any("fleetcast plan --system demo" in i.value for i in at.info)
    assert not at.main.button


def test_a_worker_without_tasks_has_nothing_left(planned: Store) -> None:
    """W3 has no task in the plan: the page says so instead of an empty card."""
    at = open_page(FIELD_PAGE, worker="W3")
    assert any("Nothing left to do" in s.value for s in at.success)
    assert not at.subheader


def test_field_page_lists_my_tasks_in_route_order(planned: Store) -> None:
    """``?worker=W1`` opens W1's list: the first task by route order is the next stop, the
    others follow in order, W2's task is not there, and the map numbers them."""
    at = open_page(FIELD_PAGE, worker="W1")
    assert at.selectbox(key=field_page.WORKER_KEY).value == "W1"
    assert next_heading(at) == f"1. {field_page.kind_label('swap_battery')}"
    later = " ".join(m.value for m in at.markdown)
    retrieve, repair = (field_page.kind_label(k) for k in ("retrieve", "repair"))
    assert later.index(f"2. {retrieve}") < later.index(f"3. {repair}")
    assert "Reposition" not in later
    assert "V-k-a" in later
    assert any("shift start" in c.value for c in at.caption)
    (chart,) = at.get("deck_gl_json_chart")
    layers = {layer["id"]: layer for layer in json.loads(chart.proto.json)["layers"]}
    assert [p["label"] for p in layers["numbers"]["data"]] == ["1", "2", "3"]
    assert_constant_units(json.loads(chart.proto.json))


def test_choosing_a_worker_puts_them_in_the_url(planned: Store) -> None:
    """Without ``?worker=`` the page asks who I am; choosing W2 shows W2's task and puts
    ``worker=W2`` in the URL for a bookmark."""
    at = open_page(FIELD_PAGE)
    assert not at.subheader
    at.selectbox(key=field_page.WORKER_KEY).select("W2").run()
    assert not at.exception
    assert at.query_params["worker"] == "W2"
    assert next_heading(at) == f"1. {field_page.kind_label('reposition')}"


def test_complete_marks_the_first_task_done(planned: Store) -> None:
    """Complete on the next stop makes it done in the store, and the next task moves up."""
    at = open_page(FIELD_PAGE, worker="W1")
    at.button(key=f"complete_{first_task_id(planned)}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert task_status(planned)["swap_battery"] == "done"
    assert next_heading(at) == f"2. {field_page.kind_label('retrieve')}"
    assert any("1 done" in c.value for c in at.caption)


def test_start_then_complete(planned: Store) -> None:
    """Start makes the task in progress (Start goes, Complete stays), then Complete ends it."""
    at = open_page(FIELD_PAGE, worker="W1")
    task_id = first_task_id(planned)
    at.button(key=f"start_{task_id}").click().run()
    assert not at.exception
    assert task_status(planned)["swap_battery"] == "in_progress"
    keys = {b.key for b in at.button}
    assert f"start_{task_id}" not in keys and f"complete_{task_id}" in keys
    at.button(key=f"complete_{task_id}").click().run()
    assert task_status(planned)["swap_battery"] == "done"


def test_skip_requires_a_reason(planned: Store) -> None:
    """Skip asks why; confirming without a reason warns and changes nothing; with a reason
    the task is skipped and the reason stored."""
    at = open_page(FIELD_PAGE, worker="W1")
    task_id = first_task_id(planned)
    at.button(key=f"skip_{task_id}").click().run()
    at.button(key=f"skip_confirm_{task_id}").click().run()
    assert not at.exception
    assert any("Say why" in w.value for w in at.warning)
    assert task_status(planned)["swap_battery"] == "assigned"
    at.selectbox(key=f"skip_reason_{task_id}").select("Vehicle not found").run()
    at.text_input(key=f"skip_details_{task_id}").input("not at the parking").run()
    at.button(key=f"skip_confirm_{task_id}").click().run()
    assert not at.exception
    tasks = field.list_tasks(planned, system_id="demo", assignee="W1", status=["skipped"])
    assert tasks["skip_reason"].to_list() == ["Vehicle not found: not at the parking"]


def test_a_refused_action_is_a_warning(planned: Store) -> None:
    """A task finished elsewhere meanwhile: pressing Complete on the stale page warns (no
    traceback) and shows the list as it is now."""
    at = open_page(FIELD_PAGE, worker="W1")
    task_id = first_task_id(planned)
    field.task_action(planned, task_id, "skip", reason="done by a colleague")
    at.button(key=f"complete_{task_id}").click().run()
    assert not at.exception
    assert any("Not saved" in w.value for w in at.warning)
    assert next_heading(at) == f"2. {field_page.kind_label('retrieve')}"


def test_unknown_worker_in_the_url_is_named(planned: Store) -> None:
    """``?worker=`` naming nobody warns and asks who I am."""
    at = open_page(FIELD_PAGE, worker="W99")
    assert any("W99" in w.value for w in at.warning)
    assert at.selectbox(key=field_page.WORKER_KEY).value is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"status": "ok", "lat": 41.88, "lon": -87.63, "accuracy": 12.5},
            geolocation.Position(41.88, -87.63, 12.5),
        ),
        ({"status": "ok", "lat": 41.88, "lon": -87.63}, geolocation.Position(41.88, -87.63)),
        ({"status": "denied", "message": "blocked"}, geolocation.NoPosition("denied", "blocked")),
        (None, geolocation.NoPosition("waiting", "Waiting for the browser")),
    ],
)
def test_geolocation_answers_are_parsed(value: Any, expected: Any) -> None:
    """The component's answers become a Position or why there is none."""
    assert geolocation.parse(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"status": "ok", "lat": 95.0, "lon": 0.0},
        {"status": "ok", "lat": "x", "lon": 0.0},
        {"status": "ok"},
        {"status": "weird"},
        "41.8,-87.6",
    ],
)
def test_geolocation_rejects_bad_answers(value: Any) -> None:
    """Out-of-range, missing or odd payloads are 'unavailable', never an exception."""
    found = geolocation.parse(value)
    assert isinstance(found, geolocation.NoPosition) and found.reason == "unavailable"


def test_skip_reason_needs_words_for_other() -> None:
    """A skip reason is the chosen reason with details; Other needs the details."""
    assert field_page.skip_reason(None, "x") is None
    assert field_page.skip_reason("Other", "  ") is None
    assert field_page.skip_reason("Other", "fence") == "fence"
    assert field_page.skip_reason("Already done", "") == "Already done"


def test_component_frontend_is_shipped() -> None:
    """The geolocation component's page speaks the component protocol and loads nothing from
    the network."""
    html = (geolocation.FRONTEND / "index.html").read_text()
    for message in ("streamlit:componentReady", "streamlit:setComponentValue", "streamlit:render"):
        assert message in html
    assert "navigator.geolocation" in html
    assert "http://" not in html and "https://" not in html and "src=" not in html


@pytest.mark.slow
def test_a_real_plan_renders(
    served_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: make_plan on a copy of the served demo (short routing budget), then the
    plan page shows its numbers."""
    try:
        import fleetcast.planning.routing  # noqa: F401
        from fleetcast.jobs.plan import config_for, make_plan
    except ImportError as exc:
        pytest.skip(f"the planning modules do not import yet: {exc}")
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    _use_home(monkeypatch, home)
    store = Store(load_settings(home=home, env={}))
    try:
        config = config_for(store.settings, "demo").with_overrides(time_limit_s=2.0)
        result = make_plan(store, "demo", config=config)
    finally:
        store.close()
    at = open_page(PLAN_PAGE)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Vehicles moved"] == f"{result.summary['vehicles_moved']:,}"
    assert shown["Tasks"] == f"{result.summary['tasks']:,}"
