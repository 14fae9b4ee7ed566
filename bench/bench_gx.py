"""Which Great Expectations route works on DuckDB, and what it costs (bench/results.md).

Runs one suite (default: expectations/stg_shop__customers.yml) against a built
warehouse, each variant in a fresh subprocess so peak memory is its own:

- `sql`: GX's SQL datasource (`add_sql`, SQLAlchemy + duckdb-engine) on the table itself;
- `pandas-batches`: Segue's route (orchestration/quality/validate.py): projected
  columns streamed out of DuckDB in batches, row-level expectations per batch;
- `pandas-whole`: the same with one batch holding the whole table;
- each pandas variant with and without building Data Docs.

Usage: python bench/bench_gx.py --warehouse /tmp/w.duckdb [--model stg_shop__customers]
(build the warehouse with `segue generate --customers 100000` and `segue run --select group:staging`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from datetime import datetime
from pathlib import Path
variant, warehouse, model, batch_rows, docs = sys.argv[1:6]
t0 = time.perf_counter()
import great_expectations as gx
t_import = time.perf_counter() - t0
out = {"variant": variant, "import_s": round(t_import, 2)}
t1 = time.perf_counter()
if variant == "sql":
    from orchestration.quality.suites import load_suites
    from orchestration.quality.validate import build_expectation
    suite = load_suites()[model]
    ctx = gx.get_context(mode="ephemeral")
    ds = ctx.data_sources.add_sql(name="wh", connection_string=f"duckdb:///{warehouse}")
    asset = ds.add_query_asset(name=model, query=f"select * from staging.{model}")
    batch = asset.add_batch_definition("all").get_batch()
    gsuite = gx.ExpectationSuite(name=model)
    for e in suite.expectations:
        gsuite.add_expectation(build_expectation(gx, e))
    res = batch.validate(gsuite)
    errors = sorted({(r.exception_info or {}).get("exception_message") or "" for r in res.results if not r.success})
    out.update(rows=None, passed=bool(res.success), evaluated=len(res.results),
               failed=sum(not r.success for r in res.results), errors=[e[:160] for e in errors][:3])
else:
    from orchestration.quality.suites import load_suites
    from orchestration.quality.validate import run_suite
    suite = load_suites()[model]
    o = run_suite(suite, warehouse, "staging", None, datetime(2026, 11, 20, 12),
                  docs_dir=Path(docs) if docs != "-" else None, batch_rows=int(batch_rows))
    out.update(rows=o.row_count, passed=o.passed, evaluated=len(o.results), failed=len(o.failures), batches=o.batches)
out["validate_s"] = round(time.perf_counter() - t1, 2)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print("RESULT " + json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--model", default="stg_shop__customers")
    parser.add_argument("--batch-rows", type=int, default=250_000)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    docs = tempfile.mkdtemp(prefix="segue-bench-docs-")
    variants = [
        ("sql", "0", "-"),
        ("pandas-batches", str(args.batch_rows), "-"),
        ("pandas-batches", "20000", "-"),
        ("pandas-whole", str(10**9), "-"),
        ("pandas-batches+docs", str(args.batch_rows), docs),
    ]
    print("| variant | batch rows | rows | passed | failed/evaluated | import s | validate s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for variant, batch_rows, docs_dir in variants:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, variant, args.warehouse, args.model, batch_rows, docs_dir],
            cwd=repo,
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "PYTHONPATH": str(repo), "GX_ANALYTICS_ENABLED": "false"},
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"| {variant} | {batch_rows} | crashed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(line[7:])
        print(
            f"| {variant} | {batch_rows if variant != 'sql' else '-'} | {r.get('rows')} | {r['passed']} | "
            f"{r['failed']}/{r['evaluated']} | {r['import_s']} | {r['validate_s']} | {r['peak_rss_mb']} |"
        )
        if r.get("errors"):
            print(f"|  errors: {'; '.join(r['errors'])} |")


if __name__ == "__main__":
    main()
