"""Every request Segue sends to Klaviyo matches the vendor's OpenAPI operation, and so do the emulator's answers."""

import json
from datetime import datetime
from urllib.parse import urlsplit

import jsonschema
import orjson
import pytest
import requests

from destinations.base import Op, Record
from destinations.engine import run_sync
from destinations.klaviyo.destination import REVISION, KlaviyoDestination
from destinations.registry import HttpTransport
from tests.sync.conftest import (
    AS_OF,
    FAST,
    actions_spec,
    instance,
    make_actions,
    make_profiles,
    profiles_spec,
    write_actions,
    write_profiles,
)
from tests.sync.openapi import validate_request, validate_response


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    original = HttpTransport.request

    def record(self, endpoint, method, url, **kwargs):
        response = original(self, endpoint, method, url, **kwargs)
        calls.append((method, url, kwargs, response))
        return response

    monkeypatch.setattr(HttpTransport, "request", record)
    return calls


def test_every_request_body_matches_its_operation_schema(klaviyo, tmp_path, recorded):
    warehouse = tmp_path / "w.duckdb"
    rows = make_profiles(12)
    rows[1] = ("c00001", "broken", "+14155550101", "Phone", None)
    write_profiles(warehouse, rows)
    write_actions(warehouse, make_actions(3))
    run_sync(profiles_spec(batch_rows=5), instance(), str(warehouse), AS_OF, settings=FAST)
    run_sync(profiles_spec(mode="mirror"), instance(), str(warehouse), AS_OF, settings=FAST)
    write_profiles(warehouse, rows[:10])
    run_sync(profiles_spec(mode="mirror"), instance(), str(warehouse), AS_OF, settings=FAST)
    run_sync(actions_spec(), instance(), str(warehouse), AS_OF, settings=FAST)
    operations = set()
    for method, url, kwargs, response in recorded:
        path = urlsplit(url).path.removeprefix("/klaviyo")
        headers = kwargs["headers"]
        assert headers["Authorization"] == "Klaviyo-API-Key pk_test_emulator"
        assert headers["revision"] == REVISION
        if kwargs.get("data"):
            assert headers["Content-Type"] == "application/vnd.api+json"
            operations.add(validate_request(method, path, json.loads(kwargs["data"])))
        if response.status_code in (200, 202) and response.content:
            validate_response(method, path, response.status_code, response.json())
    assert operations == {"bulk_import_profiles", "remove_profiles_from_list", "create_event"}


def test_validator_catches_a_malformed_body():
    with pytest.raises(jsonschema.ValidationError):
        validate_request("POST", "/api/events", {"data": {"type": "event", "attributes": {"metric": {}}}})
    bad_list = {"data": [{"type": "profile"}]}
    with pytest.raises(jsonschema.ValidationError):
        validate_request("DELETE", "/api/lists/L/relationships/profiles", bad_list)


def test_batches_respect_the_documented_row_and_byte_limits(klaviyo):
    from destinations.engine import _batches

    destination = KlaviyoDestination(instance(), transport=None)
    big = "x" * 600
    records = [Record(f"k{i}", {"external_id": f"k{i}", "properties.notes": big}) for i in range(25_000)]
    batches = list(_batches(destination, Op.UPSERT, records, 10_000, 5 * 1024 * 1024 - 2048))
    assert sum(len(b) for b in batches) == 25_000
    for batch in batches:
        body = json.dumps(destination.import_body(batch, None), separators=(",", ":")).encode()
        assert len(batch) <= 10_000 and len(body) <= 5 * 1024 * 1024
    assert len(batches) > 3  # bytes, not rows, cut these


def test_the_job_body_sent_is_the_validated_body_byte_for_byte(klaviyo):
    destination = KlaviyoDestination(instance(), transport=None)
    records = [
        Record("k1", {"external_id": "k1", "email": "a@example.com", "properties.tier": "gold"}),
        Record("k2", {"external_id": "k2", "first_name": 'Zoë "Q"', "location.city": "Paris", "phone_number": None}),
    ]
    for list_id in (None, "L1"):
        for record in records:
            destination.encoded_size(Op.UPSERT, record)  # caches the profile's JSON, as the engine's batching does
        sent = destination.import_body_text(records, list_id)
        # the same document as import_body (written by the compiled profile encoder, UTF-8)
        assert json.loads(sent) == destination.import_body(records, list_id)
        assert sent == orjson.dumps(destination.import_body(records, list_id))  # and the same key order here
        validate_request("POST", "/api/profile-bulk-import-jobs", json.loads(sent))
    # empty groups left out, nested and non-string values, an integer past orjson's 64 bits
    odd = [
        Record("k3", {"properties.a": None, "email": "c@example.com", "properties.b": 2**70, "location.zip": None}),
        Record("k4", {"external_id": "k4", "properties.n.deep": [1, {"x": True}], "properties.f": 1.5}),
    ]
    assert json.loads(destination.import_body_text(odd, None)) == destination.import_body(odd, None)


def test_emulator_enforces_auth_revision_limits_and_deduplication(klaviyo):
    base = klaviyo.base
    good = {"Authorization": "Klaviyo-API-Key k", "revision": REVISION, "Content-Type": "application/vnd.api+json"}
    profile = {"type": "profile", "attributes": {"email": "a@example.com"}}
    job = {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [profile]}}}}
    url = f"{base}/api/profile-bulk-import-jobs"
    assert requests.post(url, json=job, headers={**good, "Authorization": ""}, timeout=5).status_code == 401
    assert requests.post(url, json=job, headers={**good, "revision": ""}, timeout=5).status_code == 400
    too_many = {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [profile] * 10_001}}}}
    assert requests.post(url, json=too_many, headers=good, timeout=10).status_code == 400
    huge = {"type": "profile", "attributes": {"email": "a@example.com", "properties": {"x": "y" * 6_000_000}}}
    too_big = {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [huge]}}}}
    assert requests.post(url, json=too_big, headers=good, timeout=10).status_code == 413
    event = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {},
                "unique_id": "a1",
                "time": datetime(2026, 1, 1).isoformat(),
                "metric": {"data": {"type": "metric", "attributes": {"name": "m"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@example.com"}}},
            },
        }
    }
    for _ in range(2):
        assert requests.post(f"{base}/api/events", json=event, headers=good, timeout=5).status_code == 202
    assert [m["action_id"] for m in klaviyo.state()["messages"]] == ["a1"]
    klaviyo.faults(rate_limit_scale=0.1)  # 1 request/s burst on bulk import
    statuses = [requests.post(url, json=job, headers=good, timeout=5) for _ in range(3)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled and float(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()["errors"][0]["code"] == "throttled"
    requests.post(f"{base}/__emulator__/reset", timeout=5)
    assert klaviyo.state()["profiles"] == [] and klaviyo.state()["messages"] == []
