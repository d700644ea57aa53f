"""The operator-database source: its config, watermarks, telemetry checks, and batched reads
against the real MariaDB and PostgreSQL servers (skipped without them, failed under CI=true)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Engine, make_url

from fleetcast.config import load_settings
from fleetcast.errors import ConfigError, SourceError
from fleetcast.sources import opsdb
from fleetcast.sources.opsdb import OpsdbConfig, TableMapping, Watermark
from fleetcast.sources.validate import ROW
from servers import operator_db, require_pymysql

T0 = datetime(2024, 6, 3, 8, 0, 0)
TIME6 = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TRIPS_TOML = """
[opsdb]
url = "mysql://reader@db.internal:3306/fleet"
timezone = "America/Chicago"
batch_size = 500

[opsdb.trips]
table = "rides"
watermark = "finished_at"
watermark_kind = "timestamp"
[opsdb.trips.columns]
trip_id = "ride_id"
started_at = "started_at"
ended_at = "finished_at"
start_lat = "from_lat"
start_lon = "from_lng"

[opsdb.telemetry]
table = "pings"
watermark = "id"
json_column = "payload"
extra_columns = ["firmware"]
[opsdb.telemetry.columns]
vehicle_id = "scooter_id"
observed_at = "recorded_at"
[opsdb.telemetry.json_keys]
lat = "gps.lat"
lon = "gps.lng"
"""


@pytest.fixture(params=["mariadb", "postgres"])
def source(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The operator's database on each real server (MariaDB, PostgreSQL)."""
    engine = operator_db(request.param)
    yield engine
    engine.dispose()


@pytest.fixture
def table_name(source: Engine) -> Iterator[str]:
    """A unique table name for one test, dropped afterwards."""
    name = f"fc_{uuid.uuid4().hex[:12]}"
    yield name
    with source.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


def url_of(engine: Engine) -> str:
    """The engine's URL as text (password included) for an OpsdbConfig."""
    return engine.url.render_as_string(hide_password=False)


def trips_table(name: str) -> sa.Table:
    """A trips table the way an operator might have it: own names, local naive times."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("ride_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("started_at", TIME6),
        sa.Column("finished_at", TIME6),
        sa.Column("from_lat", sa.Float),
        sa.Column("from_lng", sa.Float),
    )


def ride(n: int, finished: datetime) -> dict[str, Any]:
    """A ride of 10 minutes that finished at ``finished`` inside the first test square."""
    return {
        "ride_id": n,
        "started_at": finished - timedelta(minutes=10),
        "finished_at": finished,
        "from_lat": 41.905,
        "from_lng": -87.695,
    }


def trips_mapping(name: str, **changes: Any) -> TableMapping:
    """The mapping of :func:`trips_table` with a timestamp watermark on finished_at."""
    values: dict[str, Any] = {
        "entity": "trips",
        "table": name,
        "watermark": "finished_at",
        "watermark_kind": "timestamp",
        "columns": {
            "trip_id": "ride_id",
            "started_at": "started_at",
            "ended_at": "finished_at",
            "start_lat": "from_lat",
            "start_lon": "from_lng",
        },
        **changes,
    }
    return TableMapping(**values)


def test_config_from_toml_reads_both_entities(tmp_path: Path) -> None:
    """An [opsdb] section gives the URL (driver filled in), timezone, batch size and mappings."""
    path = tmp_path / "ops.toml"
    path.write_text(TRIPS_TOML)
    config = OpsdbConfig.from_toml(path, env={})
    assert config.url == "mysql+pymysql://reader@db.internal:3306/fleet"
    assert config.timezone == "America/Chicago" and config.batch_size == 500
    trips = config.mapping("trips")
    assert trips.key_column == "ride_id"
    assert trips.selected == ["ride_id", "started_at", "finished_at", "from_lat", "from_lng"]
    telemetry = config.mapping("telemetry")
    assert telemetry.key_column == "id"
    assert telemetry.selected == ["scooter_id", "recorded_at", "id", "payload", "firmware"]
    assert config.source_key("trips") == "opsdb:fleet/rides"


def test_password_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    """The password is added from FLEETCAST_OPSDB_PASSWORD; repr and shown_url hide it."""
    path = tmp_path / "ops.toml"
    path.write_text(TRIPS_TOML)
    config = OpsdbConfig.from_toml(path, env={"FLEETCAST_OPSDB_PASSWORD": "s3cret!"})
    assert make_url(config.url).password == "s3cret!"
    assert "s3cret" not in repr(config)
    assert "s3cret" not in config.shown_url and "***" in config.shown_url


def test_a_password_in_the_file_is_refused(tmp_path: Path) -> None:
    """A URL with a password in a config file is refused with what to do instead."""
    path = tmp_path / "ops.toml"
    path.write_text(TRIPS_TOML.replace("reader@", "reader:hunter2@"))
    with pytest.raises(ConfigError, match=r"holds a password.*FLEETCAST_OPSDB_PASSWORD"):
        OpsdbConfig.from_toml(path, env={})


def test_the_whole_url_may_come_from_the_environment(tmp_path: Path) -> None:
    """FLEETCAST_OPSDB_URL (which may hold the password) wins over the file's url."""
    path = tmp_path / "ops.toml"
    path.write_text(TRIPS_TOML)
    env = {"FLEETCAST_OPSDB_URL": "postgres://etl:pw@pg.internal/ops"}
    config = OpsdbConfig.from_toml(path, env=env)
    assert make_url(config.url).drivername == "postgresql+psycopg"
    assert make_url(config.url).database == "ops"


def test_config_from_settings_reads_fleetcast_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The [opsdb] section of fleetcast.toml is found through the settings."""
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    (tmp_path / "fleetcast.toml").write_text(TRIPS_TOML)
    settings = load_settings(
        home=tmp_path, env={"FLEETCAST_CONFIG": str(tmp_path / "fleetcast.toml")}
    )
    assert OpsdbConfig.from_settings(settings, env={}).mapping("trips").table == "rides"
    empty = load_settings(home=tmp_path / "none", env={})
    with pytest.raises(ConfigError, match=r"no \[opsdb\] section"):
        OpsdbConfig.from_settings(empty, env={})


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (("batch_size = 500", "batch_size = 0"), "batch_size must be at least 1"),
        (("batch_size = 500", 'connect_timeout_s = "soon"'), "connect_timeout_s must be a"),
        (("batch_size = 500", "batch_sise = 5"), r"key\(s\) \['batch_sise'\] not understood"),
        (('watermark_kind = "timestamp"', 'watermark_kind = "date"'), "watermark_kind 'date'"),
        (('start_lat = "from_lat"\n', ""), "trips need start_zone, or start_lat and start_lon"),
        (('trip_id = "ride_id"', 'trip_no = "ride_id"'), r"field\(s\) \['trip_no'\] not"),
        (('json_column = "payload"\n', ""), "json_keys need json_column"),
        (('url = "mysql://reader@db.internal:3306/fleet"\n', ""), "no database URL"),
        (("mysql://", "oracle://"), "database 'oracle' not supported"),
        (('timezone = "America/Chicago"', 'timezone = "Mars/Base"'), "unknown timezone"),
        (('table = "rides"\n', ""), "table is required"),
    ],
)
def test_config_refuses_what_it_does_not_understand(
    tmp_path: Path, edit: tuple[str, str], says: str
) -> None:
    """Each nonsense setting is a ConfigError naming the setting."""
    path = tmp_path / "ops.toml"
    assert edit[0] in TRIPS_TOML
    path.write_text(TRIPS_TOML.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError, match=says):
        OpsdbConfig.from_toml(path, env={})


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (('timezone = "America/Chicago"', "timezone = 5"), r"\[opsdb\] timezone must be an IANA"),
        (('json_column = "payload"', "json_column = 3"), r"json_column must be a non-empty name"),
        (("[opsdb.telemetry]\n", '[opsdb.telemetry]\nspeed_unit = ["x"]\n'), r"speed_unit \['x'\]"),
        (("[opsdb.telemetry]\n", "[opsdb.telemetry]\nbattery_unit = 1\n"), "battery_unit 1 not"),
        (('watermark_kind = "timestamp"', "watermark_kind = []"), r"watermark_kind \[\] not"),
        (("[opsdb.trips]\n", "[opsdb.trips]\nkey = 7\n"), "key must be a non-empty name, got 7"),
        (("[opsdb.trips]\n", "[opsdb.trips]\nschema = true\n"), "schema must be a non-empty"),
        (('extra_columns = ["firmware"]', "extra_columns = [1]"), r"extra_columns must be a list"),
        (('extra_columns = ["firmware"]', 'extra_columns = "fw"'), r"extra_columns must be a list"),
        (("[opsdb]\n", '[opsdb]\npassword_env = ["X"]\n'), "password_env must name an environ"),
        (('url = "mysql://reader@db.internal:3306/fleet"', "url = 5"), "url must be text, got 5"),
        (("[opsdb.trips.columns]\n", "[opsdb.trips.columns]\nvehicle_id = 1\n"), "non-empty name"),
    ],
    ids=[
        "timezone",
        "json_column",
        "speed_unit",
        "battery_unit",
        "watermark_kind",
        "key",
        "schema",
        "extra_columns-item",
        "extra_columns-text",
        "password_env",
        "url",
        "columns-value",
    ],
)
def test_config_of_the_wrong_type_is_a_config_error(
    tmp_path: Path, edit: tuple[str, str], says: str
) -> None:
    """A setting of the wrong TOML type (a number or a list where a name was meant) is a
    ConfigError naming the setting, not a TypeError traceback from deep inside."""
    path = tmp_path / "ops.toml"
    assert edit[0] in TRIPS_TOML
    path.write_text(TRIPS_TOML.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError, match=says):
        OpsdbConfig.from_toml(path, env={})


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Problems in [opsdb] and in both entity tables come in one ConfigError that lists each
    one with its setting, so the file is fixed in one go."""
    path = tmp_path / "ops.toml"
    edits = [
        ('timezone = "America/Chicago"', "timezone = 5"),
        ("batch_size = 500", 'batch_size = "many"'),
        ('watermark_kind = "timestamp"', 'watermark_kind = "date"'),
        ('json_column = "payload"', "json_column = 3"),
        ("[opsdb.telemetry]\n", '[opsdb.telemetry]\nspeed_unit = ["x"]\n'),
    ]
    text = TRIPS_TOML
    for old, new in edits:
        text = text.replace(old, new, 1)
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        OpsdbConfig.from_toml(path, env={})
    message = str(err.value)
    assert message.startswith("5 problems in the [opsdb] settings:")
    for setting in ("timezone", "batch_size", "watermark_kind", "json_column", "speed_unit"):
        assert setting in message


def test_a_mapping_built_in_code_checks_its_types_too() -> None:
    """TableMapping refuses wrong types itself (not only when read from TOML), each named."""
    with pytest.raises(ConfigError) as err:
        TableMapping(
            entity="telemetry",
            table="pings",
            watermark="id",
            speed_unit=["x"],  # type: ignore[arg-type]
            json_column=3,  # type: ignore[arg-type]
        )
    assert "speed_unit ['x']" in str(err.value) and "json_column" in str(err.value)
    with pytest.raises(ConfigError, match="timezone must be an IANA name"):
        OpsdbConfig(url="postgresql://reader@pg/ops", timezone=5)  # type: ignore[arg-type]


def test_a_missing_entity_section_says_which_to_add() -> None:
    """Asking for telemetry without [opsdb.telemetry] names the section."""
    config = OpsdbConfig(url="postgresql://reader@pg/ops", trips=trips_mapping("rides"))
    with pytest.raises(ConfigError, match=r"no \[opsdb.telemetry\] section"):
        config.mapping("telemetry")


@pytest.mark.parametrize(
    "mark",
    [
        Watermark(41),
        Watermark(datetime(2024, 6, 3, 8, 0, 0, 123456), key=17),
        Watermark(datetime(2024, 6, 3, 8, 0, tzinfo=UTC), key="ride-9"),
    ],
)
def test_watermarks_round_trip_through_text(mark: Watermark) -> None:
    """A stored watermark reads back equal, naive times staying naive and aware ones aware."""
    again = Watermark.decode(mark.encode())
    assert again == mark
    if isinstance(mark.value, datetime):
        assert (again.value.tzinfo is None) == (mark.value.tzinfo is None)


def test_a_garbled_watermark_is_a_config_error() -> None:
    """Text that is not a watermark is refused rather than read as 'from the start'."""
    with pytest.raises(ConfigError, match="not understood"):
        Watermark.decode("last=17")


@pytest.mark.parametrize(
    "change",
    [
        {"watermark": "ride_id", "watermark_kind": "id"},
        {"watermark": "started_at"},
        {"key": "from_lat"},
        {"columns": {**trips_mapping("x").columns, "trip_id": "started_at"}},
    ],
    ids=["column-and-kind", "column", "key", "default-key"],
)
def test_a_watermark_taken_with_another_ordering_is_refused(change: dict[str, Any]) -> None:
    """A watermark stores its column, kind and key; read back after any of them changed
    (even the key that defaults to trip_id's column) it is a ConfigError, never reused."""
    before = trips_mapping("rides")
    text = Watermark(T0, key=4).encode(before)
    assert opsdb.resume_from(text, before) == Watermark(T0, key=4)
    with pytest.raises(ConfigError, match=r"does not fit .*now say") as err:
        opsdb.resume_from(text, trips_mapping("rides", **change))
    assert "watermark = 'finished_at' (watermark_kind = 'timestamp'), key = 'ride_id'" in str(
        err.value
    )


@pytest.mark.parametrize(
    ("stored", "fits"),
    [
        (Watermark(T0, key=4), True),
        (Watermark(T0), True),
        (Watermark(41, key=4), False),
    ],
    ids=["time-and-key", "time-null-key", "id-value"],
)
def test_a_watermark_stored_without_its_ordering_must_fit_its_shape(
    stored: Watermark, fits: bool
) -> None:
    """A watermark written before orderings were stored is used only when its value is of
    the configured kind (a null key, which such a watermark could hold, is accepted)."""
    mapping = trips_mapping("rides")
    if fits:
        assert opsdb.resume_from(stored.encode(), mapping) == stored
    else:
        with pytest.raises(ConfigError, match="is not a time"):
            opsdb.resume_from(stored.encode(), mapping)
    ids = trips_mapping("rides", watermark="ride_id", watermark_kind="id")
    with pytest.raises(ConfigError, match="its own key"):
        opsdb.resume_from(Watermark(41, key=4).encode(), ids)


def telemetry_batch(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a read batch: every column as text and ``_row`` from 1."""
    columns = list(rows[0])
    return (
        pl.DataFrame(
            {c: [opsdb.as_text(r.get(c)) for r in rows] for c in columns},
            schema=dict.fromkeys(columns, pl.String),
        )
        .with_row_index(ROW, offset=1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
    )


TELEMETRY = TableMapping(
    entity="telemetry",
    table="pings",
    watermark="id",
    columns={"vehicle_id": "scooter_id", "observed_at": "recorded_at"},
    json_column="payload",
    json_keys={"lat": "gps.lat", "lon": "gps.lng"},
    extra_columns=("firmware",),
)


def test_nested_json_telemetry_is_flattened_and_the_rest_kept() -> None:
    """Mapped and guessed keys become columns; what is left of the JSON is kept in ``extra``."""
    payload = {
        "gps": {"lat": 41.905, "lng": -87.695, "hdop": 0.9},
        "battery": 81,
        "locked": True,
        "speed": 0,
        "odometer_km": 1234.5,
    }
    batch = telemetry_batch(
        [
            {
                "id": 1,
                "scooter_id": "S1",
                "recorded_at": datetime(2024, 6, 3, 13, 0),
                "payload": json.dumps(payload),
                "firmware": "2.4.1",
            }
        ]
    )
    checked = opsdb.check_telemetry(batch, TELEMETRY, system_id="ops", timezone="UTC")
    assert checked.rejected.is_empty()
    row = checked.accepted.row(0, named=True)
    assert (row["lat"], row["lon"], row["hdop"]) == (41.905, -87.695, 0.9)
    assert (row["battery_pct"], row["is_locked"], row["speed_kmh"]) == (81.0, True, 0.0)
    assert json.loads(row["extra"]) == {"firmware": "2.4.1", "odometer_km": 1234.5}
    assert row["observed_at"] == datetime(2024, 6, 3, 13, 0, tzinfo=UTC)


def test_bad_telemetry_rows_get_every_reason() -> None:
    """Each bad reading is rejected with all its reasons and its original record."""
    at = datetime(2024, 6, 3, 13, 0)
    good = {"gps": {"lat": 41.9, "lng": -87.69}}
    rows = [
        {"id": 1, "scooter_id": "S1", "recorded_at": at, "payload": json.dumps(good)},
        {"id": 2, "scooter_id": None, "recorded_at": "yesterday", "payload": json.dumps(good)},
        {
            "id": 3,
            "scooter_id": "S3",
            "recorded_at": at,
            "payload": json.dumps({"gps": {"lat": 95.0, "lng": -87.69}, "battery": 130}),
        },
        {"id": 4, "scooter_id": "S4", "recorded_at": at, "payload": "{not json"},
        {
            "id": 5,
            "scooter_id": "S5",
            "recorded_at": at,
            "payload": json.dumps({"locked": "maybe", "speed": -3, "gps": {"lat": 41.9}}),
        },
        {"id": 6, "scooter_id": "S1", "recorded_at": at, "payload": json.dumps(good)},
    ]
    mapping = TableMapping(
        entity="telemetry",
        table="pings",
        watermark="id",
        columns={"vehicle_id": "scooter_id", "observed_at": "recorded_at"},
        json_column="payload",
    )
    checked = opsdb.check_telemetry(telemetry_batch(rows), mapping, system_id="ops", timezone="UTC")
    reasons = dict(checked.rejected.select("row_number", "reason").iter_rows())
    assert checked.accepted["vehicle_id"].to_list() == ["S1"]
    assert reasons == {
        2: "missing vehicle id; unparseable time",
        3: "coordinates outside the world; battery outside 0-100 %",
        4: "unreadable JSON in payload",
        5: "only one of lat and lon; absurd speed; unparseable lock state",
        6: "another reading of this vehicle at the same time in this batch",
    }
    assert json.loads(checked.rejected.filter(pl.col("row_number") == 4)["record"][0]) == {
        "id": "4",
        "scooter_id": "S4",
        "recorded_at": "2024-06-03T13:00:00.000000",
        "payload": "{not json",
    }


def test_units_are_converted_to_kmh_and_percent() -> None:
    """Speed in m/s and battery as a fraction are stored as km/h and percent."""
    mapping = TableMapping(
        entity="telemetry",
        table="pings",
        watermark="id",
        columns={
            "vehicle_id": "v",
            "observed_at": "t",
            "speed_kmh": "speed",
            "battery_pct": "soc",
        },
        speed_unit="m/s",
        battery_unit="fraction",
    )
    batch = telemetry_batch(
        [{"id": 1, "v": "S1", "t": "2024-06-03 13:00", "speed": 5.0, "soc": 0.5}]
    )
    row = opsdb.check_telemetry(batch, mapping, system_id="ops", timezone="UTC").accepted.row(
        0, named=True
    )
    assert row["speed_kmh"] == pytest.approx(18.0)
    assert row["battery_pct"] == pytest.approx(50.0)


def test_vehicle_state_is_the_newest_position_with_the_newest_battery() -> None:
    """A later reading without a fix keeps the earlier position; unlocked means reserved."""
    at = datetime(2024, 6, 3, 13, 0, tzinfo=UTC)
    telemetry = pl.DataFrame(
        {
            "vehicle_id": ["A", "A", "A", "B"],
            "observed_at": [at, at + timedelta(minutes=1), at + timedelta(minutes=2), at],
            "lat": [41.90, 41.91, None, 41.93],
            "lon": [-87.69, -87.68, None, -87.67],
            "battery_pct": [80.0, None, 78.0, None],
            "is_locked": [True, False, None, None],
            "vehicle_type": ["scooter", None, None, None],
        }
    )
    states = opsdb.vehicle_states(telemetry).sort("vehicle_id")
    a, b = states.row(0, named=True), states.row(1, named=True)
    assert (a["observed_at"], a["lat"], a["battery_pct"]) == (
        at + timedelta(minutes=1),
        41.91,
        80.0,
    )
    assert (a["is_reserved"], a["is_disabled"], a["vehicle_type"]) == (True, False, "scooter")
    assert (b["is_reserved"], b["battery_pct"]) == (False, None)


def write_rows(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Create ``table`` when needed and insert ``rows``."""
    with engine.begin() as conn:
        table.create(conn, checkfirst=True)
        if rows:
            conn.execute(table.insert(), rows)


def read_all(
    engine: Engine, mapping: TableMapping, since: Watermark | None, batch_size: int
) -> list[opsdb.Batch]:
    """Every batch after ``since``."""
    return list(opsdb.read_batches(engine, mapping, since, batch_size=batch_size))


def test_timestamp_ties_are_read_once_each_across_batches(source: Engine, table_name: str) -> None:
    """Five rides finish at the same instant; batches of 2 split them, yet each is read once,
    and a read resumed from a watermark in the middle of the tie reads exactly the rest.
    A ride without a finish time (still under way) is not read."""
    table = trips_table(table_name)
    same = T0 + timedelta(minutes=30, microseconds=250)
    rows = [ride(n, same) for n in (5, 3, 9, 1, 7)] + [
        ride(2, T0),
        ride(8, T0 + timedelta(hours=1)),
    ]
    write_rows(source, table, [*rows, {**ride(4, T0), "finished_at": None}])
    mapping = trips_mapping(table_name)
    batches = read_all(source, mapping, None, 2)
    ids = [int(i) for b in batches for i in b.frame["ride_id"]]
    assert ids == [2, 1, 3, 5, 7, 9, 8]
    assert [b.frame.height for b in batches] == [2, 2, 2, 1]
    middle = batches[0].after
    assert middle == Watermark(same, key=1)
    again = read_all(source, mapping, Watermark.decode(middle.encode()), 2)
    assert [int(i) for b in again for i in b.frame["ride_id"]] == [3, 5, 7, 9, 8]
    assert batches[0].frame["finished_at"][0] == "2024-06-03T08:00:00.000000"


def test_id_watermark_reads_only_newer_rows(source: Engine, table_name: str) -> None:
    """With an id watermark the first read takes every row and the next only larger ids."""
    table = trips_table(table_name)
    write_rows(source, table, [ride(n, T0 + timedelta(minutes=n)) for n in (3, 1, 5, 2, 4)])
    mapping = trips_mapping(table_name, watermark="ride_id", watermark_kind="id")
    first = read_all(source, mapping, None, 10)
    assert [int(i) for i in first[0].frame["ride_id"]] == [1, 2, 3, 4, 5]
    assert first[0].after == Watermark(5)
    write_rows(source, table, [ride(6, T0 + timedelta(hours=2))])
    assert [
        int(i) for b in read_all(source, mapping, first[0].after, 10) for i in b.frame["ride_id"]
    ] == [6]


def rides_with_scooter(name: str) -> sa.Table:
    """:func:`trips_table` plus a nullable scooter column, to be used as the key."""
    table = trips_table(name)
    table.append_column(sa.Column("scooter", sa.String(20)))
    return table


def test_null_keys_are_read_once_and_never_become_the_watermark(
    source: Engine, table_name: str
) -> None:
    """With the key on a nullable column, null-key rows (the second, and two tied with the
    end of the first batch) come back once each as ``unkeyed``, rejected with their reason
    and record; no batch ends on a null key, so reading on never compares with a null
    (which raised SQLAlchemy's ArgumentError), whether NULLs sort first or last."""
    rows = [
        {**ride(n, T0 + timedelta(minutes=m)), "scooter": s}
        for n, m, s in [(1, 1, "A"), (2, 2, None), (3, 3, "C"), (4, 3, None), (5, 3, None)]
    ]
    rows += [{**ride(n, T0 + timedelta(minutes=n)), "scooter": f"S{n}"} for n in (6, 7, 8)]
    write_rows(source, rides_with_scooter(table_name), rows)
    mapping = trips_mapping(table_name, key="scooter")
    batches = read_all(source, mapping, None, 2)
    assert [[int(i) for i in b.frame["ride_id"]] for b in batches] == [[1, 3], [6, 7], [8]]
    unkeyed = [[json.loads(r)["ride_id"] for r in b.unkeyed["record"]] for b in batches]
    assert unkeyed == [["2", "4", "5"], [], []]
    assert set(batches[0].unkeyed["reason"]) == {"missing scooter (the key that orders rows)"}
    assert batches[0].unkeyed["row_number"].to_list() == [3, 4, 5]
    assert batches[0].rows_read == 5
    assert all(b.after.key is not None for b in batches)
    assert batches[0].after == Watermark(T0 + timedelta(minutes=3), key="C")
    again = read_all(source, mapping, batches[0].after, 2)
    assert [int(i) for b in again for i in b.frame["ride_id"]] == [6, 7, 8]
    assert all(b.unkeyed.is_empty() for b in again)


def test_an_old_watermark_with_a_null_key_reads_its_ties_again(
    source: Engine, table_name: str
) -> None:
    """A stored watermark whose key is null (as the previous version could store) no longer
    wedges the reads: they continue at the start of its watermark value, reading its ties
    again rather than skipping any."""
    rows = [{**ride(n, T0 + timedelta(minutes=min(n, 2))), "scooter": f"S{n}"} for n in (1, 2, 3)]
    write_rows(source, rides_with_scooter(table_name), rows)
    mapping = trips_mapping(table_name, key="scooter")
    stuck = opsdb.resume_from(Watermark(T0 + timedelta(minutes=2)).encode(), mapping)
    assert [int(i) for b in read_all(source, mapping, stuck, 10) for i in b.frame["ride_id"]] == [
        2,
        3,
    ]


def test_a_wrong_column_is_a_source_error_naming_the_columns(
    source: Engine, table_name: str
) -> None:
    """A mapping naming a column the table lacks fails with the columns it asked for."""
    write_rows(source, trips_table(table_name), [ride(1, T0)])
    mapping = trips_mapping(table_name, columns={**trips_mapping("x").columns, "start_lat": "lat"})
    with pytest.raises(SourceError, match=r"\[opsdb\.trips\].*lat"):
        read_all(source, mapping, None, 10)


def test_a_text_watermark_column_of_kind_id_is_refused(source: Engine, table_name: str) -> None:
    """An 'id' watermark on a column that holds times says to use kind 'timestamp'."""
    write_rows(source, trips_table(table_name), [ride(1, T0)])
    mapping = trips_mapping(table_name, watermark_kind="id")
    with pytest.raises(SourceError, match="not an integer: use watermark_kind = 'timestamp'"):
        read_all(source, mapping, None, 10)


def test_json_columns_of_each_server_are_flattened(source: Engine, table_name: str) -> None:
    """A JSON column (MariaDB: text, PostgreSQL: jsonb) read back flattens the same way."""
    table = sa.Table(
        table_name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("scooter_id", sa.String(20)),
        sa.Column("recorded_at", TIME6),
        sa.Column("payload", JSON),
        sa.Column("firmware", sa.String(20)),
    )
    payload = {"gps": {"lat": 41.91, "lng": -87.69}, "battery": {"level": 64}, "door": "shut"}
    write_rows(
        source,
        table,
        [{"id": 1, "scooter_id": "S1", "recorded_at": T0, "payload": payload, "firmware": "9"}],
    )
    mapping = replace(TELEMETRY, table=table_name)
    (batch,) = read_all(source, mapping, None, 10)
    checked = opsdb.check_telemetry(batch.frame, mapping, system_id="ops", timezone="UTC")
    row = checked.accepted.row(0, named=True)
    assert (row["lat"], row["lon"], row["battery_pct"]) == (41.91, -87.69, 64.0)
    assert json.loads(row["extra"]) == {"door": "shut", "firmware": "9"}


def test_an_unreachable_server_says_what_to_check() -> None:
    """A refused connection names the URL with its password hidden, and what to check."""
    require_pymysql()
    config = OpsdbConfig(
        url="mysql://reader:pw@127.0.0.1:1/fleet",
        trips=trips_mapping("rides"),
        connect_timeout_s=2,
    )
    engine = opsdb.open_engine(config)
    with pytest.raises(SourceError, match=r"cannot connect to .*reader:\*\*\*@127.0.0.1:1") as err:
        read_all(engine, config.mapping("trips"), None, 10)
    assert "FLEETCAST_OPSDB_PASSWORD" in str(err.value)
    assert "pw@" not in str(err.value)
    engine.dispose()
