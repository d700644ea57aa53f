"""API keys: created with a random secret shown once, stored as its SHA-256, checked in
constant time, revoked by id. A key reads ``fc_<key_id>_<secret>``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from fleetcast.errors import FleetcastError
from fleetcast.store.tables import ApiKey

PREFIX = "fc"
_INFO = (ApiKey.key_id, ApiKey.name, ApiKey.created_at, ApiKey.revoked_at)
_MAX_NAME = 128


class UnknownKeyError(FleetcastError, LookupError):
    """No API key has this id."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a key without its secret."""

    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, name: str) -> tuple[KeyInfo, str]:
    """A new key named ``name``; returns its info and the full key, which is never stored."""
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise ValueError(f"a key needs a name of 1..{_MAX_NAME} characters")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    info = KeyInfo(key_id, name, datetime.now(UTC), None)
    conn.execute(
        insert(ApiKey),
        [
            {
                "key_id": key_id,
                "name": name,
                "secret_sha256": _digest(secret),
                "created_at": info.created_at,
                "revoked_at": None,
            }
        ],
    )
    return info, f"{PREFIX}_{key_id}_{secret}"


def list_keys(conn: Connection) -> list[KeyInfo]:
    """Every key, oldest first, revoked ones included."""
    rows = conn.execute(select(*_INFO).order_by(ApiKey.created_at))
    return [KeyInfo(*row) for row in rows]


def revoke_key(conn: Connection, key_id: str) -> KeyInfo:
    """Revoke a key by id (revoking twice keeps the first time); UnknownKeyError if absent."""
    conn.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    row = conn.execute(select(*_INFO).where(ApiKey.key_id == key_id)).first()
    if row is None:
        raise UnknownKeyError(f"no API key has id {key_id!r}: 'fleetcast apikey list' shows them")
    return KeyInfo(*row)


def verify_key(conn: Connection, presented: str) -> KeyInfo | None:
    """The active key that ``presented`` is, or None (malformed, unknown, wrong or revoked)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    row = conn.execute(
        select(*_INFO, ApiKey.secret_sha256).where(ApiKey.key_id == parts[1])
    ).first()
    if row is None or not hmac.compare_digest(row[4], _digest(parts[2])):
        return None
    info = KeyInfo(*row[:4])
    return info if info.active else None
