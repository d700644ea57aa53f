"""Write endpoints need a valid, unrevoked X-API-Key; reads are open unless closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fleetcast.api import create_app
from fleetcast.api.options import ApiOptions
from fleetcast.store import Store
from fleetcast.store.keys import create_key, revoke_key

RUN = {"system": "demo", "horizon": 3}


@pytest.fixture
def strict_client(served_store: Store) -> Iterator[TestClient]:
    """A client whose app trusts no key from memory, so revocation is immediate."""
    options = ApiOptions(key_cache_seconds=0)
    with TestClient(create_app(served_store.settings, options=options)) as c:
        yield c


def _key(store: Store, name: str = "tests") -> tuple[str, str]:
    with store.begin() as conn:
        info, key = create_key(conn, name)
    return info.key_id, key


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "   "}])
def test_no_key_is_401_with_what_to_do(strict_client: TestClient, headers: dict[str, str]) -> None:
    """Without a key (or a blank one) the write is refused and told how to get a key."""
    response = strict_client.post("/forecasts", json=RUN, headers=headers)
    assert response.status_code == 401
    assert "fleetcast apikey create" in response.json()["detail"]


@pytest.mark.parametrize("key", ["wrong", "fc_000000000000_nope", "fc__", "fc_a_b_c", "x" * 500])
def test_wrong_keys_are_403(strict_client: TestClient, key: str) -> None:
    """Malformed, unknown or wrong-secret keys are all refused alike."""
    response = strict_client.post("/forecasts", json=RUN, headers={"X-API-Key": key})
    assert response.status_code == 403


def test_wrong_secret_of_a_real_key_id_is_403(
    strict_client: TestClient, served_store: Store
) -> None:
    """Knowing a key id is not enough."""
    key_id, _ = _key(served_store)
    response = strict_client.post(
        "/forecasts", json=RUN, headers={"X-API-Key": f"fc_{key_id}_guess"}
    )
    assert response.status_code == 403


def test_a_valid_key_writes_and_a_revoked_one_no_longer_does(
    strict_client: TestClient, served_store: Store
) -> None:
    """The key issues forecasts (and the cache follows); after revocation it is refused."""
    key_id, key = _key(served_store)
    response = strict_client.post("/forecasts", json=RUN, headers={"X-API-Key": key})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["rows"] > 0 and body["horizon"] == 3
    with served_store.begin() as conn:
        revoke_key(conn, key_id)
    again = strict_client.post("/forecasts", json=RUN, headers={"X-API-Key": key})
    assert again.status_code == 403


def test_write_validation_names_the_field(strict_client: TestClient, served_store: Store) -> None:
    """A keyed write with a bad horizon or an unknown system is a 4xx naming it."""
    _, key = _key(served_store)
    headers = {"X-API-Key": key}
    bad = strict_client.post("/forecasts", json={"system": "demo", "horizon": 99}, headers=headers)
    assert bad.status_code == 422 and "horizon" in str(bad.json()["detail"])
    unknown = strict_client.post("/forecasts", json={"system": "nope"}, headers=headers)
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    for day in ("2199-01-01", "1900-01-01"):
        late = strict_client.post(
            "/forecasts", json={"system": "demo", "issued_on": day}, headers=headers
        )
        assert late.status_code == 422 and "issue dates run from" in late.json()["detail"]


def test_reads_are_open_by_default(client: TestClient) -> None:
    """Reads answer without a key by default."""
    assert client.get("/systems").status_code == 200


def test_closed_reads_need_a_key(served_store: Store) -> None:
    """With open_reads off, reads need a key too; /health and /metrics stay open."""
    _, key = _key(served_store)
    with TestClient(create_app(served_store.settings, options=ApiOptions(open_reads=False))) as c:
        assert c.get("/systems").status_code == 401
        assert c.post("/predict", json={"zone_id": "Z001", "date": "2026-11-01"}).status_code == 401
        assert c.get("/systems", headers={"X-API-Key": key}).status_code == 200
        assert c.get("/health").status_code == 200
        assert c.get("/metrics").status_code == 200
