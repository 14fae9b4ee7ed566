"""How fast, and in how much memory, do the customer profiles build?

On a generated retailer (made here unless --warehouse names one that already
holds it), runs `dbt run --select +identity` (staging and identity, which
profiles read) and then `dbt run --select +profiles --exclude +identity`
(the staging models only profiles read — lines, products, stores — and every
model in models/profiles, marts.customer_profiles included), each in a dbt
subprocess, and compares identity + profiles with a "floor": one DuckDB query
that scans every raw column the two layers read, once. Prints wall times, the
slowest profile models (dbt's run_results), the peak resident memory of the
dbt processes, the ratio to the floor, and appends one row to
bench/results.md.

    .venv/bin/python bench/bench_profiles.py --customers 100000
    .venv/bin/python bench/bench_profiles.py --customers 1000000 --warehouse /tmp/m1.duckdb --keep
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import duckdb  # noqa: E402
from bench_identity import (  # noqa: E402
    AS_OF,
    FLOOR_COLUMNS,
    RESULTS,
    has_retailer,
    memory_gb,
    model_timings,
    run_dbt,
)

# What profiles read beyond identity's columns: amounts and times of purchases,
# lines and products (favorite category), stores (home store, time zone),
# loyalty tiers and points, names, consent statuses, message events.
PROFILE_COLUMNS = {
    "customers": ["first_name", "last_name"],
    "loyalty_members": ["tier", "points_balance"],
    "orders": ["total_amount", "currency"],
    "pos_transactions": ["total_amount", "currency"],
    "order_lines": ["order_id", "line_number", "product_id", "quantity", "unit_price"],
    "pos_lines": ["transaction_id", "line_number", "product_id", "quantity", "unit_price"],
    "products": ["product_id", "category"],
    "stores": ["store_id", "country", "timezone"],
    "consents": ["channel", "status"],
    "message_events": ["event"],
}


def floor_columns() -> dict[str, list[str]]:
    columns = {table: list(cols) for table, cols in FLOOR_COLUMNS.items()}
    for table, extra in PROFILE_COLUMNS.items():
        columns.setdefault(table, [])
        columns[table] += [c for c in extra if c not in columns[table]]
    return columns


def run_floor(path: Path) -> tuple[float, int]:
    parts = []
    for table, columns in floor_columns().items():
        lengths = " + ".join(f"coalesce(length(cast({c} as varchar)), 0)" for c in columns)
        parts.append(f"select '{table}' as t, count(*) as n, sum({lengths}) as chars from raw.{table}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        started = time.perf_counter()
        rows = con.execute(" union all ".join(parts)).fetchall()
        elapsed = time.perf_counter() - started
    finally:
        con.close()
    return elapsed, sum(n for _, n, _ in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warehouse", type=Path, help="reuse (or create) this DuckDB file")
    parser.add_argument("--keep", action="store_true", help="keep a warehouse this script created")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_profiles_"))
    path = options.warehouse or work / "bench.duckdb"
    if not has_retailer(path, options.customers):
        from orchestration.generator import generate

        print(f"generating {options.customers:,} customers into {path} ...", flush=True)
        started = time.perf_counter()
        generate(str(path), customers=options.customers, seed=options.seed, as_of=AS_OF)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)

    load_before = os.getloadavg()[0]
    run_dbt(path, work, ["seed"])
    floor_seconds, floor_rows = run_floor(path)
    print(f"floor: one scan of {floor_rows:,} raw rows in {floor_seconds:.2f} s", flush=True)
    identity_seconds = run_dbt(path, work, ["run", "--select", "+identity"])
    print(f"dbt run --select +identity: {identity_seconds:.1f} s", flush=True)
    profile_seconds = run_dbt(path, work, ["run", "--select", "+profiles", "--exclude", "+identity"])
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    timings = model_timings(work)
    model_seconds = sum(t for _, t in timings)
    con = duckdb.connect(str(path), read_only=True)
    try:
        profiles, buyers, purchases = con.execute(
            """select count(*), count(*) filter (where orders_count > 0), sum(orders_count)
               from marts.customer_profiles"""
        ).fetchone()
    finally:
        con.close()
    total = identity_seconds + profile_seconds
    ratio = total / floor_seconds if floor_seconds else float("nan")
    print(
        f"dbt run --select +profiles --exclude +identity: {profile_seconds:.1f} s wall "
        f"(model times summed over dbt's threads {model_seconds:.1f} s); identity + profiles {total:.1f} s, "
        f"{ratio:.0f}x the floor; peak RSS {peak_gb:.1f} GB; "
        f"{profiles:,} profiles, {buyers:,} with purchases, {purchases:,} purchases counted"
    )
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after (above the core count: contended)")
    print("slowest profile models:")
    for name, seconds in timings[:6]:
        print(f"  {seconds:7.1f} s  {name}")

    if not options.no_record:
        import dbt.version

        machine = (
            f"{os.cpu_count()} cores, {memory_gb():.0f} GB, {platform.system()} {platform.machine()}, "
            f"python {platform.python_version()}, duckdb {duckdb.__version__}, dbt-core {dbt.version.__version__}"
        )
        slow = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings[:3])
        row = (
            f"| {datetime.now(UTC):%Y-%m-%d} | profiles | {options.customers:,} customers, seed {options.seed} "
            f"({floor_rows / 1e6:.1f}M raw rows read) | profiles (`dbt run --select +profiles --exclude +identity`) "
            f"{profile_seconds:.0f} s wall "
            f"(model times summed over 4 threads {model_seconds:.0f} s; slowest: {slow}) "
            f"after `+identity` {identity_seconds:.0f} s: "
            f"identity + profiles {total:.0f} s, peak RSS {peak_gb:.1f} GB; floor scan {floor_seconds:.1f} s, "
            f"ratio {ratio:.0f}x; {profiles:,} profiles, {buyers:,} with purchases; load average "
            f"{load_before:.1f}/{load_after:.1f} before/after | {machine} |\n"
        )
        with RESULTS.open("a") as handle:
            handle.write(row)
        print(f"appended to {RESULTS}")
    if options.warehouse is None and not options.keep:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
