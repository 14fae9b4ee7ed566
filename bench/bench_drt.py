"""Segue and drt-core side by side: the same profiles, the same Klaviyo emulator, one process run.

drt-core (PyPI `drt-core`, its Klaviyo destination) is installed into its own
venv, `bench/.venv-drt` (gitignored), on first use. Its Klaviyo host is fixed
(`https://a.klaviyo.com/api`, httpx): it reaches the emulator through the
standard variables httpx honours, `HTTPS_PROXY` (a CONNECT tunnel to the
emulator's HTTPS listener) and `SSL_CERT_FILE` (the CA of that listener's
certificate for a.klaviyo.com), see `bench/klaviyo_harness.py`. Nothing in drt
is patched. drt sends `Content-Type: application/json`, which the emulator
accepts with `strict_content_type` off (Segue sends JSON:API either way).

Two settings of the emulator's fault switch: `rate_limit_scale` 1e6
("unlimited") and 1.0 (Klaviyo's documented limits: bulk import jobs 10/s and
150/min, Create/Update Profile 75/s and 750/min). Segue's limiter is set to the
same scale; drt is configured as its Klaviyo docs say (`sync.rate_limit`
requests_per_second 750/60 at the limits, unbounded otherwise; `mode: full`,
its default). Each tool syncs, then syncs again with nothing changed.

At Klaviyo's limits drt manages about 12 rows/s, so 100k rows would take
hours: drt runs on the first `--drt-rows-limited` rows there (and on
`--drt-rows` unlimited) and its rows/s and projected wall time for all rows
are reported as such. Appends a row per run to bench/results.md.

    .venv/bin/python bench/bench_drt.py --profiles 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DRT_VENV = ROOT / "bench" / ".venv-drt"
DRT_VERSION = "1.2.1"
API_KEY = "pk_bench_not_a_secret"
UNLIMITED = 1e6
STEADY_PROFILE_RPS = 750 / 60  # Create Profile, steady (the spec's x-klaviyo-ratelimit)
BULK_LIMIT_ROWS_PER_S = 10_000 * 150 / 60  # profiles per job x jobs per minute


def machine() -> str:
    import duckdb

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {mem:.0f} GB, Linux {platform.machine()}, python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}, drt-core {DRT_VERSION}, load average {os.getloadavg()[0]:.1f}"
    )


def ensure_drt(venv: Path = DRT_VENV) -> Path:
    """drt-core in its own venv (never in Segue's): `<venv>/bin/drt`."""
    drt = venv / "bin" / "drt"
    if not drt.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"drt-core[duckdb]=={DRT_VERSION}", "duckdb==2.0.0"],
            check=True,
        )
    return drt


def write_profiles(warehouse: Path, n: int) -> None:
    import duckdb

    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists syncs")
    con.execute(
        f"""create or replace table syncs.bench_profiles as
            select 'c' || lpad(cast(i as varchar), 7, '0') as customer_id,
                   'person' || i || '@example.com' as email, 'Name' || i as first_name,
                   case i % 4 when 0 then 'gold' else 'silver' end as tier
            from range({n}) as t(i)"""
    )
    con.close()


def spec():
    from destinations.config import SyncSpec

    return SyncSpec(
        name="sync_klaviyo__bench_profiles",
        relation="syncs.bench_profiles",
        columns=["customer_id", "email", "first_name", "tier"],
        destination="klaviyo",
        mode="upsert",
        primary_key="customer_id",
        mapping={"external_id": "customer_id", "email": "email", "first_name": "first_name", "properties.tier": "tier"},
        object="profiles",
    )


def _requests(state: dict) -> tuple[int, int]:
    return sum(state["requests"].values()), state["throttled_responses"]


def _cpu() -> float:
    """CPU time (user + sys) of this process, all threads (DuckDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_segue(harness, warehouse: Path, scale: float) -> dict:
    import duckdb

    from destinations.config import DestinationInstance
    from destinations.engine import run_sync

    os.environ["KLAVIYO_BASE_URL"] = harness.base_url
    os.environ["KLAVIYO_API_KEY"] = API_KEY
    con = duckdb.connect(str(warehouse))
    con.execute("drop schema if exists segue cascade")
    con.close()
    instance = DestinationInstance(
        name="klaviyo",
        type="klaviyo",
        base_url_env="KLAVIYO_BASE_URL",
        credentials={"api_key": "KLAVIYO_API_KEY"},
        rate_limit_scale=scale,
    )
    out = {}
    for label in ("first", "second"):
        before = _requests(harness.state())
        cpu, emulator_cpu = _cpu(), harness.cpu_seconds()
        started = time.perf_counter()
        result = run_sync(spec(), instance, str(warehouse), datetime(2026, 11, 20, 12))
        wall = time.perf_counter() - started
        cpu, emulator_cpu = _cpu() - cpu, harness.cpu_seconds() - emulator_cpu
        after = _requests(harness.state())
        out[label] = {
            "wall_s": wall,
            "rows": result.succeeded,
            "sent": result.sent,
            "failed": result.failed + result.rejected,
            "requests": after[0] - before[0],
            "throttled": after[1] - before[1],
            "status": result.status,
            "cpu_s": cpu,
            "emulator_cpu_s": emulator_cpu,
        }
    return out


def drt_project(folder: Path, warehouse: Path, rows: int, rps: float) -> dict[str, str]:
    """A drt project syncing the first `rows` profiles to Klaviyo; returns the environment to run it in."""
    home = folder / "home"
    (home / ".drt").mkdir(parents=True, exist_ok=True)
    (home / ".drt" / "profiles.yml").write_text(f"default:\n  type: duckdb\n  database: {warehouse}\n")
    (folder / "syncs").mkdir(parents=True, exist_ok=True)
    (folder / "drt_project.yml").write_text("name: segue_bench\nprofile: default\n")
    model = f"SELECT customer_id, email, first_name, tier FROM syncs.bench_profiles ORDER BY customer_id LIMIT {rows}"
    (folder / "syncs" / "klaviyo_profiles.yml").write_text(
        "name: klaviyo_profiles\n"
        f'model: "{model}"\n'
        "destination:\n"
        "  type: klaviyo\n"
        "  api_key_env: KLAVIYO_API_KEY\n"
        "  email_field: email\n"
        "sync:\n"
        "  mode: full\n"
        "  batch_size: 1000\n"
        "  on_error: skip\n"
        "  rate_limit:\n"
        f"    requests_per_second: {rps}\n"
    )
    return {"HOME": str(home), "KLAVIYO_API_KEY": API_KEY, "DO_NOT_TRACK": "1", "DRT_TELEMETRY": "0"}


def _reported_seconds(stdout: str) -> float | None:
    """`✓ 300 synced  (36.8s)` -> 36.8."""
    found = re.findall(r"synced\s+\((\d+(?:\.\d+)?)s\)", stdout)
    return float(found[-1]) if found else None


def run_drt(harness, drt: Path, warehouse: Path, rows: int, rps: float, folder: Path) -> dict:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KLAVIYO_")}, **harness.proxy_env()}
    env.update(drt_project(folder, warehouse, rows, rps))
    out = {}
    for label in ("first", "second"):
        before_state = harness.state()
        before = _requests(before_state)
        cpu, emulator_cpu = _children_cpu(), harness.cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.run([str(drt), "run"], cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        cpu, emulator_cpu = _children_cpu() - cpu, harness.cpu_seconds() - emulator_cpu
        after_state = harness.state()
        after = _requests(after_state)
        creates = after_state["requests"].get("POST /api/profiles", 0) - before_state["requests"].get(
            "POST /api/profiles", 0
        )
        if proc.returncode != 0:
            raise SystemExit(f"drt run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        out[label] = {
            "wall_s": wall,
            "rows": len(after_state["profiles"]) if label == "first" else creates,
            "sent": creates,  # drt sends every row once as Create Profile (then PATCH when it exists)
            "requests": after[0] - before[0],
            "throttled": after[1] - before[1],
            # drt's own timing of the sync (without its process start): rows/s uses it, in drt's favour
            "sync_s": _reported_seconds(proc.stdout) or wall,
            "tail": proc.stdout.strip().splitlines()[-3:],
            "cpu_s": cpu,
            "emulator_cpu_s": emulator_cpu,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--drt-rows", type=int, default=None, help="rows drt syncs unlimited (default: all)")
    parser.add_argument("--drt-rows-limited", type=int, default=300, help="rows drt syncs at Klaviyo's limits")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/results.md (smoke test)")
    parser.add_argument("--drt-venv", default=str(DRT_VENV))
    parser.add_argument(
        "--segue-only",
        action="store_true",
        help="only Segue's two syncs per setting, printed with their CPU seconds (profiling, A/B); nothing recorded",
    )
    args = parser.parse_args()
    from klaviyo_harness import Harness

    drt = None if args.segue_only else ensure_drt(Path(args.drt_venv))
    print(machine(), flush=True)
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp, Harness(Path(tmp) / "harness") as harness:
        warehouse = Path(tmp) / "bench.duckdb"
        write_profiles(warehouse, args.profiles)
        for setting, scale, drt_rows, rps in (
            ("unlimited", UNLIMITED, args.drt_rows or args.profiles, 1_000_000),
            ("Klaviyo's limits", 1.0, min(args.drt_rows_limited, args.profiles), round(STEADY_PROFILE_RPS, 2)),
        ):
            harness.reset()
            harness.faults(rate_limit_scale=scale, strict_content_type=False)
            segue = run_segue(harness, warehouse, scale)
            if args.segue_only:
                first = segue["first"]
                print(json.dumps({"setting": setting, "profiles": args.profiles, "segue": segue}), flush=True)
                print(
                    f"{setting}: {first['rows']:,} rows in {first['wall_s']:.1f} s "
                    f"({first['rows'] / first['wall_s']:,.0f} rows/s), Segue CPU {first['cpu_s']:.2f} s, "
                    f"emulator CPU {first['emulator_cpu_s']:.2f} s, {first['requests']} requests, "
                    f"{first['throttled']} 429s; unchanged re-run {segue['second']['sent']} rows re-sent",
                    flush=True,
                )
                continue
            harness.reset()
            harness.faults(rate_limit_scale=scale, strict_content_type=False)
            shutil.rmtree(Path(tmp) / "drt", ignore_errors=True)
            theirs = run_drt(harness, drt, warehouse, drt_rows, rps, Path(tmp) / "drt")
            s1, d1 = segue["first"], theirs["first"]
            segue_rps = s1["rows"] / s1["wall_s"]
            drt_rps = d1["rows"] / d1["sync_s"]
            result = {
                "setting": setting,
                "profiles": args.profiles,
                "segue": segue,
                "drt": theirs,
                "drt_rows": drt_rows,
                "segue_rows_per_s": segue_rps,
                "drt_rows_per_s": drt_rps,
                "ratio": segue_rps / drt_rps if drt_rps else float("inf"),
                "share_of_bulk_limit": segue_rps / BULK_LIMIT_ROWS_PER_S,
                "drt_projected_s": args.profiles / drt_rps if drt_rps else float("inf"),
            }
            print(json.dumps(result, default=str), flush=True)
            rows_out.append(result)
    lines = []
    for r in rows_out:
        s, d = r["segue"], r["drt"]
        sample = "" if r["drt_rows"] == r["profiles"] else f" (drt on the first {r['drt_rows']:,} rows)"
        lines.append(
            f"| {datetime.now(UTC):%Y-%m-%d} | drt side by side | {r['profiles']:,} profiles, {r['setting']}{sample} | "
            f"Segue: {s['first']['rows']:,} rows in {s['first']['wall_s']:.1f} s ({r['segue_rows_per_s']:,.0f} rows/s, "
            f"{s['first']['requests']:,} requests, {s['first']['throttled']} 429s; CPU {s['first']['cpu_s']:.1f} s, "
            f"emulator CPU {s['first']['emulator_cpu_s']:.1f} s; "
            f"{r['share_of_bulk_limit']:.0%} of the bulk endpoint's 25,000 rows/s); unchanged re-run "
            f"{s['second']['sent']:,} rows re-sent, {s['second']['requests']:,} requests, "
            f"{s['second']['wall_s']:.1f} s. drt: {d['first']['rows']:,} rows in {d['first']['wall_s']:.1f} s "
            f"({d['first']['sync_s']:.1f} s by its own clock: {r['drt_rows_per_s']:,.1f} rows/s, "
            f"{d['first']['requests']:,} requests, {d['first']['throttled']} 429s; CPU {d['first']['cpu_s']:.1f} s, "
            f"emulator CPU {d['first']['emulator_cpu_s']:.1f} s; all {r['profiles']:,} would take "
            f"{r['drt_projected_s']:,.0f} s); unchanged re-run {d['second']['sent']:,} rows re-sent, "
            f"{d['second']['requests']:,} requests, {d['second']['wall_s']:.1f} s. "
            f"Segue/drt rows/s: {r['ratio']:,.0f}x | {machine()} |"
        )
    for line in lines:
        print(line)
    if lines and not args.no_results:
        from results_table import append_rows

        append_rows(lines)


if __name__ == "__main__":
    main()
