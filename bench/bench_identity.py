"""How fast, and in how much memory, does identity resolution build?

On a generated retailer (made here unless --warehouse names one that already
holds it), runs `dbt run --select +identity` (the staging models identity
reads, then every identity model, customer_identifiers included) in a dbt
subprocess, and compares it with a "floor": one DuckDB query that scans the
same raw tables once (every column identity reads, aggregated so nothing is
materialized). Prints wall times, the slowest models (dbt's run_results), the
peak resident memory of the dbt process, the ratio to the floor, and appends
one row to bench/results.md.

    .venv/bin/python bench/bench_identity.py --customers 100000
    .venv/bin/python bench/bench_identity.py --customers 1000000 --warehouse /tmp/m1.duckdb --keep
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

AS_OF = datetime(2026, 11, 20, 12)
RESULTS = ROOT / "bench" / "results.md"
DBT_PROJECT = ROOT / "dbt_project"

# The raw columns the identity build reads, per table: the floor scans exactly these, once.
FLOOR_COLUMNS = {
    "customers": ["customer_id", "email", "phone", "country", "created_at", "updated_at"],
    "loyalty_members": ["loyalty_id", "customer_id", "email", "phone", "home_store_id", "enrolled_at", "updated_at"],
    "identifies": ["message_id", "anonymous_id", "user_id", "email", "phone", "timestamp"],
    "events": ["event_id", "anonymous_id", "user_id", "event", "order_id", "timestamp"],
    "orders": ["order_id", "customer_id", "email", "phone", "status", "ordered_at"],
    "pos_transactions": ["transaction_id", "store_id", "loyalty_id", "receipt_email", "phone", "transacted_at"],
    "consents": ["consent_id", "identifier_type", "identifier_value", "recorded_at"],
    "message_events": ["event_id", "channel", "identifier_value", "occurred_at"],
}


def memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def has_retailer(path: Path, customers: int) -> bool:
    if not path.exists():
        return False
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select customers from truth.generation").fetchone()[0] == customers
    except duckdb.Error:
        return False
    finally:
        con.close()


def floor_query() -> str:
    parts = []
    for table, columns in FLOOR_COLUMNS.items():
        lengths = " + ".join(f"coalesce(length(cast({c} as varchar)), 0)" for c in columns)
        parts.append(f"select '{table}' as t, count(*) as n, sum({lengths}) as chars from raw.{table}")
    return " union all ".join(parts)


def run_floor(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds (DuckDB's threads included) of one scan of the raw columns identity reads."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        rows = con.execute(floor_query()).fetchall()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        con.close()
    return elapsed, cpu, sum(n for _, n, _ in rows)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_dbt(path: Path, work: Path, args: list[str]) -> float:
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEGUE_WAREHOUSE": str(path),
    }
    env.pop("SEGUE_AS_OF", None)
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt) if dbt.exists() else "dbt",
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps({"as_of": AS_OF.isoformat(sep=" ")}),
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def model_timings(work: Path) -> list[tuple[str, float]]:
    results = json.loads((work / "target" / "run_results.json").read_text())
    timings = [(r["unique_id"].split(".")[-1], float(r["execution_time"])) for r in results["results"]]
    return sorted(timings, key=lambda item: -item[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warehouse", type=Path, help="reuse (or create) this DuckDB file")
    parser.add_argument("--keep", action="store_true", help="keep a warehouse this script created")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_identity_"))
    path = options.warehouse or work / "bench.duckdb"
    if not has_retailer(path, options.customers):
        from orchestration.generator import generate

        print(f"generating {options.customers:,} customers into {path} ...", flush=True)
        started = time.perf_counter()
        generate(str(path), customers=options.customers, seed=options.seed, as_of=AS_OF)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)

    run_dbt(path, work, ["seed"])
    floor_seconds, floor_cpu, floor_rows = run_floor(path)
    print(f"floor: one scan of {floor_rows:,} raw rows in {floor_seconds:.2f} s ({floor_cpu:.1f} s CPU)", flush=True)
    cpu_before = children_cpu()
    build_seconds = run_dbt(path, work, ["run", "--select", "+identity"])
    build_cpu = children_cpu() - cpu_before
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    timings = model_timings(work)
    identity_seconds = sum(t for name, t in timings if "identity" in name or name == "customer_identifiers")
    staging_seconds = sum(t for name, t in timings if name.startswith(("stg_", "base_")))
    con = duckdb.connect(str(path), read_only=True)
    try:
        identifiers, customers = con.execute(
            "select count(*), count(distinct customer_key) from marts.customer_identifiers"
        ).fetchone()
    finally:
        con.close()
    ratio = build_seconds / floor_seconds if floor_seconds else float("nan")
    cpu_ratio = build_cpu / floor_cpu if floor_cpu else float("nan")
    load = os.getloadavg()[0]
    print(
        f"dbt run --select +identity: {build_seconds:.1f} s wall, {build_cpu:.0f} s CPU (sums of model times, "
        f"4 threads: staging models {staging_seconds:.1f} s, identity models {identity_seconds:.1f} s), "
        f"peak RSS {peak_gb:.1f} GB, {ratio:.0f}x the floor's wall time, {cpu_ratio:.0f}x its CPU time; "
        f"{identifiers:,} identifiers, {customers:,} customers; load average {load:.1f}"
    )
    print("slowest models:")
    for name, seconds in timings[:8]:
        print(f"  {seconds:7.1f} s  {name}")

    if not options.no_record:
        import dbt.version

        machine = (
            f"{os.cpu_count()} cores, {memory_gb():.0f} GB, {platform.system()} {platform.machine()}, "
            f"python {platform.python_version()}, duckdb {duckdb.__version__}, dbt-core {dbt.version.__version__}"
        )
        slow = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings[:3])
        row = (
            f"| {datetime.now(UTC):%Y-%m-%d} | identity | {options.customers:,} customers, seed {options.seed} "
            f"({floor_rows / 1e6:.1f}M raw rows read) | `dbt run --select +identity` {build_seconds:.0f} s wall, "
            f"{build_cpu:.0f} s CPU (model times summed over 4 threads: staging {staging_seconds:.0f} s, "
            f"identity {identity_seconds:.0f} s; slowest: {slow}), peak RSS {peak_gb:.1f} GB; floor scan "
            f"{floor_seconds:.1f} s wall / {floor_cpu:.1f} s CPU: ratio {ratio:.0f}x wall, {cpu_ratio:.0f}x CPU; "
            f"{identifiers:,} identifiers, {customers:,} customers; load average {load:.1f} (shared machine) "
            f"| {machine} |\n"
        )
        with RESULTS.open("a") as handle:
            handle.write(row)
        print(f"appended to {RESULTS}")
    if options.warehouse is None and not options.keep:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
