"""The phone's position in the dashboard: a tiny bidirectional Streamlit component.

``frontend/index.html`` is plain HTML and JavaScript (no build step, nothing fetched from a
CDN). On its first render it asks ``navigator.geolocation`` once, shows what it got in one
line beside a "Locate me" button, and sends it back through the component protocol
(``streamlit:componentReady``, ``streamlit:setComponentValue``, ``streamlit:render``):
``{"status": "ok", "lat", "lon", "accuracy"}`` or ``{"status": "denied" | "unavailable" |
"timeout" | "unsupported" | "insecure", "message"}``. Every ``refresh_s`` seconds it asks
again and reports only when the phone moved by ``min_move_m`` or more, so a standing worker
does not rerun the page.

Browsers share a position only with secure pages: ``https://`` or ``localhost`` /
``127.0.0.1``. A phone opening the dashboard over plain ``http://`` on the LAN gets
``insecure``; the page then falls back to where the worker's shift starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

FRONTEND: Final = Path(__file__).resolve().with_name("frontend")
"""The folder that holds the component's ``index.html``."""

PROBLEMS: Final = ("denied", "unavailable", "timeout", "unsupported", "insecure")
"""Why the browser gave no position."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the phone is: WGS84 degrees and the browser's accuracy radius in metres."""

    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class NoPosition:
    """Why there is no position (one of :data:`PROBLEMS`, or ``waiting`` before the browser
    answered) and the browser's message."""

    reason: str
    message: str = ""


def parse(value: Any) -> Position | NoPosition:
    """What the component sent, checked: a position within WGS84 bounds, or why there is none
    (an unexpected payload is ``unavailable``, never an exception)."""
    if value is None:
        return NoPosition("waiting", "Waiting for the browser")
    if not isinstance(value, dict):
        return NoPosition("unavailable", "The browser sent no position")
    status = value.get("status")
    if status in PROBLEMS:
        return NoPosition(str(status), str(value.get("message") or status))
    if status != "ok":
        return NoPosition("unavailable", f"Unexpected answer {status!r}")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (KeyError, TypeError, ValueError):
        return NoPosition("unavailable", "The browser sent a position without coordinates")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return NoPosition("unavailable", f"({lat}, {lon}) is not a latitude/longitude")
    accuracy = value.get("accuracy")
    try:
        accuracy_m = float(accuracy) if accuracy is not None else None
    except (TypeError, ValueError):
        accuracy_m = None
    if accuracy_m is not None and not (math.isfinite(accuracy_m) and accuracy_m >= 0):
        accuracy_m = None
    return Position(lat, lon, accuracy_m)


def locate(
    key: str, *, label: str = "Locate me", refresh_s: float = 60.0, min_move_m: float = 25.0
) -> Position | NoPosition:
    """Draw the component (one line: its state and a button) and return the newest position
    the browser shared, or why there is none yet. Streamlit reruns the page when it changes."""
    import streamlit.components.v1 as components

    component = components.declare_component("geolocation", path=str(FRONTEND))
    value = component(
        label=label, refresh_s=float(refresh_s), min_move_m=float(min_move_m), key=key, default=None
    )
    return parse(value)


def my_position(key: str) -> Position | None:
    """The phone's position, or None while the browser has not shared one (blocked, not a
    secure page, no fix yet)."""
    found = locate(key)
    return found if isinstance(found, Position) else None
