"""What the GBFS source tests share: where the recorded files are, the fixed 'now' they were
written for, and a builder of small feed documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetcast.sources.gbfs import FeedDocument, open_document

DATA = Path(__file__).resolve().parents[2] / "data" / "gbfs"
V3 = DATA / "v3"
"""Hand-written GBFS 3.0 files (see its README)."""
BAD = DATA / "bad"
"""Hand-written 2.3 files with impossible records (see its README)."""
NOW = datetime(2025, 10, 18, 10, 0, tzinfo=UTC)
"""An hour after the hand-written files were published (2025-10-18T09:00Z / 09:10Z)."""
PUBLISHED = 1760778000
"""2025-10-18T09:00:00Z as POSIX seconds."""


def document(
    name: str, data: dict[str, Any], *, version: str | None = "2.3", **top: Any
) -> FeedDocument:
    """A feed document with ``data`` published at PUBLISHED (``top`` overrides the envelope)."""
    doc: dict[str, Any] = {"last_updated": PUBLISHED, "ttl": 60, "data": data, **top}
    if version is not None:
        doc["version"] = version
    return open_document(doc, name, f"https://gbfs.example.org/{name}.json", now=NOW)
