"""GBFS versions: what each major version names its fields and how it writes times, flags
and text. One module per major version (``v1``, ``v2``, ``v3``) pins its layout; readers
look fields up through a :class:`VersionSpec` and never hard-code a version's names."""

from __future__ import annotations

import re
from typing import Final

from fleetcast.sources.gbfs.versions._spec import VersionSpec
from fleetcast.sources.gbfs.versions.v1 import V1
from fleetcast.sources.gbfs.versions.v2 import V2
from fleetcast.sources.gbfs.versions.v3 import V3

SPECS: Final = (V1, V2, V3)
_MAJOR: Final = re.compile(r"^\s*(\d+)(?:\.(\d+))?")


def spec_for(version: str | None) -> tuple[VersionSpec, str | None]:
    """The layout for a feed's ``version`` field, and a warning when it had to be guessed.

    A feed without ``version`` is 1.0 (the field was added in 1.1). A version newer than
    fleetcast knows is read with the newest layout of its major version, or 3.0's.
    """
    if version is None:
        return V1, None
    text = str(version)
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    for spec in SPECS:
        if text in spec.versions:
            return spec, None
    match = _MAJOR.match(text)
    if match is None:
        return V3, f"version {shown} not understood: read as {V3.newest}"
    major = int(match.group(1))
    spec = next((s for s in SPECS if s.major == major), V3 if major > V3.major else V1)
    return spec, f"version {shown} is not one fleetcast knows: read as {spec.newest}"


__all__ = ["SPECS", "V1", "V2", "V3", "VersionSpec", "spec_for"]
