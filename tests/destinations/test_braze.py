"""Braze specifics: the 75-object and 4 MB limits, partial success in a 2xx, subscription groups,
deletion only where configured, campaign triggers carrying the action id, rate-limit headers."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import requests

from destinations.base import Op, Record
from destinations.braze.destination import (
    MAX_PAYLOAD_BYTES,
    SUBSCRIPTION_SET,
    USERS_TRACK,
    BrazeDestination,
)
from destinations.engine import _batches, run_sync
from destinations.ratelimit import RateLimiter
from destinations.registry import HttpTransport, _retry_after
from tests.destinations.cases import braze as case
from tests.sync.conftest import AS_OF, FAST, make_actions, make_profiles, write_actions, write_profiles

HEADERS = {"Authorization": "Bearer k", "Content-Type": "application/json"}


class Braze:
    def __init__(self, base: str):
        self.base = base

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        requests.post(f"{self.base}/__emulator__/faults", json=settings, timeout=5).raise_for_status()

    def post(self, path: str, body) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, headers=HEADERS, timeout=10)


@pytest.fixture
def braze(emulator, monkeypatch) -> Braze:
    base = f"{emulator.url}/braze"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    b = Braze(base)
    b.faults(error_rate=0.0, lost_response_rate=0.0, latency_ms=0, rate_limit_scale=100.0, retry_after=None, seed=1)
    for key, value in case.CASE.env(base).items():
        monkeypatch.setenv(key, value)
    return b


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    original = HttpTransport.request

    def record(self, endpoint, method, url, **kwargs):
        response = original(self, endpoint, method, url, **kwargs)
        calls.append((endpoint, kwargs, response))
        return response

    monkeypatch.setattr(HttpTransport, "request", record)
    return calls


def destination() -> BrazeDestination:
    instance = case.instance(100.0)
    limiter = RateLimiter("braze-test", BrazeDestination.capabilities.rate_limits, 100.0)
    return BrazeDestination(instance, HttpTransport(limiter, 10, {}))


def test_users_track_takes_at_most_75_objects_and_a_sync_keeps_to_it(braze, tmp_path, recorded):
    attribute = {"external_id": "x", "email": "x@example.com"}
    refused = braze.post("/users/track", {"attributes": [attribute] * 50, "events": [attribute] * 26})
    assert refused.status_code == 400 and "75" in refused.json()["message"]
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(160))
    result = run_sync(case.spec("upsert", None), case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert (result.status, result.succeeded, result.requests) == ("succeeded", 160, 3)
    assert sorted(braze.state()["track_batches"]) == [10, 75, 75]


def test_a_413_splits_the_batch_and_every_half_lands(braze):
    dest = destination()
    big = "x" * 100_000
    records = [Record(f"c{i}", {"external_id": f"c{i}", "custom.notes": big}) for i in range(60)]  # ~6 MB
    outcome = dest.deliver(Op.UPSERT, case.spec("upsert", None), records)
    assert sorted(outcome.confirmed) == sorted(r.key for r in records) and not outcome.rejected
    state = braze.state()
    assert state["requests"][USERS_TRACK] >= 3  # refused whole, then the halves
    assert sorted(state["track_batches"]) == [30, 30]
    # The engine's byte-bounded batching keeps below the limit in the first place.
    caps = BrazeDestination.capabilities
    batches = list(_batches(dest, Op.UPSERT, records, caps.max_batch_rows[Op.UPSERT], caps.max_batch_bytes[Op.UPSERT]))
    assert all(sum(dest.encoded_size(Op.UPSERT, r) for r in b) <= MAX_PAYLOAD_BYTES for b in batches)
    assert len(batches) == 2


def test_partial_success_rejects_only_the_objects_named_in_errors(braze):
    good = {"external_id": "a", "email": "a@example.com"}
    answer = braze.post(
        "/users/track", {"attributes": [good, {"external_id": "b", "email": "nope"}, {"first_name": "x"}]}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["message"] == "success" and body["attributes_processed"] == 1
    assert [(e["input_array"], e["index"]) for e in body["errors"]] == [("attributes", 1), ("attributes", 2)]
    nothing = braze.post("/users/track", {"attributes": [{"external_id": "c", "email": "bad"}]})
    assert nothing.status_code == 400 and nothing.json()["errors"][0]["index"] == 0
    records = [
        Record("k1", {"external_id": "k1", "email": "k1@example.com"}),
        Record("k2", {"external_id": "k2", "email": "broken"}),
        Record("k3", {"external_id": "k3", "email": "k3@example.com"}),
    ]
    outcome = destination().deliver(Op.UPSERT, case.spec("upsert", None), records)
    assert outcome.confirmed == ["k1", "k3"] and list(outcome.rejected) == ["k2"]
    assert "email" in outcome.rejected["k2"][1]


def test_subscription_groups_take_50_ids_and_never_mix_emails_and_phones(braze, tmp_path, recorded):
    def group(**ids):
        return {"subscription_groups": [{"subscription_group_id": "G", "subscription_state": "subscribed", **ids}]}

    assert braze.post("/v2/subscription/status/set", group(external_ids=[str(i) for i in range(51)])).status_code == 400
    mixed = group(emails=["a@example.com"], phones=["+14155550100"])
    assert braze.post("/v2/subscription/status/set", mixed).status_code == 400
    assert braze.post("/v2/subscription/status/set", group(emails=["a@example.com"])).status_code == 201

    warehouse = tmp_path / "w.duckdb"
    rows = make_profiles(120)
    write_profiles(warehouse, rows)
    spec = case.spec("mirror", None)
    assert run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST).succeeded == 120
    assert case.held(braze.state(), "mirror") == {r[0] for r in rows}
    write_profiles(warehouse, rows[20:])  # 20 of 120 leave: below the 20% removal threshold
    removed = run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert (removed.status, removed.removed, removed.succeeded) == ("succeeded", 20, 20)
    state = braze.state()
    assert case.held(state, "mirror") == {r[0] for r in rows[20:]}
    assert state["deleted"] == [], "unsubscribing from a group must not delete the user"
    bodies = [k["data"] for endpoint, k, _ in recorded if endpoint == SUBSCRIPTION_SET]
    assert len(bodies) == 4  # 50 + 50 + 20 subscribed, then 20 unsubscribed
    for body in map(requests.compat.json.loads, bodies):
        for g in body["subscription_groups"]:
            assert len(g["external_ids"]) <= 50 and not ("emails" in g and "phones" in g)


def test_users_are_deleted_only_by_a_mirror_of_users(braze, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = make_profiles(10)
    write_profiles(warehouse, rows)
    spec = case.spec("mirror", None).model_copy(update={"object": "users", "name": "sync_braze__test_users"})
    run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST)
    write_profiles(warehouse, rows[1:])
    result = run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert (result.removed, result.succeeded) == (1, 1)
    state = braze.state()
    assert state["deleted"] == ["c00000"]
    assert {p["external_id"] for p in state["profiles"]} == {r[0] for r in rows[1:]}


def test_campaign_triggers_carry_the_action_id_to_the_address(braze, tmp_path, recorded):
    warehouse = tmp_path / "w.duckdb"
    rows = make_actions(120)
    write_actions(warehouse, rows)
    result = run_sync(case.spec("actions", None), case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert (result.status, result.succeeded, result.requests) == ("succeeded", 120, 3)  # 50 recipients a request
    messages = braze.state()["messages"]
    assert {(m["action_id"], m["to"]) for m in messages} == {(r[0], r[9]) for r in rows}
    assert all(m["campaign_id"] == "CAMPAIGN1" and m["trigger_properties"]["journey"] for m in messages)


def test_event_actions_ride_on_users_track(braze, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_actions(warehouse, make_actions(5))
    spec = case.spec("actions", None).model_copy(
        update={
            "name": "sync_braze__test_events",
            "object": "event/segue_journey_step",
            "mapping": {"external_id": "customer_key", "time": "scheduled_for", "properties.action_id": "action_id"},
        }
    )
    assert not BrazeDestination.validate_spec(spec)
    braze.post(
        "/users/track", {"attributes": [{"external_id": f"k{i}", "email": f"p{i}@example.com"} for i in range(5)]}
    )
    result = run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert result.succeeded == 5
    assert sorted(m["action_id"] for m in braze.state()["messages"]) == [f"a{i:05d}" for i in range(5)]


def test_429_carries_rate_limit_headers_not_retry_after_and_the_engine_waits_for_the_reset(braze, tmp_path):
    braze.faults(rate_limit_scale=0.002)  # /users/track: 2 requests a second
    answers = [braze.post("/users/track", {"attributes": [{"external_id": "a"}]}) for _ in range(4)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, "the emulator should have throttled"
    headers = throttled[0].headers
    assert "Retry-After" not in headers and int(headers["X-RateLimit-Remaining"]) == 0
    reset = float(headers["X-RateLimit-Reset"])
    assert time.time() - 1 <= reset <= time.time() + 5
    assert 0 <= _retry_after(throttled[0]) <= 5
    braze.faults(rate_limit_scale=0.002)  # fresh buckets
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(10))
    # Backoff alone (at most 0.05 s, 8 attempts) would give up; waiting for X-RateLimit-Reset lands every row.
    settings = replace(FAST, backoff_max=0.05)
    result = run_sync(case.spec("upsert", 2), case.instance(), str(warehouse), AS_OF, settings=settings)
    assert (result.status, result.succeeded, result.failed) == ("succeeded", 10, 0)
    assert braze.state()["throttled_responses"] > 0


def test_retry_after_reads_the_documented_headers_in_order():
    class Answer:
        def __init__(self, headers):
            self.headers = requests.structures.CaseInsensitiveDict(headers)

    now = 1_800_000_000.0
    assert _retry_after(Answer({"Retry-After": "3", "X-RateLimit-Reset": str(now + 9)}), lambda: now) == 3
    assert _retry_after(Answer({"X-RateLimit-Retry-After": "4"}), lambda: now) == 4
    assert _retry_after(Answer({"X-RateLimit-Reset": str(int(now) + 7)}), lambda: now) == 7
    assert _retry_after(Answer({"X-RateLimit-Reset": "2"}), lambda: now) == 2  # seconds from now
    assert _retry_after(Answer({"X-RateLimit-Reset": str(now - 5)}), lambda: now) == 0
    assert _retry_after(Answer({}), lambda: now) is None


def test_declarations_name_the_wrong_field():
    upsert = case.spec("upsert", None)
    assert not BrazeDestination.validate_spec(upsert)
    bad = upsert.model_copy(update={"object": "list/X", "mapping": {**upsert.mapping, "tier": "tier"}})
    assert any("meta.sync.object" in p for p in BrazeDestination.validate_spec(bad))
    bad = upsert.model_copy(update={"mapping": {**upsert.mapping, "tier": "tier"}})
    assert any("meta.sync.mapping.tier" in p for p in BrazeDestination.validate_spec(bad))
    mirror = case.spec("mirror", None)
    bad = mirror.model_copy(update={"mapping": {"external_id": "email", "email": "email"}})
    assert any("primary key" in p for p in BrazeDestination.validate_spec(bad))
    actions = case.spec("actions", None)
    assert not BrazeDestination.validate_spec(actions)
    mapping = {k: v for k, v in actions.mapping.items() if k != "trigger_properties.action_id"}
    problems = BrazeDestination.validate_spec(actions.model_copy(update={"mapping": mapping}))
    assert any("trigger_properties.action_id" in p for p in problems)
