"""Attentive specifics: no re-subscribe (and no needless unsubscribe), rate-limit headers honoured,
events older than Attentive's 12-hour journey window refused, emulator answers shaped like the spec."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from destinations.attentive.destination import SUBSCRIBE, AttentiveDestination
from destinations.base import Op, Record
from destinations.engine import run_sync
from tests.destinations.cases import attentive as case
from tests.sync.conftest import AS_OF, FAST, write_profiles
from tests.sync.openapi import validate_response

HEADERS = {"Authorization": f"Bearer {case.API_KEY}"}


class Attentive:
    def __init__(self, base: str):
        self.base = base

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        # every setting explicit: the server is shared by the session and earlier tests change it
        body = {"error_rate": 0.0, "error_status": 503, "lost_response_rate": 0.0, "latency_ms": 0}
        body.update({"rate_limit_scale": 100.0, "retry_after": None, "seed": 1, **settings})
        requests.post(f"{self.base}/__emulator__/faults", json=body, timeout=5).raise_for_status()

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, headers=HEADERS, timeout=5)


@pytest.fixture
def attentive(emulator, monkeypatch) -> Attentive:
    base = f"{emulator.url}/attentive"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    a = Attentive(base)
    a.faults(seed=1)
    for key, value in case.env(base).items():
        monkeypatch.setenv(key, value)
    return a


def mirror(warehouse: Path, scale: float = 100.0, batch_rows: int | None = None):
    return run_sync(case.spec("mirror", batch_rows), case.instance(scale), str(warehouse), AS_OF, settings=FAST)


def texts(state: dict, kind: str) -> list[str]:
    return sorted(n["to"] for n in state["notifications"] if n["kind"] == kind)


def test_nobody_is_subscribed_twice_or_unsubscribed_when_already_out(attentive, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = case.make_profiles(4)
    phones = [r[2] for r in rows]
    # Already a subscriber before Segue's first sync: re-subscribing would text "already subscribed".
    answer = attentive.post("/subscriptions", {"user": {"phone": phones[0]}, "signUpSourceId": case.SIGN_UP_SOURCE})
    validate_response("POST", "/subscriptions", 202, answer.json(), vendor="attentive")
    write_profiles(warehouse, rows)
    assert mirror(warehouse).succeeded == 4
    state = attentive.state()
    assert state["lists"]["MARKETING"] == sorted(phones)
    assert texts(state, "already_subscribed") == []
    assert texts(state, "welcome") == sorted(phones)  # phones[0] once, from before
    assert state["requests"].get(SUBSCRIBE) == 4  # three by Segue, one by the test

    # A changed row (new email) is a change, not a new subscription; a departed one is unsubscribed once.
    attentive.post("/subscriptions/unsubscribe", {"user": {"phone": phones[3]}})  # left by SMS already
    changed = [(*rows[0][:1], "new@example.com", *rows[0][2:]), rows[1]]
    write_profiles(warehouse, changed)
    result = run_sync(
        case.spec("mirror").model_copy(update={"mapping": {"phone": "phone", "email": "email"}}),
        case.instance(100.0),
        str(warehouse),
        AS_OF,
        settings=FAST,
        force=True,
    )
    assert result.failed == 0 and result.removed == 2
    state = attentive.state()
    assert texts(state, "already_subscribed") == []
    assert texts(state, "unsubscribed") == sorted(phones[2:])  # phones[3] only by the test's own call
    assert state["lists"]["MARKETING"] == sorted(phones[:2])
    eligibility = requests.get(f"{attentive.base}/subscriptions", params={"phone": phones[0]}, headers=HEADERS)
    validate_response("GET", "/subscriptions", 200, eligibility.json(), vendor="attentive")


def test_rate_limit_headers_are_honoured_across_workers(attentive, tmp_path):
    # The emulator enforces Attentive's real 10 subscribes/s while the instance believes in 100x that:
    # only the x-ratelimit headers (and the 429s) can keep the sync from hammering the endpoint.
    attentive.faults(rate_limit_scale=1.0)
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, case.make_profiles(24))
    started = time.perf_counter()
    result = mirror(warehouse, scale=100.0, batch_rows=6)  # four batches, four workers at once
    elapsed = time.perf_counter() - started
    state = attentive.state()
    assert (result.succeeded, result.failed) == (24, 0)
    assert len(state["lists"]["MARKETING"]) == 24
    assert elapsed >= 1.0, "24 subscribes at 10/s after a burst of 10 take over a second"
    # Measured: 0 throttled answers when the headers are honoured, 31-42 when they are ignored.
    assert state["throttled_responses"] <= 4, "the sync kept hammering after remaining ran low"
    answer = attentive.post("/events/custom", {"type": "x", "user": {"phone": "+14155550000"}})
    assert answer.headers["x-ratelimit-limit"] == "150" and int(answer.headers["x-ratelimit-remaining"]) >= 0


def test_remaining_zero_holds_the_endpoint_back_for_a_token(monkeypatch):
    calls: list[float] = []

    class Transport:
        def request(self, endpoint, method, url, **kwargs):
            calls.append(time.monotonic())
            headers = {"x-ratelimit-limit": "4", "x-ratelimit-remaining": "0"}
            return SimpleNamespace(status_code=200, headers=headers, json=dict)

    for key, value in case.env("http://attentive.invalid/v1").items():
        monkeypatch.setenv(key, value)
    destination = AttentiveDestination(case.instance(1.0), Transport())
    spec = case.spec("upsert")
    record = Record("c1", {"phone": "+14155550001", "properties.tier": "gold"})
    destination.deliver(Op.UPSERT, spec, [record])
    destination.deliver(Op.UPSERT, spec, [record])
    assert calls[1] - calls[0] >= 0.24, "remaining 0 at 4/s: the next request waits a quarter second"


def test_events_older_than_the_journey_window_are_refused_and_the_rest_trigger(attentive, monkeypatch):
    destination = AttentiveDestination(case.instance(100.0), transport=_Live())
    spec = case.spec("actions").model_copy(update={"mapping": {**case.spec("actions").mapping, "occurredAt": "x"}})
    now = datetime.now(UTC)
    fresh = Record("a1", {"externalEventId": "a1", "phone": "+14155570001", "occurredAt": now.isoformat()})
    old = (now - timedelta(hours=13)).isoformat()
    stale = Record("a2", {"externalEventId": "a2", "phone": "+14155570002", "occurredAt": old})
    outcome = destination.deliver(Op.SEND, spec, [fresh, stale])
    assert outcome.confirmed == ["a1"] and outcome.rejected["a2"][0] == "stale_event"
    assert [m["action_id"] for m in attentive.state()["messages"]] == ["a1"]


class _Live:
    def request(self, endpoint, method, url, **kwargs):
        return requests.request(method, url, timeout=5, **kwargs)


def test_declarations_are_checked_against_what_attentive_takes():
    assert not AttentiveDestination.validate_spec(case.spec("upsert"))
    assert not AttentiveDestination.validate_spec(case.spec("mirror"))
    assert not AttentiveDestination.validate_spec(case.spec("actions"))
    bad_type = case.spec("mirror").model_copy(update={"object": "subscriptions/WEEKLY"})
    assert "subscription type" in AttentiveDestination.validate_spec(bad_type)[0]
    keyed_wrong = case.spec("mirror").model_copy(update={"primary_key": "customer_id"})
    assert any("primary key" in p for p in AttentiveDestination.validate_spec(keyed_wrong))
    bad_event = case.spec("actions").model_copy(update={"object": "event/Order (shipped)"})
    assert AttentiveDestination.validate_spec(bad_event)
