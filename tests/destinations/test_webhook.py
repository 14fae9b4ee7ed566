"""The signed webhook: the signature scheme and its verification helper, the receiver emulator that
verifies every delivery with it, idempotency keys across retries, and which answers are retried."""

from __future__ import annotations

import json
import time

import jsonschema
import pytest
import requests

from destinations import webhook
from destinations.base import FatalError, Op, Record
from destinations.engine import run_sync
from destinations.ratelimit import RateLimiter
from destinations.registry import HttpTransport
from destinations.webhook.destination import WebhookDestination
from tests.destinations.cases import webhook as case
from tests.sync.conftest import AS_OF, FAST, make_actions, make_profiles, write_actions, write_profiles

SECRET = case.SECRET


class Receiver:
    def __init__(self, base: str):
        self.base, self.url = base, f"{base}/receive"

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        requests.post(f"{self.base}/__emulator__/faults", json=settings, timeout=5).raise_for_status()


@pytest.fixture
def receiver(emulator, monkeypatch) -> Receiver:
    base = f"{emulator.url}/webhook"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    r = Receiver(base)
    r.faults(error_rate=0.0, lost_response_rate=0.0, latency_ms=0, rate_limit_scale=100.0, retry_after=None, seed=1)
    for key, value in case.CASE.env(base).items():
        monkeypatch.setenv(key, value)
    return r


def destination() -> WebhookDestination:
    limiter = RateLimiter("webhook-test", WebhookDestination.capabilities.rate_limits, 100.0)
    return WebhookDestination(case.instance(100.0), HttpTransport(limiter, 10, {}))


def test_verify_accepts_a_signed_body_and_refuses_tampering_age_and_the_wrong_secret():
    body = json.dumps({"version": 1, "records": []}).encode()
    headers = webhook.sign(SECRET, body)
    assert webhook.verify(SECRET, headers, body) == {"version": 1, "records": []}
    lower = {k.lower(): v for k, v in headers.items()}
    assert webhook.verify(SECRET, lower, body.decode())["version"] == 1  # any header case, str or bytes
    # The documented scheme, recomputed by hand: hex HMAC-SHA256 of "<timestamp>.<body>".
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{headers['Segue-Timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["Segue-Signature"] == f"v1={expected.hexdigest()}"
    with pytest.raises(webhook.WebhookVerificationError, match="signature"):
        webhook.verify(SECRET, headers, body.replace(b"1", b"2"))
    with pytest.raises(webhook.WebhookVerificationError, match="signature"):
        webhook.verify("another-secret", headers, body)
    old = webhook.sign(SECRET, body, timestamp=int(time.time()) - 301)
    with pytest.raises(webhook.WebhookVerificationError, match="timestamp"):
        webhook.verify(SECRET, old, body)
    assert webhook.verify(SECRET, old, body, tolerance=600)["version"] == 1
    with pytest.raises(webhook.WebhookVerificationError, match="missing"):
        webhook.verify(SECRET, {}, body)


def test_the_receiver_verifies_every_delivery_and_refuses_a_tampered_or_old_one(receiver, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(30))
    write_actions(warehouse, make_actions(8))
    for mode in ("upsert", "mirror", "actions"):
        assert run_sync(case.spec(mode, 7), case.instance(), str(warehouse), AS_OF, settings=FAST).failed == 0
    state = receiver.state()
    assert state["verification_failures"] == [] and state["deliveries"] == 5 + 5 + 2
    # A delivery replayed with its body altered, or with a timestamp beyond the tolerance, is refused.
    body = json.dumps(destination().payload(Op.UPSERT, case.spec("upsert", None), [Record("x", {"email": None})]))
    headers = {"Content-Type": "application/json", **webhook.sign(SECRET, body)}
    headers["Idempotency-Key"] = json.loads(body)["delivery_id"]
    tampered = body.replace('"x"', '"y"')
    assert requests.post(receiver.url, data=tampered, headers=headers, timeout=5).status_code == 401
    old = {**headers, **webhook.sign(SECRET, body, timestamp=int(time.time()) - 3600)}
    assert requests.post(receiver.url, data=body, headers=old, timeout=5).status_code == 401
    assert len(receiver.state()["verification_failures"]) == 2
    assert requests.post(receiver.url, data=body, headers=headers, timeout=5).status_code == 200


def test_a_retried_batch_carries_the_same_idempotency_key_and_lands_once(receiver, monkeypatch):
    sent = []
    original = HttpTransport.request

    def record(self, endpoint, method, url, **kwargs):
        sent.append(kwargs["headers"])
        return original(self, endpoint, method, url, **kwargs)

    monkeypatch.setattr(HttpTransport, "request", record)
    records = [Record(f"a{i}", {"to": f"p{i}@example.com"}, change="send") for i in range(3)]
    spec = case.spec("actions", None)
    dest = destination()
    first = dest.deliver(Op.SEND, spec, records)
    again = dest.deliver(Op.SEND, spec, records)  # what a retry after a lost answer sends
    assert first.confirmed == again.confirmed == ["a0", "a1", "a2"]
    assert sent[0]["Idempotency-Key"] == sent[1]["Idempotency-Key"]
    other = dest.deliver(Op.SEND, spec, records[:2])
    assert other.confirmed == ["a0", "a1"] and sent[2]["Idempotency-Key"] != sent[0]["Idempotency-Key"]
    state = receiver.state()
    assert state["duplicate_deliveries"] == 1 and state["duplicate_actions"] == 2
    assert sorted(m["action_id"] for m in state["messages"]) == ["a0", "a1", "a2"]


def test_payload_is_the_documented_version_1_schema():
    schema = case.SCHEMA
    spec = case.spec("mirror", None)
    dest = WebhookDestination.__new__(WebhookDestination)
    records = [Record("c1", {"email": "a@example.com"}, change="add"), Record("c2", {}, change="remove")]
    payload = dest.payload(Op.ADD, spec, records)
    jsonschema.validate(payload, schema)
    assert [(r["op"], r["fields"]) for r in payload["records"]] == [
        ("added", {"email": "a@example.com"}),
        ("removed", None),
    ]
    assert payload["delivery_id"] == dest.payload(Op.ADD, spec, records)["delivery_id"]
    broken = {**payload, "records": [{"key": "c1", "op": "upserted", "fields": {}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_5xx_are_retried_other_4xx_reject_the_batch_and_a_wrong_url_is_fatal(receiver, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(12))
    receiver.faults(error_rate=0.5, error_status=500, seed=5, rate_limit_scale=100.0)
    retried = run_sync(case.spec("upsert", 3), case.instance(), str(warehouse), AS_OF, settings=FAST)
    assert (retried.status, retried.succeeded) == ("succeeded", 12)
    receiver.faults(error_rate=1.0, error_status=422, rate_limit_scale=100.0)
    write_profiles(warehouse, make_profiles(12, tier="silver"))
    spec = case.spec("upsert", 5)
    refused = run_sync(spec, case.instance(), str(warehouse), AS_OF, settings=FAST, force=True)
    assert (refused.status, refused.rejected, refused.requests) == ("succeeded", 12, 3), "a 422 is never retried"
    receiver.faults(error_rate=1.0, error_status=404, rate_limit_scale=100.0)
    with pytest.raises(FatalError, match="WEBHOOK_URL"):
        destination().deliver(Op.UPSERT, case.spec("upsert", None), [Record("c1", {})])


def test_a_413_splits_the_batch(receiver):
    big = "x" * 50_000
    records = [Record(f"c{i}", {"notes": big}, change="add") for i in range(30)]  # ~1.5 MB, over the receiver's 1 MB
    outcome = destination().deliver(Op.UPSERT, case.spec("upsert", None), records)
    assert sorted(outcome.confirmed) == sorted(r.key for r in records)
    assert receiver.state()["deliveries"] == 2


def test_a_rejected_record_in_a_2xx_answer_is_kept_with_its_reason(receiver):
    records = [Record("c1", {"email": "a@example.com"}), Record("c2", {"email": "nope"})]
    outcome = destination().deliver(Op.UPSERT, case.spec("upsert", None), records)
    assert outcome.confirmed == ["c1"] and outcome.rejected["c2"][0] == "invalid_email"
