"""Nothing lost, nothing duplicated: SIGKILL mid-sync, 429 storms, 5xx, refused connections, lost responses."""

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from destinations.engine import run_sync
from destinations.klaviyo.destination import KlaviyoDestination
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

REPO = Path(__file__).resolve().parents[2]


def sync(spec, warehouse, **kw):
    return run_sync(spec, instance(), str(warehouse), AS_OF, settings=FAST, **kw)


def assert_actions_exactly_once(klaviyo, warehouse, expected: set[str]) -> None:
    sent = [m["action_id"] for m in klaviyo.state()["messages"]]
    assert len(sent) == len(set(sent)), "an action was delivered twice"
    assert set(sent) == expected, "an action was lost"
    statuses = query(warehouse, "select status, count(*) from segue.action_deliveries group by 1")
    assert statuses == [("delivered", len(expected))]


def assert_profiles_complete(klaviyo, warehouse, expected: set[str]) -> None:
    held = [p["external_id"] for p in klaviyo.state()["profiles"]]
    assert len(held) == len(set(held)) and set(held) == expected
    snapshot = {r[0] for r in query(warehouse, "select record_key from segue.sync_snapshots")}
    assert snapshot == expected
    assert query(warehouse, "select count(*) from segue.sync_failed_keys")[0][0] == 0


@pytest.mark.parametrize(
    ("batch_rows", "order", "max_requests"),
    [(1, "upsert-first", 45), (10, "upsert-first", 6), (23, "upsert-first", 3), (10, "actions-first", 25)],
)
def test_sigkill_at_a_random_point_then_rerun(klaviyo, tmp_path, batch_rows, order, max_requests):
    """A process running two syncs is killed at a random point of the first; reruns complete both exactly once.

    The point: after a random number of requests reached the vendor, plus a random few milliseconds.
    """
    rng = random.Random(f"{batch_rows}-{order}")
    kill_after = rng.randint(1, max_requests)
    warehouse = tmp_path / "w.duckdb"
    n = 30
    write_profiles(warehouse, make_profiles(n))
    write_actions(warehouse, make_actions(n))
    klaviyo.faults(latency_ms=25)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.crash_worker", str(warehouse), str(batch_rows), order],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60
    while sum(klaviyo.state()["requests"].values()) < kill_after and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.03))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    finished = proc.stdout.read()
    at_kill = klaviyo.state()
    print(f"killed after {sum(at_kill['requests'].values())} requests, {len(at_kill['messages'])} messages")
    assert not finished.strip(), "the kill came after the first sync finished: pick an earlier point"
    klaviyo.faults(latency_ms=0)
    specs = [profiles_spec(batch_rows=batch_rows), actions_spec(batch_rows)]
    for spec in specs:
        sync(spec, warehouse)
    assert_profiles_complete(klaviyo, warehouse, {f"c{i:05d}" for i in range(n)})
    assert_actions_exactly_once(klaviyo, warehouse, {f"a{i:05d}" for i in range(n)})
    assert [sync(spec, warehouse).sent for spec in specs] == [0, 0]


def test_429_storm_is_ridden_out_with_retry_after(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(40))
    write_actions(warehouse, make_actions(20))
    klaviyo.faults(error_rate=0.6, error_status=429, retry_after=0.01, seed=3)
    patient = replace(FAST, max_attempts=30)  # 0.6**30: a batch never runs out of attempts
    upsert = run_sync(profiles_spec(batch_rows=5), instance(), str(warehouse), AS_OF, settings=patient)
    actions = run_sync(actions_spec(), instance(), str(warehouse), AS_OF, settings=patient)
    assert klaviyo.state()["throttled_responses"] > 10
    assert (upsert.status, upsert.succeeded, actions.succeeded) == ("succeeded", 40, 20)
    klaviyo.faults(error_rate=0.0)
    assert_profiles_complete(klaviyo, warehouse, {f"c{i:05d}" for i in range(40)})
    assert_actions_exactly_once(klaviyo, warehouse, {f"a{i:05d}" for i in range(20)})


def test_5xx_and_lost_responses_after_acting_do_not_duplicate(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(30))
    write_actions(warehouse, make_actions(30))
    klaviyo.faults(error_rate=0.3, error_status=500, lost_response_rate=0.4, seed=5)
    upsert = sync(profiles_spec(batch_rows=4), warehouse)
    actions = sync(actions_spec(), warehouse)
    klaviyo.faults(error_rate=0.0, lost_response_rate=0.0)
    # Whatever was still uncertain after this run's retries is re-sent (same unique_id) by the next one.
    sync(profiles_spec(batch_rows=4), warehouse)
    sync(actions_spec(), warehouse)
    assert upsert.succeeded + actions.succeeded > 0
    assert_profiles_complete(klaviyo, warehouse, {f"c{i:05d}" for i in range(30)})
    assert_actions_exactly_once(klaviyo, warehouse, {f"a{i:05d}" for i in range(30)})


def test_a_vendor_that_cannot_deduplicate_gets_unknown_never_a_resend(klaviyo, tmp_path, monkeypatch):
    monkeypatch.setattr(
        KlaviyoDestination, "capabilities", replace(KlaviyoDestination.capabilities, dedupes_actions=False)
    )
    warehouse = tmp_path / "w.duckdb"
    write_actions(warehouse, make_actions(5))
    klaviyo.faults(lost_response_rate=1.0)
    first = sync(actions_spec(), warehouse)
    assert (first.unknown, first.succeeded) == (5, 0)
    klaviyo.faults(lost_response_rate=0.0)
    second = sync(actions_spec(), warehouse)
    assert second.sent == 0
    assert len(klaviyo.state()["messages"]) == 5  # the vendor acted once per action
    assert query(warehouse, "select distinct status from segue.action_deliveries") == [("unknown",)]


def test_unreachable_vendor_fails_rows_then_the_next_run_retries_them(klaviyo, tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(12))
    write_actions(warehouse, make_actions(4))
    monkeypatch.setenv("KLAVIYO_BASE_URL", "http://127.0.0.1:9/klaviyo")  # nothing listens: refused
    failed = sync(profiles_spec(batch_rows=5), warehouse)
    failed_actions = sync(actions_spec(), warehouse)
    assert (failed.status, failed.failed, failed.succeeded) == ("partial", 12, 0)
    assert failed_actions.failed == 4
    retries = query(warehouse, "select count(*), min(attempts) from segue.sync_failed_keys")[0]
    assert retries == (12, 1)
    assert query(warehouse, "select distinct status, in_flight from segue.sync_send_ledger") == [("pending", False)]
    monkeypatch.setenv("KLAVIYO_BASE_URL", klaviyo.base)
    retried = sync(profiles_spec(batch_rows=5), warehouse)
    assert retried.succeeded == 12
    sync(actions_spec(), warehouse)
    assert_profiles_complete(klaviyo, warehouse, {f"c{i:05d}" for i in range(12)})
    assert_actions_exactly_once(klaviyo, warehouse, {f"a{i:05d}" for i in range(4)})
    attempts = query(warehouse, "select max(attempts) from segue.action_deliveries")[0][0]
    assert attempts == 2


def test_engine_keeps_to_the_rate_limit_so_the_vendor_never_throttles(klaviyo, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write_profiles(warehouse, make_profiles(30))
    klaviyo.faults(rate_limit_scale=2.0)  # 20 jobs/s burst at the emulator; the engine keeps to the same
    started = time.perf_counter()
    result = run_sync(profiles_spec(batch_rows=1), instance(scale=2.0), str(warehouse), AS_OF, settings=FAST)
    elapsed = time.perf_counter() - started
    assert result.succeeded == 30
    assert klaviyo.state()["throttled_responses"] == 0
    assert elapsed > 1.0  # 30 jobs + 30 polls at 20/s each cannot finish faster
