"""Fixtures for the sync engine: a live emulator server, small warehouses, sync declarations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import requests

from destinations.config import DestinationInstance, SyncSpec
from destinations.emulators import EmulatorServer
from destinations.engine import EngineSettings

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
API_KEY = "pk_test_emulator"
# Fast retries and polling; the vendor's real limits scaled up so small tests stay quick.
FAST = EngineSettings(backoff_base=0.01, backoff_max=0.05, poll_interval=0.01, request_timeout=5, max_attempts=8)


@pytest.fixture(scope="session")
def emulator():
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def klaviyo(emulator, monkeypatch):
    """The Klaviyo emulator, emptied, faults off, limits scaled x100; env points Segue at it."""
    base = f"{emulator.url}/klaviyo"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    requests.post(f"{base}/__emulator__/faults", json=_no_faults(), timeout=5).raise_for_status()
    monkeypatch.setenv("KLAVIYO_BASE_URL", base)
    monkeypatch.setenv("KLAVIYO_API_KEY", API_KEY)
    return Klaviyo(base)


def _no_faults() -> dict:
    return {
        "error_rate": 0.0,
        "error_status": 503,
        "latency_ms": 0,
        "lost_response_rate": 0.0,
        "rate_limit_scale": 100.0,
        "retry_after": None,
        "seed": 1,
    }


class Klaviyo:
    def __init__(self, base: str):
        self.base = base

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        requests.post(f"{self.base}/__emulator__/faults", json=settings, timeout=5).raise_for_status()


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="klaviyo",
        type="klaviyo",
        base_url_env="KLAVIYO_BASE_URL",
        credentials={"api_key": "KLAVIYO_API_KEY"},
        rate_limit_scale=scale,
    )


PROFILE_COLUMNS = ["customer_id", "email", "phone", "first_name", "tier"]


def profiles_spec(mode: str = "upsert", batch_rows: int | None = None, **over) -> SyncSpec:
    body = dict(
        name="sync_klaviyo__test_profiles" if mode == "upsert" else "sync_klaviyo__test_list",
        relation="syncs.test_profiles",
        columns=PROFILE_COLUMNS,
        destination="klaviyo",
        mode=mode,
        primary_key="customer_id",
        mapping={
            "external_id": "customer_id",
            "email": "email",
            "phone_number": "phone",
            "first_name": "first_name",
            "properties.tier": "tier",
        },
        object="profiles" if mode == "upsert" else "list/LIST1",
        batch_rows=batch_rows,
    )
    body.update(over)
    return SyncSpec(**body)


ACTION_COLUMNS = [
    "action_id",
    "customer_key",
    "journey",
    "step",
    "channel",
    "destination",
    "decision",
    "suppression_reason",
    "scheduled_for",
    "to_address",
    "is_transactional",
]


def actions_spec(batch_rows: int | None = None) -> SyncSpec:
    return SyncSpec(
        name="sync_klaviyo__test_actions",
        relation="syncs.test_actions",
        columns=ACTION_COLUMNS,
        destination="klaviyo",
        mode="actions",
        primary_key="action_id",
        mapping={
            "unique_id": "action_id",
            "email": "to_address",
            "properties.journey": "journey",
            "properties.step": "step",
            "time": "scheduled_for",
        },
        object="event/Segue Journey Step",
        batch_rows=batch_rows,
    )


def write_profiles(warehouse: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists syncs")
        con.execute(
            "create or replace table syncs.test_profiles "
            "(customer_id varchar, email varchar, phone varchar, first_name varchar, tier varchar)"
        )
        if rows:
            con.executemany("insert into syncs.test_profiles values (?, ?, ?, ?, ?)", rows)
    finally:
        con.close()


def make_profiles(n: int, start: int = 0, tier: str = "gold") -> list[tuple]:
    return [(f"c{i:05d}", f"person{i}@example.com", None, f"Name{i}", tier) for i in range(start, start + n)]


def write_actions(warehouse: Path, rows: list[tuple], consents: list[tuple] | None = None) -> None:
    """A table with exactly the journey_actions columns (CONTRACT §3), plus staging consent tables."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists syncs")
        con.execute("create schema if not exists staging")
        con.execute(
            """create or replace table syncs.test_actions (
                action_id varchar, customer_key varchar, journey varchar, step varchar, channel varchar,
                destination varchar, decision varchar, suppression_reason varchar, scheduled_for timestamp,
                to_address varchar, is_transactional boolean)"""
        )
        if rows:
            con.executemany("insert into syncs.test_actions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            """create or replace table staging.stg_consent__consents (
                consent_id varchar, channel varchar, identifier_type varchar, identifier_value varchar,
                status varchar, is_opted_in boolean, consent_source varchar, recorded_at timestamp)"""
        )
        con.execute(
            """create or replace table staging.stg_esp__message_events (
                event_id varchar, message_id varchar, channel varchar, identifier_value varchar,
                event_name varchar, journey varchar, occurred_at timestamp)"""
        )
        if consents is None:
            consents = [(r[9], "email") for r in rows]
        if consents:
            con.executemany(
                "insert into staging.stg_consent__consents values "
                "(?, ?, ?, ?, 'opted_in', true, 'web', timestamp '2026-01-01')",
                [
                    (f"k{i}", channel, "phone" if channel == "sms" else "email", address)
                    for i, (address, channel) in enumerate(consents)
                ],
            )
    finally:
        con.close()


def make_actions(n: int, start: int = 0, scheduled_for: datetime = datetime(2026, 11, 20, 9, 0)) -> list[tuple]:
    return [
        (
            f"a{i:05d}",
            f"k{i}",
            "cart_abandonment",
            "reminder_1",
            "email",
            "klaviyo",
            "send",
            None,
            scheduled_for,
            f"person{i}@example.com",
            False,
        )
        for i in range(start, start + n)
    ]


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
