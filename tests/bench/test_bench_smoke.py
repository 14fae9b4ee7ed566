"""Tiny runs of the sync benchmarks (bench/) so the scripts cannot rot: seconds each, nothing written to results.md."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_sync_plan_bench_counts_the_changes_it_made():
    import bench_sync_plan

    result = bench_sync_plan.run(3_000)
    # 1% changed (hash-picked, about 30), 0.1% added, 0.1% departed
    assert result["counts"]["add"] == 3 and result["counts"]["departed"] == 3
    assert 10 <= result["counts"]["change"] <= 60
    assert result["counts"]["unchanged"] == 3_000 - 3 - result["counts"]["change"]
    assert result["streamed"] == result["counts"]["add"] + result["counts"]["change"]
    assert result["python_mb"] > 0 and result["plan_cpu_s"] > 0


def test_delivery_bench_delivers_everything_without_429s():
    out = _run(
        "bench_delivery.py",
        *("--drain-events", "20", "--events", "10", "--drain-jobs", "2", "--jobs", "2", "--job-rows", "5"),
        "--no-results",
    )
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    events = lines[0]["create_event"]
    bulk = lines[1]["bulk_import"]
    assert events["timed"]["rows"] == 10 and events["timed"]["requests"]["POST /api/events"] == 10
    assert bulk["timed"]["rows"] == 10 and bulk["timed"]["requests"]["POST /api/profile-bulk-import-jobs"] == 2
    assert events["timed"]["throttled"] == 0 and events["timed"]["failed"] == 0
    assert out.strip().splitlines()[-1].startswith("| ") and "delivery at Klaviyo's limits" in out


def test_a_fixed_host_client_reaches_the_emulator_through_the_proxy(tmp_path):
    """What drt-core relies on: https://a.klaviyo.com through HTTPS_PROXY (CONNECT) and the bench CA."""
    from klaviyo_harness import Harness

    with Harness(tmp_path / "harness") as harness:
        harness.faults(strict_content_type=False)
        env = harness.proxy_env()
        proxies = {"https": env["HTTPS_PROXY"]}
        headers = {"Authorization": "Klaviyo-API-Key pk_x", "revision": "2026-07-15"}
        body = {"data": {"type": "profile", "attributes": {"email": "ann@example.com"}}}
        url = "https://a.klaviyo.com/api/profiles/"
        kw = {"proxies": proxies, "verify": env["SSL_CERT_FILE"], "headers": headers, "timeout": 30}
        created = requests.post(url, json=body, **kw)
        assert created.status_code == 201, created.text
        again = requests.post(url, json=body, **kw)
        assert again.status_code == 409
        pid = again.json()["errors"][0]["meta"]["duplicate_profile_id"]
        assert pid == created.json()["data"]["id"]
        body["data"].update(id=pid, attributes={"email": "ann@example.com", "properties": {"tier": "gold"}})
        assert requests.patch(f"{url}{pid}/", json=body, **kw).status_code == 200
        state = harness.state()
        assert state["profiles"][0]["properties"] == {"tier": "gold"}
        assert state["requests"]["POST /api/profiles"] == 2 and state["requests"]["PATCH /api/profiles/{id}"] == 1
        # Only Klaviyo's host is tunnelled.
        with pytest.raises(requests.exceptions.ProxyError):
            requests.get("https://example.com/", proxies=proxies, timeout=10)


def test_drt_bench_segue_resends_nothing_and_writes_a_drt_project(tmp_path):
    import bench_drt
    from klaviyo_harness import Harness

    warehouse = tmp_path / "bench.duckdb"
    bench_drt.write_profiles(warehouse, 400)
    with Harness(tmp_path / "harness") as harness:
        harness.faults(rate_limit_scale=bench_drt.UNLIMITED, strict_content_type=False)
        segue = bench_drt.run_segue(harness, warehouse, bench_drt.UNLIMITED)
        assert segue["first"]["rows"] == 400 and segue["first"]["status"] == "succeeded"
        assert segue["first"]["requests"] >= 2  # one import job, then its polls
        assert segue["first"]["cpu_s"] > 0 and segue["first"]["emulator_cpu_s"] > 0  # the emulator parsed the job
        assert segue["second"]["sent"] == 0 and segue["second"]["requests"] == 0
        assert len(harness.state()["profiles"]) == 400
        env = bench_drt.drt_project(tmp_path / "drt", warehouse, 50, 12.5)
    sync = yaml.safe_load((tmp_path / "drt" / "syncs" / "klaviyo_profiles.yml").read_text())
    assert sync["destination"]["type"] == "klaviyo" and sync["sync"]["mode"] == "full"
    assert sync["sync"]["rate_limit"]["requests_per_second"] == 12.5 and "LIMIT 50" in sync["model"]
    profiles = yaml.safe_load((Path(env["HOME"]) / ".drt" / "profiles.yml").read_text())
    assert profiles["default"] == {"type": "duckdb", "database": str(warehouse)}
