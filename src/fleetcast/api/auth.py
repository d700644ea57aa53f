"""API-key checks: write endpoints always need a valid ``X-API-Key``; read endpoints only
when ``open_reads`` is off. Valid keys are remembered briefly so reads stay off the db."""

from __future__ import annotations

import hashlib
import threading
from time import monotonic

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from fleetcast.api.options import ApiOptions
from fleetcast.store import Store
from fleetcast.store.keys import verify_key

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A key from 'fleetcast apikey create NAME'. Needed by every endpoint that "
    "changes state, and by reads when [api] open_reads is false.",
)


class KeyChecker:
    """Checks presented keys against the db, trusting a valid one for ``ttl`` seconds."""

    def __init__(self, store: Store, options: ApiOptions) -> None:
        self.store = store
        self.options = options
        self._valid: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, presented: str | None) -> None:
        """Return when the key is valid; 401 when missing, 403 when wrong or revoked."""
        if not presented or not presented.strip():
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="this endpoint needs an API key in the X-API-Key header: create one "
                "with 'fleetcast apikey create NAME'",
                headers={"WWW-Authenticate": "APIKey"},
            )
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()
        now = monotonic()
        with self._lock:
            expires = self._valid.get(digest)
        if expires is not None and expires > now:
            return
        with self.store.connect() as conn:
            info = verify_key(conn, presented)
        if info is None:
            with self._lock:
                self._valid.pop(digest, None)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail="the X-API-Key is not valid or has been revoked",
            )
        if self.options.key_cache_seconds > 0:
            with self._lock:
                self._valid[digest] = now + self.options.key_cache_seconds


def _checker(request: Request) -> KeyChecker:
    checker: KeyChecker = request.app.state.keys
    return checker


def require_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    """Dependency of write endpoints."""
    _checker(request).check(key)


def require_read(request: Request, key: str | None = Security(api_key_header)) -> None:
    """Dependency of read endpoints: open unless the options close reads."""
    checker = _checker(request)
    if not checker.options.open_reads:
        checker.check(key)
