"""JSON bytes encoded once with orjson, for answers served from memory."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSON(JSONResponse):
    """A JSON response encoded by orjson (dates as ISO strings)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` unless it already is bytes."""
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def encode(content: Any) -> bytes:
    """The JSON bytes of ``content``."""
    return orjson.dumps(content)
