"""The engine against the Klaviyo emulator over real HTTP: modes, state, safety, accounting."""

from datetime import datetime

import pytest
import requests

from destinations.base import ConfigError
from destinations.engine import run_sync
from tests.sync.conftest import (
    AS_OF,
    FAST,
    actions_spec,
    instance,
    make_actions,
    make_profiles,
    profiles_spec,
    query,
    write_actions,
    write_profiles,
)


def sync(spec, warehouse, **kw):
    return run_sync(spec, instance(), str(warehouse), AS_OF, settings=FAST, **kw)


def test_upsert_sends_only_what_changed_and_an_unchanged_rerun_sends_nothing(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = make_profiles(30)
    write_profiles(warehouse, rows)
    first = sync(profiles_spec(batch_rows=10), warehouse)
    assert (first.status, first.added, first.sent, first.succeeded) == ("succeeded", 30, 30, 30)
    held = {p["external_id"]: p for p in klaviyo.state()["profiles"]}
    assert set(held) == {r[0] for r in rows}
    assert held["c00007"]["email"] == "person7@example.com" and held["c00007"]["properties"] == {"tier": "gold"}

    requests_before = sum(klaviyo.state()["requests"].values())
    second = sync(profiles_spec(batch_rows=10), warehouse)
    assert (second.sent, second.unchanged, second.requests) == (0, 30, 0)
    assert sum(klaviyo.state()["requests"].values()) == requests_before

    rows[4] = ("c00004", "person4@example.com", None, "Renamed", "gold")
    write_profiles(warehouse, rows[:-1])  # c00029 departs: an upsert leaves it alone
    third = sync(profiles_spec(batch_rows=10), warehouse)
    assert (third.changed, third.sent, third.skipped) == (1, 1, 1)
    assert {p["external_id"]: p for p in klaviyo.state()["profiles"]}["c00004"]["first_name"] == "Renamed"
    runs = query(warehouse, "select status, sent, succeeded from segue.sync_runs order by started_at")
    assert runs == [("succeeded", 30, 30), ("succeeded", 0, 0), ("succeeded", 1, 1)]


def test_rejected_rows_are_recorded_and_not_resent_until_they_change(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = make_profiles(5)
    rows[2] = ("c00002", "not-an-email", None, "Bad", "gold")
    write_profiles(warehouse, rows)
    first = sync(profiles_spec(), warehouse)
    assert (first.succeeded, first.rejected) == (4, 1)
    rejection = query(warehouse, "select record_key, error_code, error_message, attempts from segue.sync_rejections")
    assert rejection == [("c00002", "invalid", "Invalid email address 'not-an-email'.", 1)]
    assert query(warehouse, "select count(*) from segue.sync_snapshots")[0][0] == 4  # only confirmed rows
    again = sync(profiles_spec(), warehouse)
    assert (again.sent, again.skipped) == (0, 1)
    rows[2] = ("c00002", "fixed@example.com", None, "Bad", "gold")
    write_profiles(warehouse, rows)
    fixed = sync(profiles_spec(), warehouse)
    assert (fixed.added, fixed.succeeded) == (1, 1)
    assert query(warehouse, "select count(*) from segue.sync_rejections")[0][0] == 0


def test_mirror_removes_only_members_segue_added(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(10))
    assert sync(profiles_spec(mode="mirror"), warehouse).succeeded == 10
    # Someone else adds a profile to the same list in Klaviyo.
    base = klaviyo.base
    headers = {
        "Authorization": "Klaviyo-API-Key k",
        "revision": "2026-07-15",
        "Content-Type": "application/vnd.api+json",
    }
    body = {
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": {
                "profiles": {
                    "data": [
                        {"type": "profile", "attributes": {"email": "theirs@example.com", "external_id": "theirs"}}
                    ]
                }
            },
            "relationships": {"lists": {"data": [{"type": "list", "id": "LIST1"}]}},
        }
    }
    requests.post(f"{base}/api/profile-bulk-import-jobs", json=body, headers=headers, timeout=5).raise_for_status()
    write_profiles(warehouse, make_profiles(9))  # c00009 leaves the model
    result = sync(profiles_spec(mode="mirror"), warehouse)
    assert (result.removed, result.succeeded) == (1, 1)
    state = klaviyo.state()
    ids = {p["id"]: p["external_id"] for p in state["profiles"]}
    members = {ids[pid] for pid in state["lists"]["LIST1"]}
    assert members == {f"c{i:05d}" for i in range(9)} | {"theirs"}
    assert query(warehouse, "select count(*) from segue.sync_snapshots")[0][0] == 9


def test_circuit_breaker_blocks_and_force_pushes_through(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(10))
    sync(profiles_spec(mode="mirror"), warehouse)
    write_profiles(warehouse, make_profiles(7))  # 30% would leave the list
    blocked = sync(profiles_spec(mode="mirror"), warehouse)
    assert blocked.status == "blocked" and blocked.sent == 0
    assert (
        "remove 30% of the 10 rows" in blocked.blocked_reason
        and "--force sync_klaviyo__test_list" in blocked.blocked_reason
    )
    assert len(klaviyo.state()["lists"]["LIST1"]) == 10
    forced = sync(profiles_spec(mode="mirror"), warehouse, force=True)
    assert (forced.status, forced.succeeded) == ("succeeded", 3)

    write_profiles(warehouse, make_profiles(10))
    sync(profiles_spec(), warehouse)
    write_profiles(warehouse, make_profiles(10, tier="silver"))  # every row changes
    upsert = sync(profiles_spec(), warehouse)
    assert upsert.status == "blocked" and "change 100% of the 10 rows" in upsert.blocked_reason
    status = query(warehouse, "select status, blocked_reason is not null from segue.sync_runs where status = 'blocked'")
    assert status == [("blocked", True), ("blocked", True)]


def test_first_sync_is_never_blocked_and_dry_run_sends_nothing(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(10))
    dry = sync(profiles_spec(), warehouse, dry_run=True)
    assert (dry.status, dry.added, dry.sent) == ("dry_run", 10, 0)
    assert klaviyo.state()["requests"] == {}
    assert query(warehouse, "select count(*) from segue.sync_snapshots")[0][0] == 0


def test_missing_credential_is_refused_before_any_request(klaviyo, tmp_path, monkeypatch):
    monkeypatch.delenv("KLAVIYO_API_KEY")
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(3))
    with pytest.raises(ConfigError, match="missing credential, set KLAVIYO_API_KEY"):
        sync(profiles_spec(), warehouse)
    assert klaviyo.state()["requests"] == {}


def test_model_missing_a_declared_column_is_refused(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(3))
    spec = profiles_spec(
        columns=[*profiles_spec().columns, "city"], mapping={"external_id": "customer_id", "location.city": "city"}
    )
    with pytest.raises(ConfigError, match=r"columns \['city'\] are declared but missing from syncs.test_profiles"):
        sync(spec, warehouse)
    assert klaviyo.state()["requests"] == {}


def test_actions_are_delivered_once_future_ones_wait_and_consent_is_rechecked(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    due = make_actions(12)
    future = make_actions(3, start=100, scheduled_for=datetime(2026, 11, 21, 9))
    consents = [(f"person{i}@example.com", "email") for i in [*range(10), 100, 101, 102]]  # 10 and 11 lack consent
    write_actions(warehouse, due + future, consents)
    first = sync(actions_spec(), warehouse)
    assert (first.sent, first.succeeded, first.waiting, first.skipped) == (10, 10, 3, 2)
    messages = klaviyo.state()["messages"]
    assert sorted(m["action_id"] for m in messages) == [f"a{i:05d}" for i in range(10)]
    assert {m["to"] for m in messages} == {f"person{i}@example.com" for i in range(10)}
    deliveries = dict(query(warehouse, "select action_id, status from segue.action_deliveries"))
    assert deliveries["a00003"] == "delivered" and deliveries["a00010"] == "rejected"
    assert "a00100" not in deliveries  # waits: never attempted yet
    reason = query(warehouse, "select last_error from segue.action_deliveries where action_id = 'a00011'")[0][0]
    assert reason.startswith("no_consent")

    again = sync(actions_spec(), warehouse)
    assert (again.sent, again.requests) == (0, 0)
    later = run_sync(actions_spec(), instance(), str(warehouse), datetime(2026, 11, 21, 10), settings=FAST)
    assert (later.sent, later.succeeded) == (3, 3)
    assert len(klaviyo.state()["messages"]) == 13
    columns = [
        r[0]
        for r in query(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = 'segue' and table_name = 'action_deliveries'",
        )
    ]
    assert {"action_id", "destination", "status", "attempts", "last_error", "delivered_at"} <= set(columns)
