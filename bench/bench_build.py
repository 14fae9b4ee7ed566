"""How fast, and in how much memory, does the whole dbt build run? And the incremental one?

Full build: on a generated retailer (the raw file is generated once and kept,
default /tmp/segue-bench/raw-<customers>-seed<seed>.duckdb; every run works
on a fresh copy of it), runs `dbt seed` then `dbt run --exclude
path:models/syncs` (staging, identity, profiles, segments, journeys: every
table the syncs read) in a dbt subprocess, and compares it with a "floor":
one DuckDB query, in this same process run, that scans every column of every
raw table once. Prints wall time, dbt's CPU time (user + sys of its process,
steadier than wall time on a shared machine), the slowest models (dbt's run_results.json),
the peak resident memory of dbt's process tree (sampled from /proc), the ratio
to the floor, the machine (cores, memory, load, versions), and appends one row
to bench/results.md.

With --incremental it then appends 1% new raw rows (append_raw_rows: new ids,
the rest copied from existing rows), runs the same `dbt run` again (the
incremental models only process the new rows), runs `dbt run --full-refresh`
on a copy of the same appended warehouse, and checks that every table and view
the two builds produced holds the same rows (staging, identity, profiles,
segments, journeys, marts).

Goals (issue 8, items 1 and 2): full build <= 90 s, <= 20x the floor, peak RSS
<= 6 GB at 1M customers (~30M events) on 2 cores; incremental build <= 15% of
the full build, results identical to the full rebuild.

    .venv/bin/python bench/bench_build.py                           # 1,000,000 customers
    .venv/bin/python bench/bench_build.py --customers 100000 --incremental
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from results_table import append_rows  # noqa: E402

AS_OF = datetime(2026, 11, 20, 12)
RESULTS = ROOT / "bench" / "results.md"
DBT_PROJECT = ROOT / "dbt_project"
# What the full build runs after `dbt seed`: every model except the sync views.
BUILD_ARGS = ["run", "--exclude", "path:models/syncs"]
# Schemas whose relations the incremental and full-refresh builds must agree on.
COMPARED_SCHEMAS = ("staging", "identity", "profiles", "segments", "journeys", "marts")
# DuckDB's memory cap while comparing two builds (compare_warehouses).
COMPARE_MEMORY_LIMIT = "8GB"
# Columns that say what a run did rather than what the data is: not compared.
RUN_STATE_COLUMNS = {"int_identity__graph_changes": ("is_affected",)}

# Raw tables the appended rows go to: (table, id column, time column). The new
# rows copy existing ones (every share-th by a stable hash of the id) under
# new ids; children (order_lines, pos_lines) follow their new parents.
APPENDED = [
    ("customers", "customer_id", "created_at"),
    ("loyalty_members", "loyalty_id", "enrolled_at"),
    ("orders", "order_id", "ordered_at"),
    ("pos_transactions", "transaction_id", "transacted_at"),
    ("identifies", "message_id", "timestamp"),
    ("events", "event_id", "timestamp"),
    ("consents", "consent_id", "recorded_at"),
    ("message_events", "event_id", "occurred_at"),
]
CHILDREN = [("order_lines", "orders", "order_id"), ("pos_lines", "pos_transactions", "transaction_id")]


# --------------------------------------------------------------------------- machine


def memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def machine_facts() -> str:
    import dbt.version

    try:
        import dbt.adapters.duckdb.__version__ as dbt_duckdb_version

        adapter = f", dbt-duckdb {dbt_duckdb_version.version}"
    except ImportError:  # pragma: no cover - adapter always installed with Segue
        adapter = ""
    return (
        f"{os.cpu_count()} cores, {memory_gb():.0f} GB, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"dbt-core {dbt.version.__version__}{adapter}"
    )


def load_average() -> float:
    return os.getloadavg()[0]


def record(row: str, results: Path = RESULTS) -> None:
    """Add a row at the end of the main table of bench/results.md (sections with tables of their own follow it)."""
    append_rows([row.rstrip("\n")], results)


# --------------------------------------------------------------------------- data


def default_raw_path(customers: int, seed: int) -> Path:
    return Path(tempfile.gettempdir()) / "segue-bench" / f"raw-{customers}-seed{seed}.duckdb"


def has_retailer(path: Path, customers: int, seed: int) -> bool:
    if not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        row = con.execute("select customers, seed from truth.generation").fetchone()
        return row is not None and tuple(row) == (customers, seed)
    except duckdb.Error:
        return False
    finally:
        con.close()


def ensure_raw(path: Path, customers: int, seed: int) -> None:
    """Generate the raw retailer into `path` unless it already holds it (generated once, then reused)."""
    if has_retailer(path, customers, seed):
        print(f"reusing the generated retailer {path}", flush=True)
        return
    from orchestration.generator import generate

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    print(f"generating {customers:,} customers (seed {seed}) into {path} (kept for later runs) ...", flush=True)
    started = time.perf_counter()
    generate(str(partial), customers=customers, seed=seed, as_of=AS_OF)
    partial.replace(path)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def raw_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        """select table_name, column_name from information_schema.columns
           where table_schema = 'raw' order by table_name, ordinal_position"""
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def floor_query(columns: dict[str, list[str]]) -> str:
    """One scan of every raw column: counts and total text length, so every value is read and nothing kept."""
    parts = []
    for table, names in columns.items():
        lengths = " + ".join(f'coalesce(length(cast("{c}" as varchar)), 0)' for c in names)
        parts.append(f"select '{table}' as t, count(*) as n, sum({lengths}) as chars from raw.{table}")
    return " union all ".join(parts)


def run_floor(path: Path) -> tuple[float, int]:
    """Wall seconds of the floor scan and the raw rows it read (a warm-up scan first, as dbt's reads are warm)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        query = floor_query(raw_columns(con))
        con.execute(query).fetchall()
        started = time.perf_counter()
        rows = con.execute(query).fetchall()
        elapsed = time.perf_counter() - started
    finally:
        con.close()
    return elapsed, sum(n for _, n, _ in rows)


def append_raw_rows(path: Path, share: float = 0.01, tag: str = "inc1") -> dict[str, int]:
    """Append about `share` new rows to every raw table that grows (APPENDED), and their lines.

    Each new row copies an existing one (chosen by a stable hash of its id) under
    a new id `<id>-<tag>`; new customers and loyalty members get a new email
    (`<tag>.<email>`) and no phone, so they are new people rather than copies
    that would merge with the old ones. Returns rows appended per table.
    """
    modulus = max(1, round(1 / share))
    appended: dict[str, int] = {}
    con = duckdb.connect(str(path))
    try:
        for table, id_column, _ in APPENDED:
            replace = [f"{id_column} || '-{tag}' as {id_column}"]
            if table in ("customers", "loyalty_members"):
                replace += [f"'{tag}.' || email as email", "null as phone"]
            if table == "loyalty_members":
                replace += ["null as customer_id"]
            replaced = ", ".join(replace)
            excluded = ", ".join(expr.rsplit(" as ", 1)[1] for expr in replace)
            count = con.execute(
                f"""insert into raw.{table} by name
                    select * exclude ({excluded}), {replaced} from raw.{table}
                    where {id_column} is not null and hash({id_column}) % {modulus} = 0
                      and not ends_with({id_column}, '-{tag}')"""
            ).fetchone()[0]
            appended[table] = count
        for child, parent, key in CHILDREN:
            count = con.execute(
                f"""insert into raw.{child} by name
                    select * exclude ({key}), {key} || '-{tag}' as {key} from raw.{child}
                    where {key} in (select left({key}, length({key}) - {len(tag) + 1})
                                    from raw.{parent} where ends_with({key}, '-{tag}'))"""
            ).fetchone()[0]
            appended[child] = count
    finally:
        con.close()
    return appended


def multiset_difference_sql(left: str, right: str) -> str:
    """A query giving (rows only in left, rows only in right) of two relations, duplicates counted.

    The same counts as EXCEPT ALL both ways (nulls compare equal, as there), in one
    grouping of both sides instead of two: half the hashing and spilling, which
    at 1M customers was most of the incremental bench's time (about 38 minutes).
    """
    return f"""
        select
            coalesce(sum(case when surplus > 0 then surplus else 0 end), 0),
            coalesce(sum(case when surplus < 0 then -surplus else 0 end), 0)
        from (
            select * exclude (compare_side), sum(compare_side) as surplus
            from (
                select *, 1 as compare_side from {left}
                union all by name
                select *, -1 as compare_side from {right}
            ) as both_sides
            group by all
            having sum(compare_side) <> 0
        ) as differing
    """


def compare_warehouses(left: Path, right: Path, schemas: tuple[str, ...] = COMPARED_SCHEMAS) -> list[str]:
    """Relations (tables and views) of `schemas` whose rows differ between two warehouses, with the counts."""
    con = duckdb.connect()
    try:
        # A cap (comparing 29M events otherwise takes DuckDB's default of 80% of RAM: 19 GB at
        # 1M customers), spilling to the builds' folder. Twice the builds' own cap (profiles.yml):
        # the grouping of both sides at once ran out of memory within 4 GB at 1M customers, and
        # this check is not part of the measured build.
        con.execute(f"set memory_limit = '{COMPARE_MEMORY_LIMIT}'")
        con.execute("set preserve_insertion_order = false")
        con.execute("set enable_progress_bar = false")
        con.execute(f"set temp_directory = '{left.with_name(left.name + '.tmp')}'")
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        schema_list = ", ".join(f"'{s}'" for s in schemas)
        relations = con.execute(
            f"""select schema_name, table_name from duckdb_tables()
                where database_name = 'l' and schema_name in ({schema_list})
                union all
                select schema_name, view_name from duckdb_views()
                where database_name = 'l' and schema_name in ({schema_list}) and not internal
                order by 1, 2"""
        ).fetchall()
        differences = []
        for schema, name in relations:
            skipped = RUN_STATE_COLUMNS.get(name)
            if skipped:
                left_rows = f"(select * exclude ({', '.join(skipped)}) from l.{schema}.{name})"
                right_rows = f"(select * exclude ({', '.join(skipped)}) from r.{schema}.{name})"
            else:
                left_rows, right_rows = f"l.{schema}.{name}", f"r.{schema}.{name}"
            query = multiset_difference_sql(left_rows, right_rows)
            only_left, only_right = con.execute(query).fetchone()
            if only_left or only_right:
                differences.append(
                    f"{schema}.{name}: {only_left} rows only in {left.name}, {only_right} only in {right.name}"
                )
        if not relations:
            differences.append("no relations to compare")
        return differences
    finally:
        con.close()


# --------------------------------------------------------------------------- dbt


@dataclass
class Build:
    seconds: float
    peak_rss_gb: float
    # user + sys CPU seconds of dbt's process (DuckDB runs inside it): on a shared
    # machine a steadier measure than wall time.
    cpu_seconds: float = 0.0
    timings: list[tuple[str, float]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def dbt_command(work: Path, args: list[str], as_of: datetime = AS_OF) -> list[str]:
    dbt = Path(sys.executable).parent / "dbt"
    return [
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
        # Incremental staging and identity are opt-in (dbt_project.yml); the bench measures them.
        json.dumps({"as_of": as_of.isoformat(sep=" "), "staging_incremental": True, "identity_incremental": True}),
    ]


def run_dbt(warehouse: Path, work: Path, args: list[str], threads: int | None = None, as_of: datetime = AS_OF) -> Build:
    """Run dbt on `warehouse` (dbt var as_of), sampling the resident memory of its process tree every 50 ms."""
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEGUE_WAREHOUSE": str(warehouse),
        "SEGUE_DBT_TARGET": "duckdb",
    }
    env.pop("SEGUE_AS_OF", None)
    if threads:
        env["SEGUE_DBT_THREADS"] = str(threads)
    peak = 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        dbt_command(work, args, as_of),
        cwd=DBT_PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _tree_rss_bytes(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    reader.join()
    if not peak:  # finished before the first sample: ru_maxrss of the largest finished child
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if proc.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed ({proc.returncode}):\n{''.join(output)[-6000:]}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    build = Build(seconds=elapsed, peak_rss_gb=peak / 2**30, cpu_seconds=cpu)
    results_path = work / "target" / "run_results.json"
    if results_path.exists() and args[0] in ("run", "build"):
        results = json.loads(results_path.read_text())["results"]
        build.timings = sorted(
            ((r["unique_id"].split(".")[-1], float(r["execution_time"])) for r in results), key=lambda item: -item[1]
        )
        for result in results:
            build.statuses[result["status"]] = build.statuses.get(result["status"], 0) + 1
    return build


def layer_seconds(timings: list[tuple[str, float]]) -> dict[str, float]:
    """Model seconds (summed over dbt's threads) per layer, by name."""
    layers: dict[str, float] = {}
    for name, seconds in timings:
        if name.startswith(("stg_", "base_")):
            layer = "staging"
        elif "identit" in name:
            layer = "identity"
        elif "profile" in name or "consent" in name:
            layer = "profiles"
        elif "segment" in name:
            layer = "segments"
        elif "journey" in name:
            layer = "journeys"
        else:
            layer = "other"
        layers[layer] = layers.get(layer, 0.0) + seconds
    return layers


def layers_text(timings: list[tuple[str, float]]) -> str:
    """`staging 63 s, journeys 34 s, ...`: model seconds per layer, largest first."""
    layers = layer_seconds(timings)
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in sorted(layers.items(), key=lambda i: -i[1]))


def build_args(select: str | None) -> list[str]:
    """`dbt run` of everything but the sync views, or of `select` (the tests' smoke runs select a few models)."""
    return ["run", "--select", *select.split()] if select else list(BUILD_ARGS)


def staged_counts(warehouse: Path) -> dict[str, int]:
    """Rows of the tables the results row names (those the build made)."""
    tables = {
        "events": "staging.stg_segment__events",
        "identifiers": "marts.customer_identifiers",
        "profiles": "marts.customer_profiles",
        "actions": "marts.journey_actions",
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        existing = {
            f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        }
        return {
            name: con.execute(f"select count(*) from {table}").fetchone()[0] if table in existing else 0
            for name, table in tables.items()
        }
    finally:
        con.close()


# --------------------------------------------------------------------------- main


def retailer_arguments(doc: str | None) -> argparse.ArgumentParser:
    """The options every build bench shares: which generated retailer, where to work, dbt's threads, recording."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--raw", type=Path, help="the generated raw retailer (made once, then reused)")
    parser.add_argument("--work", type=Path, help="folder for the build copies and dbt's target (default: temp)")
    parser.add_argument("--threads", type=int, help="dbt threads (default: SEGUE_DBT_THREADS or profiles.yml's 2)")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    return parser


def working_copy(options: argparse.Namespace, name: str) -> tuple[Path, Path]:
    """The work folder and a fresh copy of the raw retailer in it (generated first if it is not there yet)."""
    raw = options.raw or default_raw_path(options.customers, options.seed)
    ensure_raw(raw, options.customers, options.seed)
    work = options.work or Path(tempfile.mkdtemp(prefix=f"bench_{name}_"))
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / f"bench_{name}.duckdb"  # not `profiles.duckdb`: a catalog named like a schema
    shutil.copyfile(raw, warehouse)
    return work, warehouse


def describe(build: Build, top: int = 8) -> str:
    lines = [f"  {seconds:7.1f} s  {name}" for name, seconds in build.timings[:top]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = retailer_arguments(__doc__)
    parser.add_argument("--incremental", action="store_true", help="also run the incremental benchmark")
    parser.add_argument("--share", type=float, default=0.01, help="share of new raw rows appended (incremental)")
    parser.add_argument("--note", default="", help="free text added to the results row")
    parser.add_argument("--select", help="dbt selection instead of every model but the syncs (smoke tests)")
    options = parser.parse_args(argv)

    work, warehouse = working_copy(options, "build")
    facts = machine_facts()
    print(f"machine: {facts}", flush=True)
    load_before = load_average()
    floor_seconds, floor_rows = run_floor(warehouse)
    print(f"floor: one scan of every raw column, {floor_rows:,} rows, {floor_seconds:.2f} s", flush=True)
    args = build_args(options.select)
    seed = run_dbt(warehouse, work, ["seed"], options.threads)
    build = run_dbt(warehouse, work, args, options.threads)
    total = seed.seconds + build.seconds
    peak = max(seed.peak_rss_gb, build.peak_rss_gb)
    ratio = total / floor_seconds if floor_seconds else float("nan")
    load_after = load_average()
    counts = staged_counts(warehouse)
    events, identifiers, customers, actions = (counts[k] for k in ("events", "identifiers", "profiles", "actions"))
    layer_text = layers_text(build.timings)
    print(
        f"full build (dbt seed + dbt {' '.join(args)}): {total:.1f} s wall (seed {seed.seconds:.1f} s), "
        f"{ratio:.1f}x the floor, peak RSS {peak:.2f} GB (dbt's process tree); dbt run CPU {build.cpu_seconds:.1f} s; "
        f"model seconds summed over threads: {layer_text}; "
        f"{events:,} events staged, {identifiers:,} identifiers, {customers:,} profiles, {actions:,} journey actions; "
        f"load average {load_before:.1f} before, {load_after:.1f} after",
        flush=True,
    )
    print("slowest models:\n" + describe(build), flush=True)
    goals = f"goals: <= 90 s {'met' if total <= 90 else 'MISSED'}, <= 20x floor {'met' if ratio <= 20 else 'MISSED'}, "
    goals += f"<= 6 GB {'met' if peak <= 6 else 'MISSED'}"
    print(goals, flush=True)
    summary = {
        "customers": options.customers,
        "full_seconds": total,
        "floor_seconds": floor_seconds,
        "ratio": ratio,
        "peak_rss_gb": peak,
        "events": events,
        "identifiers": identifiers,
        "profiles": customers,
        "timings": build.timings,
    }
    slow = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in build.timings[:4])
    row = (
        f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | build | {options.customers:,} customers, seed {options.seed} "
        f"({floor_rows / 1e6:.1f}M raw rows, {events / 1e6:.1f}M events staged) | full build "
        f"(`dbt seed` + `dbt {' '.join(args)}`) {total:.0f} s wall, {ratio:.0f}x the floor scan "
        f"({floor_seconds:.1f} s), dbt run CPU {build.cpu_seconds:.0f} s, peak RSS {peak:.1f} GB; "
        f"model seconds over dbt's threads: {layer_text}; "
        f"slowest: {slow}; {goals}; load average {load_before:.1f}/{load_after:.1f} before/after"
    )

    if options.incremental:
        incremental_row = incremental_bench(options, args, work, warehouse, build)
        summary.update(incremental_row[1])
        row += "; " + incremental_row[0]
    if options.note:
        row += f"; {options.note}"
    row += f" | {facts} |\n"
    if not options.no_record:
        record(row)
        print(f"appended to {RESULTS}")
    if options.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def incremental_bench(options, args: list[str], work: Path, warehouse: Path, full: Build):
    appended = append_raw_rows(warehouse, options.share)
    rebuilt = work / "rebuilt.duckdb"
    shutil.copyfile(warehouse, rebuilt)
    new_rows = sum(appended.values())
    print(f"appended {new_rows:,} raw rows ({options.share:.0%}): {appended}", flush=True)
    incremental = run_dbt(warehouse, work, args, options.threads)
    share = incremental.seconds / full.seconds if full.seconds else float("nan")
    cpu_share = incremental.cpu_seconds / full.cpu_seconds if full.cpu_seconds else float("nan")
    print(
        f"incremental build (dbt {' '.join(args)}): {incremental.seconds:.1f} s wall, "
        f"{share:.0%} of the full build's dbt run ({full.seconds:.1f} s); CPU {incremental.cpu_seconds:.1f} s, "
        f"{cpu_share:.0%} of the full run's {full.cpu_seconds:.1f} s; peak RSS {incremental.peak_rss_gb:.2f} GB; "
        f"model seconds summed over threads: {layers_text(incremental.timings)}",
        flush=True,
    )
    print("slowest models (incremental):\n" + describe(incremental), flush=True)
    refresh = run_dbt(rebuilt, work, [*args, "--full-refresh"], options.threads)
    differences = compare_warehouses(warehouse, rebuilt)
    identical = not differences
    print(
        f"full rebuild of the appended warehouse: {refresh.seconds:.1f} s (CPU {refresh.cpu_seconds:.1f} s); "
        "incremental = full rebuild: "
        f"{'identical' if identical else 'DIFFERENT'}",
        flush=True,
    )
    for difference in differences[:20]:
        print(f"  {difference}")
    goal = "met" if share <= 0.15 else "MISSED"
    text = (
        f"incremental after {new_rows:,} appended raw rows ({options.share:.0%}): {incremental.seconds:.0f} s = "
        f"{share:.0%} of the full dbt run (goal <= 15% {goal}; CPU {cpu_share:.0%} of the full run's; model seconds "
        f"{layers_text(incremental.timings)}; full rebuild of the same data {refresh.seconds:.0f} s), "
        f"results {'identical to' if identical else 'DIFFERENT from'} the full rebuild"
    )
    if not identical:
        text += f" ({len(differences)} relations differ: {', '.join(d.split(':')[0] for d in differences[:5])})"
    return text, {
        "incremental_seconds": incremental.seconds,
        "incremental_share": share,
        "incremental_cpu_share": cpu_share,
        "refresh_seconds": refresh.seconds,
        "identical": identical,
        "differences": differences,
        "appended": appended,
        "incremental_timings": incremental.timings,
    }


if __name__ == "__main__":
    main()
