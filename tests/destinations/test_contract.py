"""The same contract for every destination (issue 6): one suite, parametrized over `cases/`.

- an empty batch makes no call, and an unchanged second run sends nothing;
- retriable answers (429/5xx before acting) are retried, a fatal one fails the sync and the next
  run recovers, a per-record rejection keeps the vendor's reason and lets the other rows through;
- a crash or a lost answer never delivers anything twice (SIGKILL at a random point, then resume);
- every request body validates against the vendor's spec where one exists.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from destinations.engine import run_sync
from destinations.registry import HttpTransport
from tests.destinations.cases import DestinationCase, all_cases
from tests.sync.conftest import AS_OF, FAST, query, write_actions, write_profiles

REPO = Path(__file__).resolve().parents[2]
CASES = all_cases()
PATIENT = replace(FAST, max_attempts=30)


class Vendor:
    """One emulator under its prefix, seen through its fault switch and state endpoints."""

    def __init__(self, case: DestinationCase, base: str):
        self.case, self.base = case, base

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        # every setting explicit: the emulator server is shared by the session
        body = {"error_rate": 0.0, "error_status": 503, "lost_response_rate": 0.0, "latency_ms": 0}
        body.update({"rate_limit_scale": 100.0, "retry_after": None})
        requests.post(f"{self.base}/__emulator__/faults", json={**body, **settings}, timeout=5).raise_for_status()

    def held(self, mode: str) -> set[str]:
        return self.case.held_keys(self.state(), mode)

    def request_count(self) -> int:
        return sum(self.state().get("requests", {}).values())


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def vendor(request, emulator, monkeypatch) -> Vendor:
    case: DestinationCase = request.param
    base = f"{emulator.url}{case.prefix}"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    v = Vendor(case, base)
    v.faults(seed=1)
    for key, value in case.env(base).items():
        monkeypatch.setenv(key, value)
    return v


def sync(vendor: Vendor, mode: str, warehouse: Path, batch_rows: int | None = None, settings=FAST):
    spec = vendor.case.spec(mode, batch_rows)
    return run_sync(spec, vendor.case.instance(100.0), str(warehouse), AS_OF, settings=settings)


def modes(vendor: Vendor) -> list[str]:
    return [m for m in ("upsert", "mirror", "actions") if vendor.case.spec(m, None) is not None]


def write(vendor: Vendor, warehouse: Path, profiles: int, actions: int) -> tuple[set[str], set[str]]:
    case = vendor.case
    profile_rows = case.make_profiles(profiles)
    write_profiles(warehouse, profile_rows)
    action_rows = case.make_actions(actions) if case.make_actions else []
    write_actions(warehouse, action_rows, consents=case.consents(action_rows))
    return {r[0] for r in profile_rows}, {r[0] for r in action_rows}


def test_an_empty_audience_makes_no_call_and_an_unchanged_rerun_sends_nothing(vendor, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write(vendor, warehouse, 0, 0)
    for mode in modes(vendor):
        result = sync(vendor, mode, warehouse)
        assert (result.status, result.requests, result.sent) == ("succeeded", 0, 0), mode
    assert vendor.request_count() == 0
    profiles, actions = write(vendor, warehouse, 7, 4)
    for mode in modes(vendor):
        first = sync(vendor, mode, warehouse)
        assert first.succeeded == len(actions if mode == "actions" else profiles), mode
        assert vendor.held(mode) == (actions if mode == "actions" else profiles), mode
        again = sync(vendor, mode, warehouse)
        assert (again.sent, again.requests) == (0, 0), f"{mode}: an unchanged rerun sent something"


def test_retriable_answers_are_retried_until_every_row_lands_once(vendor, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write(vendor, warehouse, 20, 10)
    vendor.faults(error_rate=0.5, error_status=429, retry_after=0.01, seed=3)
    for mode in modes(vendor):
        result = sync(vendor, mode, warehouse, batch_rows=3, settings=PATIENT)
        assert result.status == "succeeded" and result.failed == 0, (mode, result.error)
    vendor.faults(error_rate=0.5, error_status=503, retry_after=0.01, seed=4)
    write(vendor, warehouse, 25, 12)
    for mode in modes(vendor):
        assert sync(vendor, mode, warehouse, batch_rows=3, settings=PATIENT).failed == 0, mode
    vendor.faults()
    for mode in modes(vendor):
        expected = {f"a{i:05d}" for i in range(12)} if mode == "actions" else {f"c{i:05d}" for i in range(25)}
        assert vendor.held(mode) == expected, mode
    messages = [m["action_id"] for m in vendor.state()["messages"]]
    assert len(messages) == len(set(messages)), "an action was delivered twice"


def test_a_fatal_answer_fails_the_sync_and_the_next_run_recovers(vendor, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    profiles, actions = write(vendor, warehouse, 6, 6)
    mode = modes(vendor)[0]
    expected = actions if mode == "actions" else profiles
    vendor.faults(error_rate=1.0, error_status=401)
    failed = sync(vendor, mode, warehouse)
    assert failed.status == "failed" and failed.error, "a 401 must fail the sync, not be retried"
    assert failed.succeeded == 0
    assert query(warehouse, "select count(*) from segue.sync_snapshots")[0][0] == 0
    delivered = "select count(*) from segue.sync_send_ledger where status = 'delivered'"
    assert query(warehouse, delivered)[0][0] == 0
    vendor.faults()
    recovered = sync(vendor, mode, warehouse)
    assert recovered.status == "succeeded" and vendor.held(mode) == expected


def test_a_rejected_record_keeps_the_vendors_reason_and_the_rest_lands(vendor, tmp_path):
    if vendor.case.bad_profile is None:
        pytest.skip(f"{vendor.case.name} has no per-record rejection for profiles")
    warehouse = tmp_path / "w.duckdb"
    rows = vendor.case.make_profiles(6)
    rows[2] = vendor.case.bad_profile(2)
    write_profiles(warehouse, rows)
    result = sync(vendor, "upsert", warehouse)
    assert (result.rejected, result.succeeded) == (1, 5)
    [(key, code, message)] = query(warehouse, "select record_key, error_code, error_message from segue.sync_rejections")
    assert key == rows[2][0] and code and message
    assert vendor.held("upsert") == {r[0] for r in rows} - {rows[2][0]}


def test_a_rejected_action_keeps_the_vendors_reason_and_is_never_resent(vendor, tmp_path):
    if vendor.case.bad_action is None:
        pytest.skip(f"{vendor.case.name} has no per-record rejection for actions")
    warehouse = tmp_path / "w.duckdb"
    rows = vendor.case.make_actions(5)
    rows[3] = vendor.case.bad_action(3)
    write_actions(warehouse, rows, consents=vendor.case.consents(rows))
    result = sync(vendor, "actions", warehouse)
    assert (result.rejected, result.succeeded) == (1, 4)
    [(status, error)] = query(
        warehouse, "select status, last_error from segue.action_deliveries where action_id = ?", [rows[3][0]]
    )
    assert status == "rejected" and error and ":" in error
    again = sync(vendor, "actions", warehouse)
    assert (again.sent, again.requests) == (0, 0)
    assert vendor.held("actions") == {r[0] for r in rows} - {rows[3][0]}


def test_lost_answers_never_deliver_an_action_twice(vendor, tmp_path):
    if vendor.case.make_actions is None:
        pytest.skip(f"{vendor.case.name} takes no journey actions")
    warehouse = tmp_path / "w.duckdb"
    _, actions = write(vendor, warehouse, 0, 16)
    vendor.faults(lost_response_rate=0.5, error_rate=0.2, error_status=500, seed=9)
    sync(vendor, "actions", warehouse, batch_rows=2)
    vendor.faults()
    sync(vendor, "actions", warehouse, batch_rows=2)
    sync(vendor, "actions", warehouse, batch_rows=2)
    assert_exactly_once(vendor, warehouse, actions)


def assert_exactly_once(vendor: Vendor, warehouse: Path, actions: set[str]) -> None:
    sent = [m["action_id"] for m in vendor.state()["messages"]]
    assert len(sent) == len(set(sent)), "an action was delivered twice"
    statuses = dict(query(warehouse, "select action_id, status from segue.action_deliveries"))
    assert set(statuses) == actions, "an action was lost from the ledger"
    delivered = {k for k, s in statuses.items() if s == "delivered"}
    assert delivered <= set(sent), "the ledger says delivered, the vendor never got it"
    if vendor.case.dedupes_actions:
        assert delivered == actions == set(sent)
    else:
        # Uncertain sends are resolved by asking the vendor where it can be asked, else reported unknown.
        unknown = {k for k, s in statuses.items() if s == "unknown"}
        assert delivered | unknown == actions and set(sent) <= actions


def test_sigkill_at_a_random_point_then_resume_sends_nothing_twice(vendor, tmp_path):
    """Batch sizes 1, 10 and 23 are covered for Klaviyo in tests/sync; here one odd size per vendor."""
    batch_rows = 7
    rng = random.Random(f"{vendor.case.name}-{batch_rows}")
    warehouse = tmp_path / "w.duckdb"
    profiles, actions = write(vendor, warehouse, 30, 30 if vendor.case.make_actions else 0)
    vendor.faults(latency_ms=25)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.destinations.crash_worker", vendor.case.name, str(warehouse), str(batch_rows)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    kill_after = rng.randint(1, max(1, 30 // batch_rows))
    deadline = time.monotonic() + 60
    while vendor.request_count() < kill_after and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.03))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    vendor.faults()
    for mode in ("upsert", "actions"):
        if vendor.case.spec(mode, None) is not None:
            sync(vendor, mode, warehouse, batch_rows=batch_rows)
    if "upsert" in modes(vendor):
        assert vendor.held("upsert") == profiles
    if actions:
        assert_exactly_once(vendor, warehouse, actions)


def test_every_request_body_validates_against_the_vendor_spec(vendor, tmp_path, monkeypatch):
    if vendor.case.validate_request is None:
        pytest.skip(f"{vendor.case.name} publishes no machine-readable spec")
    calls = []
    original = HttpTransport.request

    def record(self, endpoint, method, url, **kwargs):
        calls.append((method, url, kwargs))
        return original(self, endpoint, method, url, **kwargs)

    monkeypatch.setattr(HttpTransport, "request", record)
    warehouse = tmp_path / "w.duckdb"
    write(vendor, warehouse, 12, 3)
    for mode in modes(vendor):
        sync(vendor, mode, warehouse, batch_rows=5)
    if "mirror" in modes(vendor):
        write_profiles(warehouse, vendor.case.make_profiles(10))
        sync(vendor, "mirror", warehouse)
    operations = set()
    for method, url, kwargs in calls:
        body = kwargs.get("json", kwargs.get("data"))
        if body is None:
            continue
        path = url.split(vendor.base, 1)[1].split("?")[0]
        operations.add(vendor.case.validate_request(method, path, kwargs.get("headers") or {}, body))
    assert operations >= vendor.case.expected_operations
