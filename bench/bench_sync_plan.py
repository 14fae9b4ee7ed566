"""How long does a sync plan take for a big audience with few changes, and does memory stay flat?

Builds a synced audience of N rows (model + snapshot as after a first sync),
changes 1% of the rows, adds 0.1% and drops 0.1%, then times the plan (SQL
inside DuckDB) and streams the rows to send as Arrow record batches, each in a
fresh process so peak RSS is the plan's own. Appends a row to bench/results.md.

    .venv/bin/python bench/bench_sync_plan.py --rows 1000000 --scale 10
"""

from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT / "bench"))


def spec():
    from destinations.config import SyncSpec

    return SyncSpec(
        name="sync_klaviyo__bench",
        relation="syncs.bench_audience",
        columns=["customer_id", "email", "first_name", "tier"],
        destination="klaviyo",
        mode="upsert",
        primary_key="customer_id",
        mapping={"external_id": "customer_id", "email": "email", "first_name": "first_name", "properties.tier": "tier"},
        object="profiles",
    )


def prepare(path: str, rows: int) -> None:
    import duckdb

    from destinations import engine, state

    con = duckdb.connect(path)
    con.execute("create schema syncs")
    con.execute(
        f"""create table syncs.bench_audience as
            select 'c' || lpad(cast(i as varchar), 9, '0') as customer_id,
                   'person' || i || '@example.com' as email, 'Name' || i as first_name,
                   case i % 4 when 0 then 'gold' else 'silver' end as tier
            from range({rows}) as t(i)"""
    )
    engine.compute_plan(con, spec(), datetime(2026, 1, 1), True)
    con.execute(
        f"insert into {state.SCHEMA}.sync_snapshots select ?, record_key, row_hash, now() "
        f"from {state.plan_table(spec().name)}",
        [spec().name],
    )
    changed, moved = rows // 100, rows // 1000
    con.execute(f"update syncs.bench_audience set tier = 'platinum' where hash(customer_id) % {rows} < {changed}")
    con.execute(f"delete from syncs.bench_audience where customer_id < 'c{moved:09d}'")
    con.execute(
        f"""insert into syncs.bench_audience select 'n' || lpad(cast(i as varchar), 9, '0'), 'new' || i || '@x.com',
            'New', 'gold' from range({moved}) as t(i)"""
    )
    con.close()


def measure(path: str) -> dict:
    import tracemalloc

    import pyarrow as pa

    from destinations import engine

    tracemalloc.start()
    cpu0, started = time.process_time(), time.perf_counter()
    con = engine.connect(path, engine.EngineSettings())
    counts = engine.compute_plan(con, spec(), datetime(2026, 1, 1), True)
    plan_seconds, plan_cpu = time.perf_counter() - started, time.process_time() - cpu0
    duckdb_mb = con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0] / 2**20
    delivery = engine._Delivery(spec(), None, None, engine.EngineSettings(), con, None, {})
    streamed, started = 0, time.perf_counter()
    for rows in engine._stream(delivery, ["add", "change"]):
        streamed += len(engine._records(spec(), rows))
    stream_seconds = time.perf_counter() - started
    con.close()
    _, python_peak = tracemalloc.get_traced_memory()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "plan_s": plan_seconds,
        "plan_cpu_s": plan_cpu,
        "stream_s": stream_seconds,
        "counts": counts,
        "streamed": streamed,
        "rss_mb": peak,
        # Python objects (tracemalloc) plus Arrow buffers: the memory Segue's own code holds
        "python_mb": (python_peak + pa.default_memory_pool().max_memory()) / 2**20,
        "duckdb_mb": duckdb_mb,
    }


def run(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.duckdb")
        subprocess.run([sys.executable, __file__, "--prepare", path, "--rows", str(rows)], check=True)
        out = subprocess.run([sys.executable, __file__, "--measure", path], check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=10, help="also run at rows x scale to show memory stays flat")
    parser.add_argument("--prepare")
    parser.add_argument("--measure")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.rows)
        return
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    import duckdb

    results = [(args.rows, run(args.rows))]
    if args.scale > 1:
        results.append((args.rows * args.scale, run(args.rows * args.scale)))
    parts = []
    for rows, r in results:
        c = r["counts"]
        parts.append(
            f"{rows:,} rows: plan {r['plan_s']:.1f} s (add {c.get('add', 0):,}, change {c.get('change', 0):,}, "
            f"departed {c.get('departed', 0):,}; CPU {r['plan_cpu_s']:.1f} s), streamed {r['streamed']:,} rows to "
            f"send in {r['stream_s']:.1f} s, Python + Arrow peak {r['python_mb']:.0f} MB, DuckDB buffers after plan "
            f"{r['duckdb_mb']:.0f} MB, peak RSS {r['rss_mb']:.0f} MB"
        )
    import os

    machine = (
        f"{os.cpu_count()} cores, Linux {platform.machine()}, python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}"
    )
    load = os.getloadavg()[0]
    machine += f", load average {load:.1f} at the end"
    row = (
        f"| {datetime.now(UTC):%Y-%m-%d} | sync plan | {args.rows:,} rows, 1% changed, x{args.scale} | "
        f"{'; '.join(parts)} | {machine} |"
    )
    print(row)
    from results_table import append_rows

    append_rows([row])


if __name__ == "__main__":
    main()
