"""How fast, and in how much memory, does `segue generate` build a retailer?

Generates into a temporary DuckDB file (deleted afterwards unless --keep),
prints wall time, peak resident memory, rows per table and the machine, and
appends one row to bench/results.md.

    .venv/bin/python bench/bench_generate.py                   # 1,000,000 customers
    .venv/bin/python bench/bench_generate.py --customers 100000
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy  # noqa: E402
import pyarrow  # noqa: E402

from orchestration.generator import CHUNK_SIZE, GENERATOR_VERSION, generate  # noqa: E402

AS_OF = datetime(2026, 11, 20, 12)
RESULTS = ROOT / "bench" / "results.md"
HEADER = """# Benchmarks

One row per run of a script in `bench/` (newest last). Columns:

- **date**: when it ran (UTC).
- **benchmark**: which script: `generate` is `bench/bench_generate.py` (`segue generate` into a fresh
  DuckDB file); `run overhead` is `bench/bench_run_overhead.py`.
- **scale**: its input size.
- **result**: for `generate`, wall time of the whole call (open, write, close), peak resident memory of the
  process (`getrusage` ru_maxrss: Python, numpy, Arrow and DuckDB together), events and all raw rows
  written, raw rows per second, and the file size.
- **machine**: cores and memory the process could see, and the versions that matter for speed.

| date | benchmark | scale | result | machine |
|---|---|---|---|---|
"""


def memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 0


def machine_facts() -> str:
    return (
        f"{cores()} cores, {memory_gb():.0f} GB, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, numpy {numpy.__version__}, "
        f"pyarrow {pyarrow.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="write the warehouse here and keep it")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    parser.add_argument("--verbose", action="store_true", help="log each chunk and insert")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(relativeCreated)8.0f ms %(message)s"
    )
    for noisy in ("faker",):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="segue-bench-"))
    target = args.keep or tmp / "retailer.duckdb"
    try:
        started = time.perf_counter()
        counts = generate(str(target), customers=args.customers, seed=args.seed, as_of=AS_OF)
        wall = time.perf_counter() - started
        size_mb = target.stat().st_size / 2**20
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    total = sum(counts.values())

    print(f"\nsegue generate --customers {args.customers:,} --seed {args.seed} (generator {GENERATOR_VERSION}, "
          f"chunks of {CHUNK_SIZE:,})")  # fmt: skip
    print(f"  wall time      {wall:8.1f} s")
    print(f"  peak RSS       {peak_gb:8.2f} GB")
    print(f"  raw rows       {total:>12,} ({total / wall:,.0f} rows/s)")
    print(f"  file           {size_mb:8.0f} MB")
    for table, n in counts.items():
        print(f"    {table:<18} {n:>12,}")
    print(f"  machine        {machine_facts()}")

    if args.no_record:
        return
    if not RESULTS.exists():
        RESULTS.write_text(HEADER)
    result = (
        f"{wall:.0f} s, peak RSS {peak_gb:.1f} GB, {counts['events'] / 1e6:.1f}M events, "
        f"{total / 1e6:.1f}M raw rows ({total / wall / 1000:.0f}k rows/s), {size_mb / 1024:.1f} GB file"
    )
    with RESULTS.open("a") as fh:
        fh.write(
            f"| {datetime.now(UTC):%Y-%m-%d} | generate | {args.customers:,} customers, seed {args.seed} | "
            f"{result} | {machine_facts()} |\n"
        )
    print(f"\nappended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
