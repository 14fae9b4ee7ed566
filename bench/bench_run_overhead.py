"""How much does running dbt through Dagster in-process cost over plain `dbt build`?

Both run in one process run on copies of the same generated warehouse, so the
ratio holds on a noisy machine. Appends a row to bench/results.md.

    .venv/bin/python bench/bench_run_overhead.py --customers 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orchestration  # noqa: E402,F401  (offline-safe env)
from orchestration.generator import generate  # noqa: E402
from orchestration.project import DBT_PROJECT_DIR, dbt_executable  # noqa: E402

AS_OF = datetime(2026, 11, 20, 12)


def _plain_dbt(warehouse: Path) -> float:
    env = {**os.environ, "SEGUE_WAREHOUSE": str(warehouse), "SEGUE_AS_OF": AS_OF.isoformat()}
    started = time.perf_counter()
    subprocess.run(
        [dbt_executable(), "build", "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", "target/bench"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _through_dagster(warehouse: Path) -> float:
    from orchestration import runner

    runner.apply_settings(str(warehouse), AS_OF.isoformat())
    started = time.perf_counter()
    outcome = runner.run()
    elapsed = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"segue run failed: {outcome.failed_steps}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    args = parser.parse_args()
    os.environ.pop("DAGSTER_HOME", None)  # ephemeral instance: measure the executor, not run storage
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.duckdb"
        generate(str(base), customers=args.customers, seed=1, as_of=AS_OF)
        plain_wh, dagster_wh = Path(tmp) / "plain.duckdb", Path(tmp) / "dagster.duckdb"
        shutil.copyfile(base, plain_wh)
        shutil.copyfile(base, dagster_wh)
        plain = _plain_dbt(plain_wh)
        dagster = _through_dagster(dagster_wh)
    ratio = dagster / plain
    facts = f"{os.cpu_count()} cores, python {platform.python_version()}"
    print(f"plain dbt build: {plain:.1f} s; segue run (Dagster in-process): {dagster:.1f} s; ratio {ratio:.2f}")
    results = ROOT / "bench" / "results.md"
    with results.open("a") as fh:
        fh.write(
            f"| {datetime.now():%Y-%m-%d} | run overhead | {args.customers:,} customers | "
            f"dbt build {plain:.1f} s, segue run {dagster:.1f} s, ratio {ratio:.2f} | {facts} |\n"
        )


if __name__ == "__main__":
    main()
