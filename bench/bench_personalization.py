"""Latency of the personalization API under a steady concurrent load on loopback.

    python bench/bench_personalization.py [--profiles 100000] [--rate 500] [--seconds 30] [--connections 32]

1. writes N synthetic profile documents (the shape sync_personalization__profiles
   produces: five identifier types, segments, loyalty, a next action with
   products) into a fresh SQLite store through `ProfileStore.upsert`;
2. starts `segue personalization serve` on it (its own process, one uvicorn worker);
3. runs the load generator (after a 1 s warm-up that is not counted) in a third process: an open-loop asyncio HTTP/1.1
   client over keep-alive connections that starts request i at t0 + i/rate
   whatever happened before, so a slow answer delays the ones queued behind it
   and that wait is counted (no coordinated omission). Lookups are spread over
   the five identifier types (email, phone, customer_id, loyalty_id, device_id)
   with mixed case and spaces, plus 10% unknown identifiers (404);
4. prints p50/p90/p99/max latency (from the intended start), the rate reached,
   machine facts and the load average, and appends a row to bench/results.md.

Goal (issue 6): p99 ≤ 10 ms at 500 requests/s on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

READ_KEY = "bench-read-key"
WARMUP_SECONDS = 1.0
TYPES = ("email", "phone", "customer_id", "loyalty_id", "device_id")


def identifiers(i: int) -> dict[str, list[str]]:
    return {
        "email": [f"person{i}@example.com"],
        "phone": [f"+4477{i:08d}"],
        "customer_id": [f"C{i:07d}"],
        "loyalty_id": [f"L{i:07d}"],
        "anonymous_id": [f"{i:08x}-dev1-4c3e-9a1b-{i * 7919 % 10**12:012d}", f"{i:08x}-dev2-4c3e-9a1b-000000000000"],
    }


def document(i: int) -> dict:
    action = None
    if i % 10 == 0:
        action = {
            "action_id": f"{i:032x}",
            "journey": "cart_abandonment",
            "step": "banner_1h",
            "scheduled_for": "2026-11-20T12:00:00Z",
            "category": None,
            "products": [
                {
                    "product_id": f"P{(i + k) % 464:05d}",
                    "name": "Mini Smart Plug",
                    "category": "electronics",
                    "price": 36.99,
                }
                for k in range(3)
            ],
        }
    return {
        "customer_key": f"cus_{i:020x}",
        "identifiers": identifiers(i),
        "segments": ["vip", "email_engaged"] if i % 3 == 0 else [],
        "loyalty": {"tier": ("bronze", "silver", "gold", "platinum")[i % 4], "points": i % 5000},
        "profile": {"first_name": f"Name{i}", "country": "GB", "rfm_segment": "champions"},
        "next_action": action,
    }


def build_store(path: Path, profiles: int) -> float:
    from destinations.personalization.service import ProfileStore

    started = time.perf_counter()
    store = ProfileStore(path)
    for start in range(0, profiles, 1000):
        results = store.upsert([document(i) for i in range(start, min(profiles, start + 1000))])
        assert all(r["status"] == "ok" for r in results), results[:3]
    store.close()
    return time.perf_counter() - started


def ask(i: int, rng: random.Random) -> tuple[str, str, int]:
    """(identifier_type, value as a client would send it, expected status)."""
    kind = TYPES[rng.randrange(len(TYPES))]
    if rng.random() < 0.1:
        return kind, f"unknown-{rng.randrange(10**9)}" if kind != "phone" else "+15550000000", 404
    ids = identifiers(i)
    if kind == "email":
        return kind, ids["email"][0].upper(), 200
    if kind == "phone":
        value = ids["phone"][0]
        return kind, f"{value[:3]}%20{value[3:7]}%20{value[7:]}", 200
    if kind == "device_id":
        return kind, ids["anonymous_id"][rng.randrange(2)].upper(), 200
    return kind, ids[kind][0], 200


async def _load(port: int, profiles: int, rate: float, seconds: float, connections: int, seed: int) -> dict:
    rng = random.Random(seed)
    warmup = int(rate * WARMUP_SECONDS)  # first connections, first SQLite pages: not counted
    total = warmup + int(rate * seconds)
    plan = []
    for _ in range(total):
        kind, value, expected = ask(rng.randrange(profiles), rng)
        request = (
            f"GET /v1/profiles/{kind}/{value} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {READ_KEY}\r\n\r\n"
        ).encode()
        plan.append((request, expected))
    latencies: list[float] = []
    service: list[float] = []
    wrong: list[str] = []
    cursor = iter(range(total))
    t0 = time.perf_counter() + 0.2

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in cursor:
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request, expected = plan[i]
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            body = await reader.readexactly(length)
            done = time.perf_counter()
            if i >= warmup:
                latencies.append(done - due)
                service.append(done - sent)
            if status != expected or (status == 200 and b'"customer_key"' not in body):
                wrong.append(f"{status} (expected {expected}): {request[:60]!r}")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - t0 - WARMUP_SECONDS
    return {"latencies": latencies, "service": service, "wrong": wrong, "elapsed": elapsed, "requests": total - warmup}


def load_process(port: int, profiles: int, rate: float, seconds: float, connections: int, seed: int) -> None:
    """The load generator's own process (`--loadgen`): runs the load, prints the outcome as JSON."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(port, profiles, rate, seconds, connections, seed))))


def run_load(port: int, profiles: int, rate: float, seconds: float, connections: int, seed: int) -> dict:
    args = [str(a) for a in (port, profiles, rate, seconds, connections, seed)]
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--loadgen", *args],
        capture_output=True,
        text=True,
        timeout=seconds * 10 + 60,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its children (uvicorn's workers), from Linux /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    libs = ", ".join(f"{p} {version(p)}" for p in ("starlette", "uvicorn", "uvloop", "httptools"))
    return (
        f"{os.cpu_count()} cores, {mem:.0f} GB, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {libs}"
    )


def run(
    profiles: int, rate: float, seconds: float, connections: int, results: Path | None, seed: int = 7, workers: int = 1
) -> dict:
    with tempfile.TemporaryDirectory(prefix="segue-bench-personalization-") as tmp:
        store = Path(tmp) / "personalization.sqlite3"
        build_seconds = build_store(store, profiles)
        port = free_port()
        env = {**os.environ, "PERSONALIZATION_READ_KEY": READ_KEY, "PYTHONPATH": str(REPO)}
        env.pop("PERSONALIZATION_API_KEY", None)  # read-only, as the website's service runs
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "personalization",
                "serve",
                "--port",
                str(port),
                "--db",
                str(store),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the service did not start: {server.stderr.read().decode()[-500:]}") from None
                    time.sleep(0.1)
            load_before = os.getloadavg()
            cpu_before = cpu_seconds(server.pid)
            outcome = run_load(port, profiles, rate, seconds, connections, seed)
            load_after = os.getloadavg()
            server_cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    lat = outcome["latencies"]
    summary = {
        "profiles": profiles,
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "workers": workers,
        "requests": outcome["requests"],
        "achieved_rate": outcome["requests"] / outcome["elapsed"],
        "p50_ms": percentile(lat, 0.50),
        "p90_ms": percentile(lat, 0.90),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": max(lat) * 1000,
        "service_p99_ms": percentile(outcome["service"], 0.99),
        "wrong": outcome["wrong"][:5],
        "wrong_count": len(outcome["wrong"]),
        "build_seconds": build_seconds,
        # CPU the server spent per request (warm-up included): its capacity whatever the neighbours do
        "cpu_ms_per_request": server_cpu * 1000 / (outcome["requests"] * (1 + WARMUP_SECONDS / seconds)),
        "load_before": load_before,
        "load_after": load_after,
        "machine": machine(),
    }
    report(summary, results)
    return summary


def report(s: dict, results: Path | None) -> None:
    goal = "met" if s["p99_ms"] <= 10 and s["achieved_rate"] >= 0.95 * s["rate"] else "NOT met"
    load = f"load average {s['load_before'][0]:.1f} before, {s['load_after'][0]:.1f} after (1 min; shared machine)"
    print(f"machine: {s['machine']}")
    print(f"store: {s['profiles']:,} profiles written in {s['build_seconds']:.1f} s (SQLite, WAL)")
    print(
        f"load: {s['requests']:,} GETs at {s['rate']:.0f}/s target over {s['connections']} keep-alive connections, "
        f"reached {s['achieved_rate']:.0f}/s; {s['wrong_count']} wrong answers"
    )
    print(
        f"latency from intended start: p50 {s['p50_ms']:.2f} ms, p90 {s['p90_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, "
        f"max {s['max_ms']:.1f} ms (service time p99 {s['service_p99_ms']:.2f} ms); goal p99 <= 10 ms: {goal}"
    )
    print(f"server CPU: {s['cpu_ms_per_request']:.2f} ms per request")
    print(load)
    for line in s["wrong"]:
        print("  wrong:", line)
    if results is None:
        return
    row = (
        f"| {datetime.now(UTC):%Y-%m-%d} | personalization API | {s['profiles']:,} profiles, {s['rate']:.0f} req/s "
        f"for {s['seconds']:.0f} s, {s['connections']} connections, {s['workers']} worker(s) | "
        f"p50 {s['p50_ms']:.2f} ms, p90 {s['p90_ms']:.2f} ms, "
        f"p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.1f} ms (from intended start, open loop; service p99 "
        f"{s['service_p99_ms']:.2f} ms), {s['achieved_rate']:.0f} req/s reached, {s['wrong_count']} wrong, server CPU "
        f"{s['cpu_ms_per_request']:.2f} ms/request; goal p99 "
        f"≤ 10 ms {goal}; {load} | {s['machine']} |\n"
    )
    append_row(results, row)
    print(f"appended to {results}")


SECTION = "## Personalization API (`bench/bench_personalization.py`)"
SECTION_INTRO = f"""
{SECTION}

`GET /v1/profiles/{{type}}/{{value}}` against `segue personalization serve` (one uvicorn worker, SQLite in WAL
mode, documents of the shape `sync_personalization__profiles` produces), loaded by an open-loop asyncio
HTTP/1.1 client in its own process over keep-alive loopback connections: request i starts at t0 + i/rate, so
latency counts the wait behind slow answers (no coordinated omission). Lookups spread over the five identifier
types, 10% unknown (404); 1 s of warm-up is not counted. **server CPU** is the service process's user+system
time per request: what the service costs whatever the neighbours on a shared machine do. Goal (issue 6): p99
≤ 10 ms at 500 req/s.

| date | benchmark | scale | result | machine |
|---|---|---|---|---|
"""


def append_row(results: Path, row: str) -> None:
    """Add `row` at the end of this benchmark's own table in results.md (the section is created once)."""
    text = results.read_text() if results.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n" + SECTION_INTRO
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(SECTION))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("|---"))
    while end + 1 < len(lines) and lines[end + 1].startswith("|"):
        end += 1
    lines.insert(end + 1, row)
    results.write_text("".join(lines))


def main() -> None:
    if len(sys.argv) == 8 and sys.argv[1] == "--loadgen":
        port, profiles, rate, seconds, connections, seed = sys.argv[2:]
        load_process(int(port), int(profiles), float(rate), float(seconds), int(connections), int(seed))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the service")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.md", help="'-' to not append")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    args = parser.parse_args()
    results = None if str(args.results) == "-" else args.results
    summary = run(args.profiles, args.rate, args.seconds, args.connections, results, workers=args.workers)
    if args.json:
        print(json.dumps(summary))
    if summary["wrong_count"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
