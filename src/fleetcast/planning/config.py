"""Every planning parameter in one object, loadable from the ``[planning]`` table of
fleetcast.toml, with per-system overrides under ``[planning.systems.<system_id>]``.

```toml
[planning]
trucks = 3               # trucks when no [[planning.truck]] is listed
capacity = 30            # vehicles per truck
[planning.routing]
time_limit_s = 30        # routing time budget
[planning.targets]
shortage_cost = 3.0      # a rider who finds no vehicle
idle_cost = 1.0          # a vehicle that stands idle all day
[[planning.truck]]       # optional: the real fleet of trucks
truck_id = "T1"
capacity = 40
depot_id = "D1"
start_load = 10
[planning.systems.demo.targets]
shortage_cost = 4.0
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from fleetcast.planning.assign import AssignParams
from fleetcast.planning.moves import MoveParams
from fleetcast.planning.parkings import ParkingSuggestionParams
from fleetcast.planning.routing import RoutingParams, Truck
from fleetcast.planning.targets import TargetParams
from fleetcast.planning.tasks import TaskParams

_SECTIONS: Final = ("targets", "moves", "routing", "tasks", "assign", "parkings")


@dataclass(frozen=True, slots=True)
class FleetParams:
    """The trucks a plan may use when none are listed, and how travel is costed."""

    trucks: int = 2
    capacity: int = 30
    start_load: int = 0
    shift_minutes: int = 480
    detour_factor: float = 1.3
    speed_kmh: float = 25.0
    min_battery_pct: float = 20.0
    matrix_file: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.trucks <= 200:
            problems.append(f"trucks={self.trucks} (allowed 1..200)")
        if not 1 <= self.capacity <= 1000:
            problems.append(f"capacity={self.capacity} (allowed 1..1000)")
        if not 0 <= self.start_load <= self.capacity:
            problems.append(f"start_load={self.start_load} (allowed 0..capacity)")
        if not 30 <= self.shift_minutes <= 24 * 60:
            problems.append(f"shift_minutes={self.shift_minutes} (allowed 30..1440)")
        if not 1.0 <= self.detour_factor <= 3.0:
            problems.append(f"detour_factor={self.detour_factor} (allowed 1.0..3.0)")
        if not 1.0 <= self.speed_kmh <= 120.0:
            problems.append(f"speed_kmh={self.speed_kmh} (allowed 1..120)")
        if not 0.0 <= self.min_battery_pct <= 100.0:
            problems.append(f"min_battery_pct={self.min_battery_pct} (allowed 0..100)")
        if problems:
            raise ValueError("planning parameters not understood: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class PlanConfig:
    """Parameters of every planning step; ``trucks`` is the explicit truck list, if any."""

    fleet: FleetParams = field(default_factory=FleetParams)
    targets: TargetParams = field(default_factory=TargetParams)
    moves: MoveParams = field(default_factory=MoveParams)
    routing: RoutingParams = field(default_factory=RoutingParams)
    tasks: TaskParams = field(default_factory=TaskParams)
    assign: AssignParams = field(default_factory=AssignParams)
    parkings: ParkingSuggestionParams = field(default_factory=ParkingSuggestionParams)
    trucks: tuple[Truck, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, system_id: str | None = None) -> PlanConfig:
        """Build from a ``[planning]`` table, applying ``systems.<system_id>`` over it."""
        merged = dict(data)
        systems = merged.pop("systems", {})
        if not isinstance(systems, Mapping):
            raise ValueError("[planning.systems] must be a table of per-system tables")
        if system_id is not None and system_id in systems:
            merged = _deep_merge(merged, systems[system_id])
        known_fleet = {f.name for f in fields(FleetParams)}
        unknown = set(merged) - known_fleet - set(_SECTIONS) - {"truck"}
        if unknown:
            raise ValueError(
                f"[planning] key(s) {sorted(unknown)} not understood; known keys are "
                f"{sorted(known_fleet | set(_SECTIONS) | {'truck', 'systems'})}"
            )
        fleet = FleetParams(**{k: v for k, v in merged.items() if k in known_fleet})
        trucks_raw = merged.get("truck", [])
        if not isinstance(trucks_raw, Sequence) or isinstance(trucks_raw, str):
            raise ValueError("[[planning.truck]] must be a list of tables")
        trucks = tuple(Truck(**dict(t)) for t in trucks_raw)
        sections: dict[str, Any] = {}
        for name, kind in (
            ("targets", TargetParams),
            ("moves", MoveParams),
            ("routing", RoutingParams),
            ("tasks", TaskParams),
            ("assign", AssignParams),
            ("parkings", ParkingSuggestionParams),
        ):
            table = merged.get(name, {})
            if not isinstance(table, Mapping):
                raise ValueError(f"[planning.{name}] must be a table")
            sections[name] = kind.from_mapping(table)
        return cls(fleet=fleet, trucks=trucks, **sections)

    def with_overrides(
        self,
        *,
        trucks: int | None = None,
        capacity: int | None = None,
        time_limit_s: float | None = None,
        matrix_file: Path | str | None = None,
    ) -> PlanConfig:
        """The same config with the command line's choices applied (they win over the file)."""
        fleet = self.fleet
        if trucks is not None or capacity is not None or matrix_file is not None:
            fleet = replace(
                fleet,
                trucks=fleet.trucks if trucks is None else trucks,
                capacity=fleet.capacity if capacity is None else capacity,
                matrix_file=fleet.matrix_file if matrix_file is None else str(matrix_file),
            )
        listed = self.trucks
        if trucks is not None or capacity is not None:
            listed = ()
        routing = self.routing
        if time_limit_s is not None:
            routing = replace(routing, time_limit_s=time_limit_s)
        return replace(self, fleet=fleet, trucks=listed, routing=routing)


def _deep_merge(base: Mapping[str, Any], over: Any) -> dict[str, Any]:
    if not isinstance(over, Mapping):
        raise ValueError("a [planning.systems.<id>] entry must be a table")
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
