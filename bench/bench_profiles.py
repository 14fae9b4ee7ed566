"""How fast, and in how much memory, do identity resolution and the customer profiles build?

Issue 3's benchmark. On a generated retailer (the raw file is generated once and
kept, like bench_build.py; every run works on a fresh copy of it), runs `dbt
seed`, then `dbt run --select +identity` (the staging models identity reads,
then every identity model, customer_identifiers included), then `dbt run
--select +profiles --exclude +identity` (the staging models only profiles read
and every model in models/profiles, marts.customer_profiles included), each in
a dbt subprocess, and compares identity + profiles with a "floor": one DuckDB
query, in this same process run, that scans every raw column the two layers
read, once. Prints wall and CPU time of each part, model seconds by layer, the
slowest models, the peak resident memory of dbt's process tree, the ratio to
the floor, the machine, and appends one row to bench/results.md.

Goal (issue 3): identity + profiles <= 90 s and <= 20x the floor at 1M
customers (~30M events) on 2 cores.

    .venv/bin/python bench/bench_profiles.py --customers 100000
    .venv/bin/python bench/bench_profiles.py                      # 1,000,000 customers
"""

from __future__ import annotations

import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import duckdb  # noqa: E402
from bench_build import (  # noqa: E402
    RESULTS,
    floor_query,
    layers_text,
    load_average,
    machine_facts,
    record,
    retailer_arguments,
    run_dbt,
    working_copy,
)

# The raw columns identity reads, per table.
IDENTITY_COLUMNS = {
    "customers": ["customer_id", "email", "phone", "country", "created_at", "updated_at"],
    "loyalty_members": ["loyalty_id", "customer_id", "email", "phone", "home_store_id", "enrolled_at", "updated_at"],
    "identifies": ["message_id", "anonymous_id", "user_id", "email", "phone", "timestamp"],
    "events": ["event_id", "anonymous_id", "user_id", "event", "order_id", "timestamp"],
    "orders": ["order_id", "customer_id", "email", "phone", "status", "ordered_at"],
    "pos_transactions": ["transaction_id", "store_id", "loyalty_id", "receipt_email", "phone", "transacted_at"],
    "consents": ["consent_id", "identifier_type", "identifier_value", "recorded_at"],
    "message_events": ["event_id", "channel", "identifier_value", "occurred_at"],
}
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
IDENTITY_ARGS = ["run", "--select", "+identity"]
PROFILE_ARGS = ["run", "--select", "+profiles", "--exclude", "+identity"]


def floor_columns() -> dict[str, list[str]]:
    """Every raw column identity or profiles read, once per table."""
    columns = {table: list(names) for table, names in IDENTITY_COLUMNS.items()}
    for table, extra in PROFILE_COLUMNS.items():
        columns.setdefault(table, [])
        columns[table] += [c for c in extra if c not in columns[table]]
    return columns


def run_floor(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds (DuckDB's threads included) of one warm scan of the columns, and the rows read."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        query = floor_query(floor_columns())
        con.execute(query).fetchall()  # warm, as dbt's reads are
        started, cpu_started = time.perf_counter(), time.process_time()
        rows = con.execute(query).fetchall()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        con.close()
    return elapsed, cpu, sum(n for _, n, _ in rows)


def main(argv: list[str] | None = None) -> dict:
    options = retailer_arguments(__doc__).parse_args(argv)
    work, warehouse = working_copy(options, "profiles")
    facts = machine_facts()
    print(f"machine: {facts}", flush=True)
    load_before = load_average()
    floor_seconds, floor_cpu, floor_rows = run_floor(warehouse)
    print(f"floor: one scan of {floor_rows:,} raw rows, {floor_seconds:.2f} s ({floor_cpu:.1f} s CPU)", flush=True)
    run_dbt(warehouse, work, ["seed"], options.threads)
    identity = run_dbt(warehouse, work, IDENTITY_ARGS, options.threads)
    print(f"dbt {' '.join(IDENTITY_ARGS)}: {identity.seconds:.1f} s wall, {identity.cpu_seconds:.0f} s CPU", flush=True)
    profiles = run_dbt(warehouse, work, PROFILE_ARGS, options.threads)
    print(f"dbt {' '.join(PROFILE_ARGS)}: {profiles.seconds:.1f} s wall, {profiles.cpu_seconds:.0f} s CPU", flush=True)
    load_after = load_average()

    total = identity.seconds + profiles.seconds
    cpu = identity.cpu_seconds + profiles.cpu_seconds
    peak = max(identity.peak_rss_gb, profiles.peak_rss_gb)
    ratio = total / floor_seconds if floor_seconds else float("nan")
    cpu_ratio = cpu / floor_cpu if floor_cpu else float("nan")
    timings = sorted(identity.timings + profiles.timings, key=lambda item: -item[1])
    layer_text = layers_text(timings)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        identifiers, customers = con.execute(
            "select count(*), count(distinct customer_key) from marts.customer_identifiers"
        ).fetchone()
        buyers = con.execute("select count(*) from marts.customer_profiles where orders_count > 0").fetchone()[0]
    finally:
        con.close()
    goals = f"goals: <= 90 s {'met' if total <= 90 else 'MISSED'}, <= 20x floor {'met' if ratio <= 20 else 'MISSED'}"
    print(
        f"identity + profiles: {total:.1f} s wall, {cpu:.0f} s CPU, {ratio:.1f}x the floor's wall time, "
        f"{cpu_ratio:.1f}x its CPU time, peak RSS {peak:.2f} GB (dbt's process tree); model seconds summed over "
        f"threads: {layer_text}; {identifiers:,} identifiers, {customers:,} customers, {buyers:,} with purchases; "
        f"load average {load_before:.1f} before, {load_after:.1f} after\n{goals}",
        flush=True,
    )
    print("slowest models:")
    for name, seconds in timings[:8]:
        print(f"  {seconds:7.1f} s  {name}")

    summary = {
        "customers": options.customers,
        "identity_seconds": identity.seconds,
        "profile_seconds": profiles.seconds,
        "floor_seconds": floor_seconds,
        "ratio": ratio,
        "peak_rss_gb": peak,
        "identifiers": identifiers,
        "customers_resolved": customers,
        "buyers": buyers,
        "timings": timings,
    }
    if not options.no_record:
        slow = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings[:4])
        record(
            f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | identity + profiles | {options.customers:,} customers, "
            f"seed {options.seed} ({floor_rows / 1e6:.1f}M raw rows read) | `dbt {' '.join(IDENTITY_ARGS)}` "
            f"{identity.seconds:.0f} s + `dbt {' '.join(PROFILE_ARGS)}` {profiles.seconds:.0f} s = {total:.0f} s "
            f"wall, {cpu:.0f} s CPU; floor scan {floor_seconds:.1f} s wall / {floor_cpu:.1f} s CPU: {ratio:.0f}x "
            f"wall, {cpu_ratio:.0f}x CPU; peak RSS {peak:.1f} GB; model seconds over dbt's threads: {layer_text}; "
            f"slowest: {slow}; {identifiers:,} identifiers, {customers:,} customers; {goals}; load average "
            f"{load_before:.1f}/{load_after:.1f} before/after | {facts} |\n"
        )
        print(f"appended to {RESULTS}")
    if options.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary


if __name__ == "__main__":
    main()
