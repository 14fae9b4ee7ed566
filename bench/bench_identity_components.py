"""Identity at millions of identifiers: time and memory of the component computation.

Issue 8, item 6. On a generated retailer big enough to hold --identifiers
identifiers (customers = identifiers / IDENTIFIERS_PER_CUSTOMER, measured on
the generator: about 4.25 usable identifiers per customer; the raw file is
generated once and kept, like bench_build.py), first builds what identity
reads (`dbt seed`, then the staging models: `dbt run --select
+int_identity__records --exclude int_identity__records`, not timed),
then times `dbt run --select group:identity` in a dbt subprocess: the
records and their observations, nodes, edges, every label-propagation tier, the components and
their stable keys, customer_identifiers and the audit. Prints wall time, the
peak resident memory of dbt's process tree, the per-model times, identifiers
and customers (components), the machine, and appends one row to
bench/results.md.

    .venv/bin/python bench/bench_identity_components.py                     # 5,000,000 identifiers
    .venv/bin/python bench/bench_identity_components.py --identifiers 500000
    .venv/bin/python bench/bench_identity_components.py --built /tmp/b1m/work/bench_build.duckdb

--built takes a copy of a warehouse whose staging is already built (e.g. the
work copy bench_build.py leaves in --work) instead of generating and staging.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import duckdb  # noqa: E402
from bench_build import (  # noqa: E402
    RESULTS,
    load_average,
    machine_facts,
    record,
    retailer_arguments,
    run_dbt,
    working_copy,
)

# Usable identifiers per generated customer (424,910 at 100,000 customers, seed 42; bench/results.md).
IDENTIFIERS_PER_CUSTOMER = 4.25
STAGING_ARGS = ["run", "--select", "+int_identity__records", "--exclude", "int_identity__records"]
IDENTITY_ARGS = ["run", "--select", "group:identity"]


def main(argv: list[str] | None = None) -> dict:
    parser = retailer_arguments(__doc__)
    parser.set_defaults(customers=None)  # from --identifiers unless given
    parser.add_argument("--identifiers", type=int, default=5_000_000, help="about how many identifiers to resolve")
    parser.add_argument("--built", type=Path, help="a warehouse with staging built: copied, no generate/staging")
    options = parser.parse_args(argv)

    if options.built:
        work = options.work or Path(tempfile.mkdtemp(prefix="bench_components_"))
        work.mkdir(parents=True, exist_ok=True)
        warehouse = work / "components.duckdb"
        con = duckdb.connect(str(options.built), read_only=True)
        try:
            # The generator's customer count (raw.customers holds only those with an online account).
            customers = con.execute("select customers from truth.generation").fetchone()[0]
        finally:
            con.close()
        shutil.copyfile(options.built, warehouse)
        # A build that was stopped leaves its last tables in the WAL (DuckDB writes their
        # blocks to the file but only the WAL points at them until a checkpoint): copy it too,
        # or the copy holds only what was checkpointed (e.g. raw, without staging).
        wal = options.built.with_name(options.built.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, warehouse.with_name(warehouse.name + ".wal"))
    else:
        customers = options.customers = options.customers or math.ceil(options.identifiers / IDENTIFIERS_PER_CUSTOMER)
        work, warehouse = working_copy(options, "components")
    facts = machine_facts()
    print(f"machine: {facts}", flush=True)

    staging_seconds = 0.0
    if not options.built:
        run_dbt(warehouse, work, ["seed"], options.threads)
        staging = run_dbt(warehouse, work, STAGING_ARGS, options.threads)
        staging_seconds = staging.seconds
        print(f"staging (not timed in the result): {staging_seconds:.1f} s", flush=True)
    load_before = load_average()
    identity = run_dbt(warehouse, work, IDENTITY_ARGS, options.threads)
    load_after = load_average()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        identifiers, components, largest, edges = con.execute(
            """select count(*), count(distinct customer_key),
                      (select max(n) from (select count(*) as n from marts.customer_identifiers group by customer_key)),
                      (select count(*) from identity.int_identity__edges)
               from marts.customer_identifiers"""
        ).fetchone()
    finally:
        con.close()
    print(
        f"identity (dbt {' '.join(IDENTITY_ARGS)}): {identity.seconds:.1f} s wall, "
        f"{identity.cpu_seconds:.0f} s CPU, peak RSS "
        f"{identity.peak_rss_gb:.2f} GB (dbt's process tree); {identifiers:,} identifiers, {edges:,} edges, "
        f"{components:,} customers (largest {largest}); load average {load_before:.1f}/{load_after:.1f}",
        flush=True,
    )
    print("identity models:")
    for name, seconds in identity.timings:
        print(f"  {seconds:7.1f} s  {name}")
    summary = {
        "customers": customers,
        "identity_seconds": identity.seconds,
        "identity_cpu_seconds": identity.cpu_seconds,
        "peak_rss_gb": identity.peak_rss_gb,
        "identifiers": identifiers,
        "components": components,
        "edges": edges,
        "timings": identity.timings,
    }
    if not options.no_record:
        slow = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in identity.timings[:4])
        row = (
            f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | identity components | {identifiers:,} identifiers "
            f"({customers:,} customers generated, seed {options.seed}) | `dbt {' '.join(IDENTITY_ARGS)}` "
            f"{identity.seconds:.0f} s wall, {identity.cpu_seconds:.0f} s CPU (dbt and DuckDB, user + sys), "
            f"peak RSS {identity.peak_rss_gb:.1f} GB; {edges:,} edges, "
            f"{components:,} customers (largest {largest} identifiers); slowest: {slow}; staging before it "
            f"{staging_seconds:.0f} s (not counted; 0: --built); "
            f"load average {load_before:.1f}/{load_after:.1f} before/after "
            f"| {facts} |\n"
        )
        record(row)
        print(f"appended to {RESULTS}")
    if options.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary


if __name__ == "__main__":
    main()
