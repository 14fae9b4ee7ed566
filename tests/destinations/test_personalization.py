"""The personalization API: one answer shape per identifier type, 404/401, WAL, re-sync and removal.

The engine writes through the emulator mount (`segue emulators` serves the real service under
/personalization); the keys and 401s are checked on the service as `segue personalization serve`
builds it. The last test reads the store the full build (`built_retailer`) wrote.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests

from destinations.engine import run_sync
from destinations.personalization.service import ProfileStore, create_app
from tests.conftest import personalization_store
from tests.destinations.cases.personalization import API_KEY, instance
from tests.sync.conftest import AS_OF, FAST, query

COLUMNS = [
    "customer_key",
    "identifier_emails",
    "identifier_phones",
    "identifier_customer_ids",
    "identifier_loyalty_ids",
    "identifier_anonymous_ids",
    "segments",
    "loyalty_tier",
    "points_balance",
    "next_action_id",
    "next_action_products",
]
MAPPING = {
    "customer_key": "customer_key",
    "identifiers.email": "identifier_emails",
    "identifiers.phone": "identifier_phones",
    "identifiers.customer_id": "identifier_customer_ids",
    "identifiers.loyalty_id": "identifier_loyalty_ids",
    "identifiers.anonymous_id": "identifier_anonymous_ids",
    "segments": "segments",
    "loyalty.tier": "loyalty_tier",
    "loyalty.points": "points_balance",
    "next_action.action_id": "next_action_id",
    "next_action.products": "next_action_products",
}
ANN = (
    "cus_ann",
    '["ann@example.com"]',
    '["+447700900123"]',
    '["C001"]',
    '["L001"]',
    '["5f0c-dev1ce"]',
    '["vip"]',
    "gold",
    1200,
    "act1",
    '[{"product_id":"P1","name":"Mug","price":9.5}]',
)
BOB = ("cus_bob", '["bob@example.com"]', "[]", '["C002"]', "[]", "[]", "[]", None, None, None, None)


def spec():
    from destinations.config import SyncSpec

    return SyncSpec(
        name="sync_personalization__test_documents",
        relation="syncs.test_documents",
        columns=COLUMNS,
        destination="personalization",
        mode="mirror",
        primary_key="customer_key",
        mapping=MAPPING,
        object="profiles",
    )


def write(warehouse: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists syncs")
        con.execute(
            "create or replace table syncs.test_documents ("
            + ", ".join(f"{c} {'integer' if c == 'points_balance' else 'varchar'}" for c in COLUMNS)
            + ")"
        )
        if rows:
            con.executemany(f"insert into syncs.test_documents values ({', '.join('?' * len(COLUMNS))})", rows)
    finally:
        con.close()


@pytest.fixture
def site(emulator, monkeypatch):
    base = f"{emulator.url}/personalization"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    requests.post(f"{base}/__emulator__/faults", json={"error_rate": 0.0, "lost_response_rate": 0.0}, timeout=5)
    monkeypatch.setenv("PERSONALIZATION_BASE_URL", base)
    monkeypatch.setenv("PERSONALIZATION_API_KEY", API_KEY)
    return base


def get(base: str, identifier_type: str, value: str, key: str | None = "any-key") -> requests.Response:
    headers = {"X-Api-Key": key} if key else {}
    return requests.get(f"{base}/v1/profiles/{identifier_type}/{value}", headers=headers, timeout=5)


def sync(warehouse: Path):
    result = run_sync(spec(), instance(), str(warehouse), AS_OF, settings=FAST)
    assert result.status == "succeeded", result.error
    return result


def test_every_identifier_type_gets_the_same_answer(site, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write(warehouse, [ANN, BOB])
    assert sync(warehouse).succeeded == 2
    # as a visitor's browser or the shop's backend would send them: case, spaces and all
    asks = {
        "email": " Ann@Example.COM",
        "phone": "+44 7700 900123",
        "customer_id": "C001",
        "loyalty_id": "L001",
        "device_id": "5F0C-DEV1CE",
    }
    answers = {}
    for identifier_type, value in asks.items():
        response = get(site, identifier_type, value)
        assert response.status_code == 200, (identifier_type, response.text)
        body = response.json()
        assert body["matched"]["identifier_type"] == identifier_type
        answers[identifier_type] = body["profile"]
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, "one customer, one document"
    profile = answers["email"]
    assert profile["customer_key"] == "cus_ann"
    assert profile["identifiers"]["anonymous_id"] == ["5f0c-dev1ce"]
    assert profile["segments"] == ["vip"] and profile["loyalty"] == {"tier": "gold", "points": 1200}
    assert profile["next_action"] == {
        "action_id": "act1",
        "products": [{"product_id": "P1", "name": "Mug", "price": 9.5}],
    }
    bob = get(site, "customer_id", "C002").json()["profile"]
    assert set(bob) == set(profile) and set(bob["identifiers"]) == set(profile["identifiers"]), "one shape for all"
    assert bob["loyalty"] == {"tier": None, "points": None} and bob["next_action"] is None and bob["segments"] == []
    assert bob["identifiers"]["phone"] == []


class Served:
    """The service exactly as `segue personalization serve` builds it, in a thread on a free port."""

    def __init__(self, app):
        import socket

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="critical"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_unknown_is_404_and_the_keys_are_required(tmp_path):
    store = ProfileStore(tmp_path / "p.sqlite3")
    with Served(create_app(store, "read-key", "write-key")) as base:
        body = {"profiles": [{"customer_key": "k1", "identifiers": {"email": ["a@b.co"]}}]}
        as_reader = requests.put(f"{base}/v1/profiles", json=body, headers={"X-Api-Key": "read-key"}, timeout=5)
        assert as_reader.status_code == 401, "the website's read key must not write"
        written = requests.put(f"{base}/v1/profiles", json=body, headers={"X-Api-Key": "write-key"}, timeout=5)
        assert written.json()["results"][0]["status"] == "ok"
        assert get(base, "email", "a@b.co", key="read-key").status_code == 200
        for key in (None, "", "write-key", "wrong"):
            missing = get(base, "email", "a@b.co", key=key)
            assert missing.status_code == 401 and "X-Api-Key header" in missing.json()["error"]["detail"]
        unknown = get(base, "email", "Nobody@Example.com", key="read-key")
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {
            "status": 404,
            "code": "profile_not_found",
            "detail": "No customer holds email 'nobody@example.com'.",
            "identifier_type": "email",
            "identifier_value": "nobody@example.com",
        }
        bad_type = get(base, "shoe_size", "42", key="read-key")
        assert bad_type.status_code == 400 and "device_id" in bad_type.json()["error"]["detail"]
    with Served(create_app(store, "read-key", None)) as base:
        assert requests.put(f"{base}/v1/profiles", json=body, headers={"X-Api-Key": "x"}, timeout=5).status_code in (
            404,
            405,
        ), "without a write key the service is read-only"


def test_the_store_runs_in_wal_mode_and_readers_never_wait_for_the_writer(tmp_path):
    path = tmp_path / "p.sqlite3"
    store = ProfileStore(path)
    assert store.journal_mode() == "wal"
    store.upsert([{"customer_key": "k1", "identifiers": {"customer_id": ["C1"]}}])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("begin immediate")  # holds the write lock, as a sync's batch does
    writer.execute("delete from profiles")
    started = time.perf_counter()
    assert store.lookup("customer_id", "C1")["customer_key"] == "k1", "a reader sees the last committed state"
    assert time.perf_counter() - started < 1.0
    writer.execute("rollback")
    writer.close()
    assert sqlite3.connect(path).execute("pragma journal_mode").fetchone()[0] == "wal", "WAL persists in the file"


def test_a_resync_updates_the_served_document_and_a_departed_customer_is_removed(site, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write(warehouse, [ANN, BOB])
    sync(warehouse)
    assert get(site, "loyalty_id", "L001").json()["profile"]["loyalty"]["tier"] == "gold"
    # Ann moves up a tier; her device now belongs to Bob (identity re-resolved); Bob gains nothing else.
    ann = (*ANN[:5], "[]", ANN[6], "platinum", 2500, None, None)
    bob = (*BOB[:5], '["5f0c-dev1ce"]', *BOB[6:])
    write(warehouse, [ann, bob])
    again = sync(warehouse)
    assert (again.changed, again.succeeded) == (2, 2)
    served = get(site, "email", "ann@example.com").json()["profile"]
    assert served["loyalty"] == {"tier": "platinum", "points": 2500} and served["next_action"] is None
    assert get(site, "device_id", "5f0c-dev1ce").json()["profile"]["customer_key"] == "cus_bob"
    # Bob leaves the model (mirror): his document and every identifier of his go.
    write(warehouse, [ann])
    removed = run_sync(spec(), instance(), str(warehouse), AS_OF, settings=FAST, force=True)  # 50% > 20% breaker
    assert (removed.status, removed.removed) == ("succeeded", 1)
    for identifier_type, value in (("customer_id", "C002"), ("email", "bob@example.com"), ("device_id", "5f0c-dev1ce")):
        assert get(site, identifier_type, value).status_code == 404, identifier_type
    state = requests.get(f"{site}/__emulator__/state", timeout=5).json()
    assert [p["id"] for p in state["profiles"]] == ["cus_ann"] and state["lists"] == {"vip": ["cus_ann"]}
    assert query(warehouse, "select count(*) from segue.sync_snapshots")[0][0] == 1


@pytest.mark.slow
def test_the_full_build_serves_every_customer_by_each_of_their_identifiers(built_retailer):
    warehouse, outcome = built_retailer
    assert "destinations/personalization/profiles" in outcome.materialized
    store = ProfileStore(personalization_store(built_retailer))
    modelled = query(warehouse, "select count(*) from syncs.sync_personalization__profiles")[0][0]
    assert store.count() == modelled > 0
    # one identifier of each type (the busiest customer's), looked up as the website would
    sample = query(
        warehouse,
        """select identifier_type, identifier_value, customer_key from (
               select *, row_number() over (
                   partition by identifier_type order by customer_identifier_count desc, identifier_value) as n
               from marts.customer_identifiers) where n = 1""",
    )
    assert {t for t, _, _ in sample} == {"email", "phone", "customer_id", "loyalty_id", "anonymous_id"}
    for identifier_type, value, customer_key in sample:
        document = store.lookup(identifier_type, value)
        assert document is not None and document["customer_key"] == customer_key, (identifier_type, value)
    with_action = query(
        warehouse,
        "select count(*) from syncs.sync_personalization__profiles where next_action_id is not null",
    )[0][0]
    served = {d["next_action"]["action_id"]: d["next_action"] for d in store.documents() if d["next_action"]}
    assert len(served) == with_action
    # each shown step's products: those of the step's payload in stock online at AS_OF, in the payload's order
    in_stock = {
        p
        for (p,) in query(
            warehouse,
            """select product_id from (
                   select product_id, is_in_stock,
                          row_number() over (partition by product_id order by recorded_at desc) as n
                   from staging.stg_catalog__inventory where is_online and recorded_at <= ?) as latest
               join staging.stg_catalog__products using (product_id)
               where n = 1 and is_in_stock and coalesce(is_active, true)""",
            [AS_OF],
        )
    }
    payloads = dict(
        query(
            warehouse,
            "select action_id, payload_product_ids from marts.journey_actions "
            "where channel = 'onsite' and decision = 'send'",
        )
    )
    for action_id, action in served.items():
        expected = [p for p in (payloads[action_id] or "").split(",") if p in in_stock]
        assert [p["product_id"] for p in action["products"]] == expected, action_id
    assert any(action["products"] for action in served.values()), "no shown step has a product in stock"
