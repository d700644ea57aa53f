"""An operator's own database (MySQL / MariaDB or PostgreSQL), read incrementally by a watermark.

What to read is configured, not coded: an ``[opsdb]`` section of fleetcast.toml (or of a TOML
file given to the command) names the database and, per entity, the table, the watermark and
which column holds each of our fields::

    [opsdb]
    url = "mysql+pymysql://fleet_reader@db.internal:3306/fleet"   # no password here
    timezone = "Europe/Paris"       # of naive timestamps (default: the system's timezone)
    batch_size = 10000

    [opsdb.trips]
    table = "rides"
    watermark = "finished_at"       # a column set once the row is final
    watermark_kind = "timestamp"    # or "id": an increasing integer column
    key = "ride_id"                 # orders rows with the same watermark (default: trip_id's)
    [opsdb.trips.columns]
    trip_id = "ride_id"
    started_at = "started_at"
    ended_at = "finished_at"
    start_lat = "from_lat"
    start_lon = "from_lng"

    [opsdb.telemetry]
    table = "vehicle_pings"
    watermark = "id"
    json_column = "payload"         # nested JSON: known keys are flattened, the rest kept
    extra_columns = ["firmware"]    # plain columns kept in ``extra`` as well
    [opsdb.telemetry.columns]
    vehicle_id = "scooter_id"
    observed_at = "recorded_at"
    [opsdb.telemetry.json_keys]
    lat = "gps.lat"
    lon = "gps.lng"

Secrets never live in the file: a URL there that holds a password is refused; the password
comes from ``FLEETCAST_OPSDB_PASSWORD`` (or the variable named by ``password_env``), or the
whole URL from ``FLEETCAST_OPSDB_URL``. There is no default user or password.

Rows are read in batches of ``batch_size``, in (watermark, key) order, each batch asking for
the rows after the last one of the previous batch (keyset paging: no OFFSET, no long-held
cursor on the operator's server). Ordering by the key as well makes ties exact: rows that
share the watermark's timestamp are read once each, even when a batch ends among them. Rows
whose watermark is null are never read (not final yet). A timestamp watermark only sees rows
whose time is after the last one read, so it should be set when a row becomes final (a
trip's end, a ping's arrival); a row committed late with an earlier time is missed, as with
any watermark.

A row whose key is null has no place in that order, and a null could never be a position
to continue from: such rows are never where a batch ends (nor in a stored watermark).
Each is read once, with the batch whose watermark range holds its watermark value, and
quarantined with the reason "missing <key column> (the key that orders rows)"; it counts
as read and rejected. (One newer than every keyed row is read once a keyed row comes
after it.)

The stored watermark records the ordering it is a position in (watermark column, kind and
key); after any of them changes in the settings, the run is refused with a ConfigError
that says which row of the ``watermarks`` table to delete to read the table again from its
first row (see :func:`resume_from`).

Telemetry fields (vehicle_id, observed_at, lat, lon, speed_kmh, battery_pct, is_locked,
hdop, vehicle_type) come from a column, from a dotted key of ``json_column`` (``json_keys``),
or, for the measurements, from the first of a few common keys found in it (``lat``,
``latitude``, ``gps.lat`` ...: see :data:`JSON_KEY_GUESSES`). Keys used are removed from the
JSON; what is left, with ``extra_columns``, becomes the TELEMETRY ``extra`` JSON.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args
from uuid import UUID

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from fleetcast.config import Settings
from fleetcast.domain import TELEMETRY, check_timezone, conform
from fleetcast.errors import ConfigError, SchemaError, SourceError
from fleetcast.geo import Zoning
from fleetcast.sources import _checks, files
from fleetcast.sources._tabular import parse_datetimes, parse_numbers
from fleetcast.sources.validate import ROW, count_reasons

Entity = Literal["trips", "telemetry"]
WatermarkKind = Literal["id", "timestamp"]
SpeedUnit = Literal["km/h", "m/s", "mph"]
BatteryUnit = Literal["percent", "fraction"]

ENTITIES: Final = get_args(Entity)
URL_ENV: Final = "FLEETCAST_OPSDB_URL"
PASSWORD_ENV: Final = "FLEETCAST_OPSDB_PASSWORD"

TELEMETRY_FIELDS: Final = (
    "vehicle_id",
    "observed_at",
    "lat",
    "lon",
    "speed_kmh",
    "battery_pct",
    "is_locked",
    "hdop",
    "vehicle_type",
)
"""Fields a telemetry table can map; vehicle_id and observed_at are required."""

JSON_KEY_GUESSES: Final[dict[str, tuple[str, ...]]] = {
    "lat": ("lat", "latitude", "gps.lat", "gps.latitude", "position.lat", "location.lat"),
    "lon": (
        "lon",
        "lng",
        "longitude",
        "gps.lon",
        "gps.lng",
        "gps.longitude",
        "position.lon",
        "position.lng",
        "location.lon",
        "location.lng",
    ),
    "speed_kmh": ("speed_kmh", "speed", "gps.speed"),
    "battery_pct": ("battery_pct", "battery", "battery_level", "soc", "battery.level"),
    "is_locked": ("is_locked", "locked", "lock_state", "lock.state"),
    "hdop": ("hdop", "gps.hdop"),
}
"""Keys of ``json_column`` tried, in order, for fields given neither a column nor a key."""

_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "trips": ("trip_id", "started_at", "ended_at"),
    "telemetry": ("vehicle_id", "observed_at"),
}
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "trips": files.TRIP_FIELDS,
    "telemetry": TELEMETRY_FIELDS,
}
_SPEED_FACTOR: Final[dict[str, float]] = {"km/h": 1.0, "m/s": 3.6, "mph": 1.609344}
_BATTERY_FACTOR: Final[dict[str, float]] = {"percent": 1.0, "fraction": 100.0}
_LOCKED: Final = ("1", "true", "t", "yes", "y", "locked", "lock", "closed")
_UNLOCKED: Final = ("0", "false", "f", "no", "n", "unlocked", "unlock", "open")
_MAX_SPEED_KMH: Final = 250.0
_FUTURE_SLACK: Final = timedelta(days=1)
_BACKENDS: Final = ("mysql", "mariadb", "postgresql", "sqlite")
_DRIVERS: Final = {"mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
_TABLE_KEYS: Final = frozenset(
    {
        "table",
        "schema",
        "watermark",
        "watermark_kind",
        "key",
        "columns",
        "json_column",
        "json_keys",
        "extra_columns",
        "speed_unit",
        "battery_unit",
    }
)
_TABLE_FIELDS: Final = tuple(sorted(_TABLE_KEYS))
"""TableMapping's fields besides ``entity`` (one per TOML key of an entity's table)."""
_CONFIG_KEYS: Final = frozenset(
    {"url", "password_env", "timezone", "batch_size", "connect_timeout_s", *ENTITIES}
)


@dataclass(frozen=True, slots=True)
class TableMapping:
    """Where one entity lives in the operator's database and how to read it incrementally."""

    entity: Entity
    table: str
    watermark: str
    watermark_kind: WatermarkKind = "id"
    columns: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None
    schema: str | None = None
    json_column: str | None = None
    json_keys: Mapping[str, str] = field(default_factory=dict)
    extra_columns: tuple[str, ...] = ()
    speed_unit: SpeedUnit = "km/h"
    battery_unit: BatteryUnit = "percent"

    def __post_init__(self) -> None:
        if self.entity not in ENTITIES:
            raise ConfigError(f"entity {self.entity!r} not understood: use trips or telemetry")
        values = {name: getattr(self, name) for name in _TABLE_FIELDS}
        problems = _table_problems(self.entity, values)
        if problems:
            raise SettingsError(problems)

    @property
    def field_columns(self) -> dict[str, str]:
        """Our field -> column: the mapped ones, required fields defaulting to their own name."""
        out = {f: f for f in _REQUIRED[self.entity] if f not in self.json_keys}
        out.update(self.columns)
        return out

    @property
    def key_column(self) -> str:
        """The column that orders rows sharing a watermark value."""
        if self.key:
            return self.key
        if self.watermark_kind == "id":
            return self.watermark
        own = "trip_id" if self.entity == "trips" else "vehicle_id"
        return self.field_columns.get(own, own)

    @property
    def ordering(self) -> dict[str, str]:
        """What a watermark of this mapping is a position in: the watermark column, its kind
        and the key column. Stored with the watermark, so a watermark is never read back
        under another ordering, in which it would skip or repeat rows."""
        return {"watermark": self.watermark, "kind": self.watermark_kind, "key": self.key_column}

    @property
    def selected(self) -> list[str]:
        """Columns read from the table, each once, in a stable order."""
        names = [
            *self.field_columns.values(),
            self.watermark,
            self.key_column,
            *([self.json_column] if self.json_column else []),
            *self.extra_columns,
        ]
        return list(dict.fromkeys(names))

    @classmethod
    def from_mapping(cls, entity: Entity, doc: Mapping[str, Any]) -> TableMapping:
        """A mapping from its TOML table; unknown keys are refused, not ignored.

        Every problem of the table (unknown keys, missing or mistyped values) is reported in
        one ConfigError, so a config is fixed in one go rather than one error per run.
        """
        where = f"[opsdb.{entity}]"
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where} must be a table")
        problems: list[str] = []
        unknown = sorted(set(doc) - _TABLE_KEYS)
        if unknown:
            problems.append(
                f"{where}: key(s) {unknown} not understood; known keys are {sorted(_TABLE_KEYS)}"
            )
        problems += [
            f"{where}: {name} is required" for name in ("table", "watermark") if name not in doc
        ]
        values = {name: doc[name] for name in _TABLE_FIELDS if name in doc}
        problems += _table_problems(entity, values)
        if problems:
            raise SettingsError(problems)
        for name in ("columns", "json_keys"):
            if name in values:
                values[name] = dict(values[name])
        if "extra_columns" in values:
            values["extra_columns"] = tuple(values["extra_columns"])
        return cls(entity=entity, **values)


def _table_problems(entity: Entity, values: Mapping[str, Any]) -> list[str]:
    """Every problem of a table mapping's ``values`` (by field name; absent ones are left out
    and take their defaults), each naming its field, so one message lists them all.

    Types are checked before anything uses the values: TOML gives a number or a list where a
    name was meant, and such a value used as a column name or looked up as a unit would fail
    with a traceback instead of saying which setting is wrong.
    """
    where = f"[opsdb.{entity}]"
    problems: list[str] = []
    for name in ("table", "watermark"):
        if name in values and not _is_name(values[name]):
            problems.append(f"{where}: {name} must name a column or table, got {values[name]!r}")
    for name in ("key", "schema", "json_column"):
        value = values.get(name)
        if value is not None and not _is_name(value):
            problems.append(f"{where}: {name} must be a non-empty name, got {value!r}")
    kind = values.get("watermark_kind", "id")
    if not isinstance(kind, str) or kind not in get_args(WatermarkKind):
        problems.append(
            f"{where}: watermark_kind {kind!r} not understood: "
            "use 'id' (an increasing integer column) or 'timestamp'"
        )
    for name, known in (("speed_unit", _SPEED_FACTOR), ("battery_unit", _BATTERY_FACTOR)):
        unit = values.get(name)
        if unit is not None and (not isinstance(unit, str) or unit not in known):
            problems.append(f"{where}: {name} {unit!r} not understood: use {', '.join(known)}")
    extra = values.get("extra_columns", ())
    if not isinstance(extra, tuple | list) or not all(_is_name(c) for c in extra):
        problems.append(f"{where}: extra_columns must be a list of column names, got {extra!r}")
    allowed = _FIELDS[entity]
    mapped: set[str] = set()
    for section in ("columns", "json_keys"):
        names = values.get(section, {})
        if not isinstance(names, Mapping):
            problems.append(f"{where}: {section} must be a table of field = name, got {names!r}")
            continue
        if section == "columns":
            mapped = set(names)
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            problems.append(
                f"{where}.{section}: field(s) {unknown} not understood; "
                f"fields are {', '.join(allowed)}"
            )
        if not all(_is_name(v) for v in names.values()):
            problems.append(f"{where}.{section}: every value must be a non-empty name")
    if entity == "trips":
        if values.get("json_column") or values.get("json_keys") or values.get("extra_columns"):
            problems.append(f"{where}: json_column, json_keys and extra_columns are for telemetry")
        if "start_zone" not in mapped and not {"start_lat", "start_lon"} <= mapped:
            problems.append(f"{where}.columns: trips need start_zone, or start_lat and start_lon")
    elif values.get("json_keys") and not values.get("json_column"):
        problems.append(f"{where}: json_keys need json_column (the JSON column's name)")
    return problems


def _is_name(value: Any) -> bool:
    """``value`` is usable as a table or column name: text that is not blank."""
    return isinstance(value, str) and bool(value.strip())


class SettingsError(ConfigError):
    """Every problem found in the ``[opsdb]`` settings at once, each naming its setting."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listed = "\n- ".join(self.problems)
            message = f"{len(self.problems)} problems in the [opsdb] settings:\n- {listed}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class OpsdbConfig:
    """The operator's database and what to read from it; the URL never shows its password."""

    url: str = field(repr=False)
    trips: TableMapping | None = None
    telemetry: TableMapping | None = None
    timezone: str | None = None
    batch_size: int = 10_000
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        problems = _config_problems(
            url=self.url,
            timezone=self.timezone,
            batch_size=self.batch_size,
            connect_timeout_s=self.connect_timeout_s,
        )
        if problems:
            raise SettingsError(problems)

    @property
    def shown_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return _parse_url(self.url).render_as_string(hide_password=True)

    def mapping(self, entity: Entity) -> TableMapping:
        """The table mapping of ``entity``, or a ConfigError saying which section to add."""
        if entity not in ENTITIES:
            raise ConfigError(f"entity {entity!r} not understood: use trips or telemetry")
        found = self.trips if entity == "trips" else self.telemetry
        if found is None:
            raise ConfigError(
                f"no [opsdb.{entity}] section: add one with table, watermark and columns"
            )
        return found

    def source_key(self, entity: Entity) -> str:
        """The watermark's source name: the database and table (not the host, so a failover
        to a replica keeps its place)."""
        mapping = self.mapping(entity)
        parsed = _parse_url(self.url)
        table = f"{mapping.schema}.{mapping.table}" if mapping.schema else mapping.table
        return f"opsdb:{parsed.database or parsed.host or ''}/{table}"[:128]

    @classmethod
    def from_mapping(
        cls, doc: Mapping[str, Any], *, env: Mapping[str, str] | None = None, origin: str = ""
    ) -> OpsdbConfig:
        """The config from an ``[opsdb]`` table; the URL and password may come from ``env``."""
        env = os.environ if env is None else env
        where = f"[opsdb]{' in ' + origin if origin else ''}"
        problems: list[str] = []
        unknown = sorted(set(doc) - _CONFIG_KEYS)
        if unknown:
            problems.append(
                f"{where}: key(s) {unknown} not understood; known keys are {sorted(_CONFIG_KEYS)}"
            )
        password_env = doc.get("password_env", PASSWORD_ENV)
        if not _is_name(password_env):
            problems.append(
                f"{where}: password_env must name an environment variable, got {password_env!r}"
            )
            password_env = PASSWORD_ENV
        url: Any = env.get(URL_ENV) or None
        if url is None:
            url = doc.get("url")
            if not url:
                problems.append(
                    f"no database URL: set url in {where} (without the password) or the "
                    f"environment variable {URL_ENV}"
                )
            elif not isinstance(url, str):
                problems.append(f"{where}: url must be text, got {url!r}")
            elif _url_problem(url) is None and _parse_url(url).password is not None:
                problems.append(
                    f"the url in {where} holds a password: keep secrets out of files; remove "
                    f"it and set {password_env} (or the whole URL in {URL_ENV})"
                )
        tables: dict[Entity, TableMapping] = {}
        for entity in ENTITIES:
            if entity in doc:
                try:
                    tables[entity] = TableMapping.from_mapping(entity, doc[entity])
                except SettingsError as exc:
                    problems.extend(exc.problems)
                except ConfigError as exc:
                    problems.append(str(exc))
        settings: dict[str, Any] = {
            "timezone": doc.get("timezone"),
            "batch_size": doc.get("batch_size", 10_000),
            "connect_timeout_s": doc.get("connect_timeout_s", 10.0),
        }
        problems += _config_problems(url=url if isinstance(url, str) else None, **settings)
        if problems:
            raise SettingsError(problems)
        parsed = _parse_url(str(url))
        password = env.get(password_env)
        if parsed.password is None and password and parsed.username:
            parsed = parsed.set(password=password)
        return cls(
            url=parsed.render_as_string(hide_password=False),
            trips=tables.get("trips"),
            telemetry=tables.get("telemetry"),
            **settings,
        )

    @classmethod
    def from_toml(cls, path: Path, *, env: Mapping[str, str] | None = None) -> OpsdbConfig:
        """The ``[opsdb]`` section of a TOML file."""
        try:
            with path.open("rb") as fh:
                doc = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"{path} does not exist") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        section = doc.get("opsdb")
        if not isinstance(section, dict):
            raise ConfigError(f"{path} has no [opsdb] section")
        return cls.from_mapping(section, env=env, origin=str(path))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, env: Mapping[str, str] | None = None
    ) -> OpsdbConfig:
        """The ``[opsdb]`` section of the settings' fleetcast.toml."""
        section = settings.section("opsdb")
        if not section:
            where = settings.config_file or "fleetcast.toml"
            raise ConfigError(f"no [opsdb] section in {where}; add one or give --config FILE")
        return cls.from_mapping(section, env=env, origin=str(settings.config_file or ""))


def _config_problems(
    *, url: str | None, timezone: Any, batch_size: Any, connect_timeout_s: Any
) -> list[str]:
    """Every problem of the ``[opsdb]`` settings themselves (not of its tables), each naming
    its setting; a ``url`` of None is left out (its absence is reported by the caller)."""
    problems: list[str] = []
    if url is not None:
        problem = _url_problem(url)
        if problem is None:
            backend = _parse_url(url).get_backend_name()
            if backend not in _BACKENDS:
                problem = (
                    f"database {backend!r} not supported: use a mysql://, mariadb:// or "
                    "postgresql:// URL"
                )
        if problem is not None:
            problems.append(problem)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        problems.append(f"[opsdb] batch_size must be an integer, got {batch_size!r}")
    elif batch_size < 1:
        problems.append(f"[opsdb] batch_size must be at least 1, got {batch_size}")
    timeout = connect_timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(f"[opsdb] connect_timeout_s must be a positive number, got {timeout!r}")
    if timezone is not None:
        if not isinstance(timezone, str):
            problems.append(
                f"[opsdb] timezone must be an IANA name such as 'Europe/Paris', got {timezone!r}"
            )
        else:
            try:
                check_timezone(timezone)
            except SchemaError as exc:
                problems.append(f"[opsdb] timezone: {exc}")
    return problems


def _url_problem(url: str) -> str | None:
    """Why ``url`` is not a database URL, or None when it is one."""
    try:
        _parse_url(url)
    except ConfigError as exc:
        return str(exc)
    return None


def _parse_url(url: str) -> URL:
    """A URL with fleetcast's drivers filled in (PyMySQL, psycopg); ConfigError if unreadable."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"opsdb url is not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    elif backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(config: OpsdbConfig) -> Engine:
    """An engine on the operator's database: PyMySQL for MySQL / MariaDB, psycopg for PostgreSQL."""
    parsed = _parse_url(config.url)
    args: dict[str, Any] = {}
    if parsed.get_backend_name() in ("mysql", "mariadb", "postgresql"):
        args["connect_timeout"] = max(1, round(config.connect_timeout_s))
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=args)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        extra = "mysql" if parsed.get_backend_name() in ("mysql", "mariadb") else "postgres"
        raise ConfigError(
            f"no driver for {parsed.drivername}: pip install 'fleetcast[{extra}]'"
        ) from exc


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far a table has been read: the last row's watermark value and key."""

    value: Any
    key: Any = None

    def encode(self, mapping: TableMapping | None = None) -> str:
        """JSON text for the watermarks table (times keep their offset, or lack of one);
        with ``mapping``, its :attr:`~TableMapping.ordering` is stored too, so that
        :func:`resume_from` can refuse the watermark once the ordering has changed."""
        doc: dict[str, Any] = {"value": _to_json(self.value), "key": _to_json(self.key)}
        if mapping is not None:
            doc["of"] = mapping.ordering
        return json.dumps(doc)

    @classmethod
    def decode(cls, text: str) -> Watermark:
        """A watermark from :meth:`encode`'s text (the ordering it was taken with, if stored,
        is not checked here: see :func:`resume_from`)."""
        return cls._load(text)[0]

    @classmethod
    def _load(cls, text: str) -> tuple[Watermark, Any]:
        """The watermark in ``text`` and the ordering stored with it (None if none was)."""
        try:
            doc = json.loads(text)
            mark = cls(value=_from_json(doc["value"]), key=_from_json(doc.get("key")))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"stored watermark {text!r} not understood; was it written by another version?"
            ) from exc
        return mark, doc.get("of")

    def __str__(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, date) else str(self.value)
        return value if self.key is None else f"{value} (key {self.key})"


def _to_json(value: Any) -> Any:
    """A watermark part as JSON, times tagged so they read back as times."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def _from_json(value: Any) -> Any:
    """The inverse of :func:`_to_json`."""
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        raise ValueError(f"unknown tagged value {value!r}")
    return value


def resume_from(text: str, mapping: TableMapping) -> Watermark:
    """The stored watermark ``text`` as the place where reads of ``mapping`` continue.

    A watermark is a position in one ordering (watermark column, kind, key): read back under
    another, it would skip rows (an id compared with a newer column) or fail on the server
    (a time compared with an integer column). So a watermark stored with another ordering
    is refused with a ConfigError, never reused. One stored before orderings were kept is
    accepted when its shape fits: a value of the configured kind, and a key only when the
    mapping has a key column apart from the watermark. (A null key, which such an old
    watermark could hold, continues at the start of its watermark value: those rows are
    read again rather than skipped.)
    """
    mark, taken = Watermark._load(text)
    now = mapping.ordering
    problem: str | None = None
    if taken is not None:
        if taken != now:
            problem = f"it was taken with {_ordering_text(taken)}"
    elif mapping.watermark_kind == "id" and (
        isinstance(mark.value, bool) or not isinstance(mark.value, int)
    ):
        problem = f"its value {mark.value!r} is not an id"
    elif mapping.watermark_kind == "timestamp" and not isinstance(mark.value, date):
        problem = f"its value {mark.value!r} is not a time"
    elif mark.key is not None and mapping.key_column == mapping.watermark:
        problem = f"it has a key ({mark.key!r}) but the watermark column is its own key"
    if problem is None:
        return mark
    raise ConfigError(
        f"the stored watermark ({mark}) does not fit [opsdb.{mapping.entity}]: {problem}, "
        f"but the settings now say {_ordering_text(now)}; continuing from it would skip or "
        "repeat rows"
    )


def _ordering_text(ordering: Any) -> str:
    """An ordering (see :attr:`TableMapping.ordering`) as the settings that give it."""
    if not isinstance(ordering, dict):
        return repr(ordering)
    return (
        f"watermark = {ordering.get('watermark')!r} (watermark_kind = "
        f"{ordering.get('kind')!r}), key = {ordering.get('key')!r}"
    )


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows read in one query: text columns named as in the source, ``_row`` from 1.

    ``unkeyed`` holds the rows of the batch's watermark range whose key is null, already
    rejected (REJECTED_SCHEMA, row numbers after the frame's): they cannot be placed in
    (watermark, key) order, so they are quarantined rather than loaded.
    """

    frame: pl.DataFrame
    before: Watermark | None
    after: Watermark
    unkeyed: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=_checks.REJECTED_SCHEMA)
    )

    @property
    def rows_read(self) -> int:
        """Rows this batch read: the frame's and the unkeyed ones."""
        return self.frame.height + self.unkeyed.height


def read_batches(
    engine: Engine, mapping: TableMapping, since: Watermark | None, *, batch_size: int
) -> Iterator[Batch]:
    """Rows after ``since`` in (watermark, key) order, ``batch_size`` at a time.

    Each batch is one short query on its own connection, asking for the rows after the last
    one yielded, so a caller that stores each batch's ``after`` before taking the next can
    stop at any point and continue there.

    Rows with a null key are left out of that query (a null is not after anything, so it
    could never be a position to continue from): each batch also reads, on the same
    connection, the null-key rows whose watermark is in its range (after the previous
    batch's watermark value, up to and including its own last one) and returns them as
    ``unkeyed``. The ranges of successive batches do not overlap, so each such row is read
    once; one newer than every keyed row waits for a keyed row after it.
    """
    names = mapping.selected
    table = sa.table(mapping.table, *(sa.column(n) for n in names), schema=mapping.schema)
    mark = table.c[mapping.watermark]
    key = None if mapping.key_column == mapping.watermark else table.c[mapping.key_column]
    columns = [table.c[n] for n in names]
    base = sa.select(*columns).where(mark.is_not(None))
    if key is not None:
        base = base.where(key.is_not(None))
    base = base.order_by(mark, *([key] if key is not None else [])).limit(batch_size)
    position = since
    while True:
        query = base if position is None else base.where(_after(mark, key, position))
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise _read_error(exc, engine, mapping, connecting=True) from exc
        try:
            with conn:
                result = conn.execute(query)
                header = list(result.keys())
                rows = result.all()
                if not rows:
                    return
                last = rows[-1]
                after = Watermark(
                    value=_checked_mark(last[names.index(mapping.watermark)], mapping),
                    key=None if key is None else last[names.index(mapping.key_column)],
                )
                nulls: Sequence[Any] = []
                if key is not None:
                    unkeyed = sa.select(*columns).where(key.is_(None), mark <= after.value)
                    if position is not None:
                        unkeyed = unkeyed.where(mark > position.value)
                    nulls = conn.execute(unkeyed.order_by(mark)).all()
        except DBAPIError as exc:
            raise _read_error(exc, engine, mapping, connecting=False) from exc
        yield Batch(
            _text_frame(header, rows),
            position,
            after,
            _unkeyed_rows(header, nulls, mapping, first_row=len(rows) + 1),
        )
        if len(rows) < batch_size:
            return
        position = after


def _after(mark: Any, key: Any, position: Watermark) -> sa.ColumnElement[bool]:
    """Rows after ``position`` in (watermark, key) order.

    A position without a key in a keyed ordering (only an old stored watermark can be one)
    continues at the start of its watermark value: its ties are read again, never skipped.
    """
    if key is None:
        return cast(sa.ColumnElement[bool], mark > position.value)
    if position.key is None:
        return cast(sa.ColumnElement[bool], mark >= position.value)
    return sa.or_(mark > position.value, sa.and_(mark == position.value, key > position.key))


def _unkeyed_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], mapping: TableMapping, *, first_row: int
) -> pl.DataFrame:
    """Null-key rows as rejected rows (REJECTED_SCHEMA), numbered from ``first_row``."""
    if not rows:
        return pl.DataFrame(schema=_checks.REJECTED_SCHEMA)
    frame = _text_frame(columns, rows)
    return frame.select(
        (pl.col(ROW) + (first_row - 1)).alias("row_number"),
        pl.lit(f"missing {mapping.key_column} (the key that orders rows)").alias("reason"),
        pl.struct(pl.exclude(ROW)).struct.json_encode().alias("record"),
    ).cast(_checks.REJECTED_SCHEMA)  # type: ignore[arg-type]


def _checked_mark(value: Any, mapping: TableMapping) -> Any:
    """The watermark value of a row, refused when it is not of the configured kind."""
    where = f"[opsdb.{mapping.entity}] watermark column {mapping.watermark!r}"
    if mapping.watermark_kind == "id":
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SourceError(
            f"{where} holds {value!r}, not an integer: use watermark_kind = 'timestamp' for a "
            "time column, or an increasing integer column"
        )
    if isinstance(value, date):
        return value
    raise SourceError(
        f"{where} holds {value!r}, not a date or time: use watermark_kind = 'id' for an "
        "integer column"
    )


def _read_error(
    exc: DBAPIError, engine: Engine, mapping: TableMapping, *, connecting: bool
) -> SourceError:
    """A SourceError that says whether connecting or the query failed, and what to check."""
    shown = engine.url.render_as_string(hide_password=True)
    said = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if connecting:
        return SourceError(
            f"cannot connect to {shown}: {said}. Check the URL, that the server is up and "
            f"reachable, and the password in {PASSWORD_ENV}"
        )
    return SourceError(
        f"reading {mapping.table} from {shown} failed: {said}. Check [opsdb.{mapping.entity}]: "
        f"the table and the columns it names ({', '.join(mapping.selected)})"
    )


def as_text(value: Any) -> str | None:
    """A database value as the text the checks parse (times in ISO, JSON as JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _text_frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    """Rows as text columns with ``_row`` from 1 (the quarantine keeps them as read)."""
    frame = pl.DataFrame(
        {c: [as_text(r[i]) for r in rows] for i, c in enumerate(columns)},
        schema=dict.fromkeys(columns, pl.String()),
    )
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def trip_candidates(raw: pl.DataFrame, mapping: TableMapping, *, timezone: str) -> pl.DataFrame:
    """A batch of trips as candidates for ``validate.check_trips`` (through ``files``)."""
    columns = [c for c in raw.columns if c != ROW]
    resolved = files.resolve_mapping(columns, mapping.field_columns)
    return files.to_candidates(raw, mapping=resolved, timezone=timezone)


@dataclass(slots=True)
class CheckedTelemetry:
    """Telemetry checked: TELEMETRY rows (plus ``vehicle_type``) and rejected rows."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    reasons: dict[str, int] = field(default_factory=dict)

    def with_rejected(self, rows: pl.DataFrame) -> CheckedTelemetry:
        """These results plus rows rejected before the checks (such as a batch's rows
        without a key), which count as read and as rejected with their reasons."""
        if rows.is_empty():
            return self
        rejected = pl.concat([self.rejected, rows.select(list(_checks.REJECTED_SCHEMA))])
        return CheckedTelemetry(
            accepted=self.accepted,
            rejected=rejected,
            rows_read=self.rows_read + rows.height,
            reasons=count_reasons(rejected),
        )


def _path_get(doc: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted key of a JSON object, and whether it was there."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _path_pop(doc: dict[str, Any], path: str) -> None:
    """Remove a dotted key, and the objects it leaves empty, from a JSON object."""
    parts = path.split(".")
    parents = [doc]
    for part in parts[:-1]:
        parents.append(parents[-1][part])
    parents[-1].pop(parts[-1], None)
    for depth in range(len(parts) - 1, 0, -1):
        if parents[depth] == {}:
            parents[depth - 1].pop(parts[depth - 1], None)


def _flatten(raw: pl.DataFrame, mapping: TableMapping) -> pl.DataFrame:
    """One text column per telemetry field, ``extra`` JSON and a flag for unreadable JSON."""
    columns = mapping.field_columns
    out: dict[str, list[Any]] = {f: [] for f in TELEMETRY_FIELDS}
    out["extra"], out["_bad_json"] = [], []
    for row in raw.iter_rows(named=True):
        doc: Any = None
        bad = False
        text = row.get(mapping.json_column) if mapping.json_column else None
        if text is not None and str(text).strip():
            try:
                doc = json.loads(text)
            except json.JSONDecodeError:
                bad = True
            if doc is not None and not isinstance(doc, dict):
                bad, doc = True, None
        taken: list[str] = []
        for name in TELEMETRY_FIELDS:
            value: Any = None
            if name in columns:
                value = row.get(columns[name])
            elif isinstance(doc, dict):
                paths = (
                    (mapping.json_keys[name],)
                    if name in mapping.json_keys
                    else JSON_KEY_GUESSES.get(name, ())
                )
                for path in paths:
                    found, got = _path_get(doc, path)
                    if found and not isinstance(got, dict | list):
                        value = got if isinstance(got, str) else as_text(got)
                        taken.append(path)
                        break
            out[name].append(value)
        extra: dict[str, Any] = {}
        if isinstance(doc, dict):
            for path in taken:
                _path_pop(doc, path)
            extra.update(doc)
        for column in mapping.extra_columns:
            extra[column] = row.get(column)
        out["extra"].append(json.dumps(extra, sort_keys=True) if extra else None)
        out["_bad_json"].append(bad)
    schema: dict[str, pl.DataType] = {name: pl.String() for name in out}
    schema["_bad_json"] = pl.Boolean()
    return pl.DataFrame(out, schema=schema).with_columns(raw[ROW])


def _lock_state(text: pl.Expr) -> pl.Expr:
    """Lock state text (true/1/locked, false/0/unlocked, ...) as a boolean; else null."""
    word = text.str.strip_chars().str.to_lowercase()
    return (
        pl.when(word.is_in(list(_LOCKED)))
        .then(pl.lit(True))
        .when(word.is_in(list(_UNLOCKED)))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
    )


def check_telemetry(
    raw: pl.DataFrame,
    mapping: TableMapping,
    *,
    system_id: str,
    timezone: str,
    now: datetime | None = None,
) -> CheckedTelemetry:
    """Check a batch of telemetry; good rows become TELEMETRY rows (``date`` = local day).

    Every bad row gets every reason: no vehicle id; a missing, unparseable or future time;
    unparseable, half-given or impossible coordinates; an unparseable or impossible speed
    (below 0 or above 250 km/h), battery (outside 0-100 %), lock state or HDOP; unreadable
    JSON; a second reading of a vehicle at the same time in this batch (the first is kept).
    A reading without coordinates is kept (no GPS fix), as are the nulls it has.
    """
    latest = (now or datetime.now(UTC)) + _FUTURE_SLACK
    flat = _flatten(raw, mapping)
    number = {
        name: parse_numbers(flat[name]).fill_nan(None)
        for name in ("lat", "lon", "speed_kmh", "battery_pct", "hdop")
    }
    frame = flat.with_columns(
        pl.col("vehicle_id").str.strip_chars(),
        parse_datetimes(flat["observed_at"], timezone).alias("_at"),
        number["lat"].alias("_lat"),
        number["lon"].alias("_lon"),
        (number["speed_kmh"] * _SPEED_FACTOR[mapping.speed_unit]).alias("_speed"),
        (number["battery_pct"] * _BATTERY_FACTOR[mapping.battery_unit]).alias("_battery"),
        _lock_state(pl.col("is_locked")).alias("_locked"),
        number["hdop"].alias("_hdop"),
    )
    present = _checks.text_present
    lat, lon = pl.col("_lat"), pl.col("_lon")

    def unparseable(name: str, parsed: str) -> pl.Expr:
        return present(name) & pl.col(parsed).is_null()

    json_name = mapping.json_column or "json"
    checks: list[_checks.Check] = [
        (~present("vehicle_id"), "missing vehicle id"),
        (~present("observed_at"), "missing time"),
        (unparseable("observed_at", "_at"), "unparseable time"),
        (pl.col("_at") > latest, "time in the future"),
        (unparseable("lat", "_lat") | unparseable("lon", "_lon"), "unparseable coordinates"),
        (lat.is_null() != lon.is_null(), "only one of lat and lon"),
        ((lat.abs() > 90) | (lon.abs() > 180), "coordinates outside the world"),
        (unparseable("speed_kmh", "_speed"), "unparseable speed"),
        ((pl.col("_speed") < 0) | (pl.col("_speed") > _MAX_SPEED_KMH), "absurd speed"),
        (unparseable("battery_pct", "_battery"), "unparseable battery"),
        (~pl.col("_battery").is_between(0, 100), "battery outside 0-100 %"),
        (unparseable("is_locked", "_locked"), "unparseable lock state"),
        (unparseable("hdop", "_hdop"), "unparseable hdop"),
        (pl.col("_hdop") < 0, "negative hdop"),
        (pl.col("_bad_json"), f"unreadable JSON in {json_name}"),
    ]
    split = _checks.split_rows(
        frame,
        checks,
        unique=("vehicle_id", "_at"),
        duplicate_reason="another reading of this vehicle at the same time in this batch",
    )
    rows = split.accepted.select(
        pl.lit(system_id).alias("system_id"),
        "vehicle_id",
        pl.col("_at").alias("observed_at"),
        pl.col("_lat").alias("lat"),
        pl.col("_lon").alias("lon"),
        pl.col("_speed").alias("speed_kmh"),
        pl.col("_battery").alias("battery_pct"),
        pl.col("_locked").alias("is_locked"),
        pl.col("_hdop").alias("hdop"),
        "extra",
        pl.col("_at").dt.convert_time_zone(timezone).dt.date().alias("date"),
        pl.col("vehicle_type").str.strip_chars(),
    )
    rejected = _checks.with_records(split.rejected, raw)
    return CheckedTelemetry(
        accepted=conform(rows, {**TELEMETRY, "vehicle_type": pl.String()}),
        rejected=rejected,
        rows_read=raw.height,
        reasons=count_reasons(rejected),
    )


def vehicle_states(telemetry: pl.DataFrame, *, zoning: Zoning | None = None) -> pl.DataFrame:
    """The newest state per vehicle from checked telemetry, as db vehicle_status rows.

    The position is the newest reading that has one; battery, lock and type are the newest
    known at that reading. An unlocked vehicle is in a rider's hands, so ``is_reserved`` is
    ``not is_locked`` (an unknown lock counts as locked); telemetry says nothing of repairs,
    so ``is_disabled`` is false. Vehicles with no position in the input are left out.
    """
    ordered = telemetry.sort("vehicle_id", "observed_at").with_columns(
        pl.col(c).forward_fill().over("vehicle_id")
        for c in ("battery_pct", "is_locked", "vehicle_type")
    )
    newest = ordered.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null()).unique(
        subset="vehicle_id", keep="last", maintain_order=True
    )
    states = newest.select(
        "vehicle_id",
        "observed_at",
        "lat",
        "lon",
        pl.lit(None, pl.String).alias("zone_id"),
        "battery_pct",
        (pl.col("is_locked") == pl.lit(False)).fill_null(False).alias("is_reserved"),
        pl.lit(False).alias("is_disabled"),
        "vehicle_type",
    )
    if zoning is not None and not states.is_empty():
        states = zoning.assign(states.drop("zone_id"), lat="lat", lon="lon", out="zone_id")
    return states
