"""API keys: shown once, stored hashed, verified in constant time, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fleetcast.store import Store
from fleetcast.store.keys import UnknownKeyError, create_key, list_keys, revoke_key, verify_key
from fleetcast.store.tables import ApiKey


def test_a_key_is_stored_only_as_a_hash(store: Store) -> None:
    """The secret part of the key appears nowhere in the table."""
    with store.begin() as conn:
        info, key = create_key(conn, "depot tool")
    secret = key.split("_", 2)[2]
    with store.connect() as conn:
        rows = conn.execute(select(ApiKey.__table__)).mappings().all()
    assert len(rows) == 1
    assert all(secret not in str(v) for v in rows[0].values())
    assert rows[0]["key_id"] == info.key_id


def test_verify_accepts_the_key_and_refuses_variants(store: Store) -> None:
    """Only the exact key verifies; a revoked key no longer does."""
    with store.begin() as conn:
        info, key = create_key(conn, "rider app")
    with store.connect() as conn:
        assert verify_key(conn, key) == info
        assert verify_key(conn, key + "x") is None
        assert verify_key(conn, key.replace("fc_", "xx_")) is None
        assert verify_key(conn, "") is None
    with store.begin() as conn:
        revoked = revoke_key(conn, info.key_id)
    assert not revoked.active
    with store.connect() as conn:
        assert verify_key(conn, key) is None
        assert [k.active for k in list_keys(conn)] == [False]


def test_revoking_an_unknown_key_says_how_to_list(store: Store) -> None:
    """An unknown id is a clear error."""
    with store.begin() as conn, pytest.raises(UnknownKeyError, match="apikey list"):
        revoke_key(conn, "nope")


@pytest.mark.parametrize("name", ["", "   ", "x" * 200])
def test_a_key_needs_a_sensible_name(store: Store, name: str) -> None:
    """Empty or overlong names are refused."""
    with store.begin() as conn, pytest.raises(ValueError, match="name"):
        create_key(conn, name)
