"""system_information and vehicle_types: who runs the system, where (its timezone), and what
each ``vehicle_type_id`` is (form factor, propulsion, full range)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fleetcast.domain import VehicleKind, check_timezone
from fleetcast.errors import SchemaError
from fleetcast.sources.gbfs.documents import FeedDocument
from fleetcast.sources.gbfs.values import Notes, Values, json_type
from fleetcast.sources.gbfs.versions.v3 import pick_text

BICYCLES: Final = frozenset({"bicycle", "cargo_bicycle"})
SCOOTERS: Final = frozenset({"scooter", "scooter_standing", "scooter_seated", "moped"})
MOTORS: Final = frozenset({"electric_assist", "electric"})
SYSTEM_NAME_LENGTH: Final = 200
"""The db's system name column holds 200 characters; a longer name (which only describes
the system) is cut, with a warning."""


@dataclass(frozen=True, slots=True)
class SystemDetails:
    """What system_information says: the publisher's id, the display name and timezone."""

    gbfs_system_id: str | None
    name: str | None
    timezone: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VehicleType:
    """One entry of vehicle_types.json."""

    vehicle_type_id: str
    form_factor: str | None
    propulsion_type: str | None
    max_range_m: float | None

    @property
    def is_ebike(self) -> bool:
        """A bicycle with a motor (counted in a station's e-bikes)."""
        return self.form_factor in BICYCLES and self.propulsion_type in MOTORS

    @property
    def kind(self) -> VehicleKind | None:
        """The fleetcast kind of system such vehicles make."""
        if self.form_factor in BICYCLES:
            return VehicleKind.BIKE
        if self.form_factor in SCOOTERS:
            return VehicleKind.SCOOTER
        if self.form_factor == "car":
            return VehicleKind.CAR
        return None


def localized(
    value: Any, field: str, doc: FeedDocument, language: str | None, notes: Notes
) -> str | None:
    """A text field: a plain string before 3.0, a list of translations in 3.0 (the other
    shape is read too, and noted). Any other value (an object, a number) is left empty and
    noted, so that a name that vanished is reported rather than silently null."""
    if isinstance(value, list):
        if not doc.spec.localized_text:
            notes.add(f"{field} given as translations in a {doc.spec.major}.x feed", "read as such")
        return pick_text(value, language)
    if isinstance(value, str):
        if doc.spec.localized_text:
            notes.add(f"{field} given as plain text in a 3.0 feed", "read as such")
        return value.strip() or None
    if value is not None:
        notes.add(f"{field} given as a JSON {json_type(value)}", "left empty")
    return None


def read_system_information(doc: FeedDocument, *, language: str | None = None) -> SystemDetails:
    """The system's id, name (in ``language`` when translated) and IANA timezone."""
    notes = Notes()
    values = Values(doc.spec, notes)
    data = doc.data
    warnings: list[str] = []
    name = localized(data.get("name"), "name", doc, language, notes)
    if name is not None and len(name) > SYSTEM_NAME_LENGTH:
        notes.add(f"name longer than {SYSTEM_NAME_LENGTH} characters", "cut")
        name = name[:SYSTEM_NAME_LENGTH]
    timezone = data.get("timezone")
    if timezone is not None:
        try:
            timezone = check_timezone(str(timezone))
        except SchemaError:
            warnings.append(f"timezone {timezone!r} is not an IANA name: ignored")
            timezone = None
    values.start()
    system_id = values.text(data.get("system_id"), "system_id")
    return SystemDetails(
        gbfs_system_id=system_id,
        name=name,
        timezone=timezone,
        warnings=tuple(list(doc.warnings) + notes.warnings() + warnings),
    )


def read_vehicle_types(doc: FeedDocument) -> tuple[dict[str, VehicleType], list[str]]:
    """Vehicle types by id, and the warnings of reading them (entries without an id or
    with an unreadable range are skipped and counted)."""
    notes = Notes()
    values = Values(doc.spec, notes)
    records, _ = doc.records("vehicle_types")
    types: dict[str, VehicleType] = {}
    skipped = 0
    for record in records:
        values.start()
        if not isinstance(record, dict):
            skipped += 1
            continue
        type_id = values.text(record.get("vehicle_type_id"), "vehicle_type_id", required=True)
        max_range = values.number(record.get("max_range_meters"), "max_range_meters")
        if type_id is None or values.reasons:
            skipped += 1
            continue
        form = record.get("form_factor")
        propulsion = record.get("propulsion_type")
        types[type_id] = VehicleType(
            vehicle_type_id=type_id,
            form_factor=form if isinstance(form, str) else None,
            propulsion_type=propulsion if isinstance(propulsion, str) else None,
            max_range_m=max_range if max_range is not None and max_range > 0 else None,
        )
    warnings = list(doc.warnings) + notes.warnings()
    if skipped:
        warnings.append(f"{skipped} vehicle types without a usable id or range: skipped")
    return types, warnings
