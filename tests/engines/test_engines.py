"""One generated retailer, built by the same dbt project on DuckDB, PostgreSQL and Spark.

The published marts must be identical on all three: same rows, same keys, every
column compared after a canonical, tolerance-free ordering (floats rounded to 6
decimals, timestamps to the microsecond). The sync engine's plan SQL (rendered by
sqlglot per dialect) must give the same plan on each, and its state/ledger SQL
must run on PostgreSQL.

Run with `make test-engines` (needs PostgreSQL reachable through SEGUE_PG_* and Java
17 for Spark; `.ci/run` provides both). Timings are printed and written to
$SEGUE_ENGINES_REPORT when set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import sqlglot

from destinations import state
from destinations.config import load_manifest, load_specs
from destinations.engine import plan_query
from orchestration import engines
from orchestration.generator import generate

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CUSTOMERS = int(os.environ.get("SEGUE_ENGINES_CUSTOMERS", "300"))
SEED = 11
AS_OF = dt.datetime(2026, 11, 20, 12, 0, 0)
# Every engine by default (make test-engines, CI); SEGUE_ENGINES=postgres narrows a local run.
OTHER_ENGINES = tuple(e for e in os.environ.get("SEGUE_ENGINES", "postgres,spark").split(",") if e)
ENGINES = ("duckdb", *OTHER_ENGINES)
# The published tables compared across engines, with the columns that key a row.
COMPARED = {
    "customer_identifiers": ("identifier_type", "identifier_value"),
    "customer_profiles": ("customer_key",),
    "segment_memberships": ("segment", "customer_key"),
    "journey_actions": ("action_id",),
}
# The actions sync whose ledger the state test exercises.
ACTIONS = (
    "sync_klaviyo__journey_emails",
    "syncs.sync_klaviyo__journey_emails",
    "action_id",
    ["action_id", "to_address"],
)


@dataclass
class Build:
    engine: str
    load_seconds: float
    build_seconds: float
    env: dict[str, str]
    work: Path
    tables: dict[str, list[tuple]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)


# --- canonical form ------------------------------------------------------------------------


def _canon_value(value) -> str | None:
    """One text per value, whatever the engine's driver returned (no tolerance beyond rounding)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        number = round(float(value), 6)
        return str(int(number)) if number.is_integer() else f"{number:.6f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _canon_value(value.item())
    return str(value)


def canonical(columns: list[str], rows: list[tuple]) -> tuple[list[str], list[tuple]]:
    """Columns by name, each value as canonical text, rows sorted (None first)."""
    order = sorted(range(len(columns)), key=lambda i: columns[i].lower())
    names = [columns[i].lower() for i in order]
    out = [tuple(_canon_value(row[i]) for i in order) for row in rows]
    out.sort(key=lambda r: tuple((v is not None, v or "") for v in r))
    return names, out


# --- reading each engine -------------------------------------------------------------------


def _read(build: Build, sql: str) -> tuple[list[str], list[tuple]]:
    if build.engine == "duckdb":
        con = duckdb.connect(build.env["SEGUE_WAREHOUSE"], read_only=True)
        try:
            cur = con.execute(sql)
            return [d[0] for d in cur.description], cur.fetchall()
        finally:
            con.close()
    if build.engine == "postgres":
        with _env(build.env), engines.postgres_connection() as pg, pg.cursor() as cur:
            cur.execute(sql)
            return [d.name for d in cur.description], cur.fetchall()
    raise AssertionError("Spark is read in one session per build: see _read_spark")


def _read_spark(build: Build, queries: dict[str, str]) -> dict[str, tuple[list[str], list[tuple]]]:
    with _env(build.env):
        spark = engines.spark_session()
        try:
            out = {}
            for name, sql in queries.items():
                frame = spark.sql(sql)
                out[name] = (frame.columns, [tuple(r) for r in frame.collect()])
            return out
        finally:
            engines.stop_spark(spark)


class _env:
    """Temporarily set environment variables (the engines' settings)."""

    def __init__(self, values: dict[str, str]):
        self.values, self.saved = values, {}

    def __enter__(self):
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- building ------------------------------------------------------------------------------


def _dbt_build(engine: str, env: dict[str, str], work: Path, select: str = "", incremental: bool = False) -> float:
    dbt = Path(sys.executable).parent / "dbt"
    args = [
        str(dbt if dbt.exists() else "dbt"),
        "build",
        "--target",
        engine,
        "--exclude-resource-type",
        "unit_test",
        *(["--select", select] if select else []),
        "--vars",
        json.dumps({"as_of": AS_OF.strftime("%Y-%m-%dT%H:%M:%S"), "staging_incremental": incremental}),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    started = time.perf_counter()
    proc = subprocess.run(
        args,
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **env, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    (work / f"dbt-build{'-' + select if select else ''}.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"dbt build on {engine} failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}"
    return seconds


_SPECS: list = []


def _plan_queries(dialect: str) -> dict[str, str]:
    """The plan of every declared sync (dbt YAML meta.sync), rendered by sqlglot for `dialect`."""
    return {f"plan_{spec.mode}": plan_query(spec, AS_OF, dedupes=True, dialect=dialect) for spec in _SPECS}


def _state_ddl(dialect: str) -> list[str]:
    """destinations/state.py's tables in another dialect (constraints dropped on Spark: it has none)."""
    statements = []
    for statement in state.DDL:
        tree = sqlglot.parse_one(statement, read="duckdb")
        if dialect == "spark":
            for node in list(tree.find_all(sqlglot.exp.ColumnConstraint, sqlglot.exp.PrimaryKey)):
                node.pop()
            if isinstance(tree, sqlglot.exp.Create) and tree.kind == "TABLE":
                tree.set(
                    "properties",
                    sqlglot.exp.Properties(
                        expressions=[sqlglot.exp.FileFormatProperty(this=sqlglot.exp.Var(this="PARQUET"))]
                    ),
                )
        statements.append(tree.sql(dialect=dialect))
    return statements


@pytest.fixture(scope="session")
def retailer(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("engines") / "retailer.duckdb"
    generate(str(path), customers=CUSTOMERS, seed=SEED, as_of=AS_OF)
    return path


@contextlib.contextmanager
def _fresh_postgres_database(name: str):
    """A database of its own on the configured server, created fresh and dropped at the end."""
    import psycopg

    admin = {**os.environ, "SEGUE_PG_DATABASE": os.environ.get("SEGUE_PG_ADMIN_DATABASE", "postgres")}

    def admin_execute(statement: str) -> None:
        with _env(admin):
            try:
                con = psycopg.connect(engines.postgres_conninfo(), autocommit=True)
            except psycopg.OperationalError as exc:
                pytest.fail(f"PostgreSQL is not reachable (SEGUE_PG_HOST/PORT/USER): {exc}")
            with con:
                con.execute(statement)

    admin_execute(f'drop database if exists "{name}" with (force)')
    admin_execute(f'create database "{name}"')
    try:
        yield name
    finally:
        admin_execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def postgres_database():
    with _fresh_postgres_database(os.environ.get("SEGUE_ENGINES_PG_DATABASE", "segue_engines_test")) as name:
        yield name


@pytest.fixture(scope="session")
def builds(retailer, request, tmp_path_factory) -> dict[str, Build]:
    """Each engine built once from the same raw data; tables and plans read back canonically.

    PostgreSQL is reached only when SEGUE_ENGINES names it: a Spark-only run needs Java alone.
    """
    postgres_database = request.getfixturevalue("postgres_database") if "postgres" in ENGINES else ""
    root = tmp_path_factory.mktemp("builds")
    out: dict[str, Build] = {}
    for engine in ENGINES:
        work = root / engine
        work.mkdir()
        env = {"SEGUE_DBT_TARGET": engine, "SEGUE_AS_OF": AS_OF.strftime("%Y-%m-%dT%H:%M:%S")}
        load_seconds = 0.0
        if engine == "duckdb":
            env["SEGUE_WAREHOUSE"] = str(work / "warehouse.duckdb")
            shutil.copy(retailer, env["SEGUE_WAREHOUSE"])
        else:
            env["SEGUE_WAREHOUSE"] = str(retailer)
            if engine == "postgres":
                env["SEGUE_PG_DATABASE"] = postgres_database
            env["SEGUE_SPARK_DIR"] = str(work / "spark")
            with _env(env):
                _, load_seconds = engines.copy_raw(str(retailer), engine)
        build = Build(engine, load_seconds, _dbt_build(engine, env, work), env, work)
        if not _SPECS:
            _SPECS.extend(load_specs(load_manifest(work / "target" / "manifest.json")))
            assert {s.mode for s in _SPECS} == {"upsert", "mirror", "actions"}, _SPECS
        queries = {t: f"select * from marts.{t}" for t in COMPARED}
        if engine == "spark":
            # Same session: the sync state tables, then every read.
            with _env(env):
                spark = engines.spark_session()
                try:
                    for statement in _state_ddl("spark"):
                        spark.sql(statement)
                    results = {}
                    for name, sql in {**queries, **_plan_queries("spark")}.items():
                        frame = spark.sql(sql)
                        results[name] = (frame.columns, [tuple(r) for r in frame.collect()])
                finally:
                    engines.stop_spark(spark)
        else:
            if engine == "duckdb":
                con = duckdb.connect(env["SEGUE_WAREHOUSE"])
                state.ensure_state(con)
                con.close()
            else:
                with _env(env), engines.postgres_connection() as pg:
                    for statement in _state_ddl("postgres"):
                        pg.execute(statement)
                    pg.commit()
            results = {name: _read(build, sql) for name, sql in {**queries, **_plan_queries(engine)}.items()}
        for name, (columns, rows) in results.items():
            build.columns[name], build.tables[name] = canonical(columns, rows)
        out[engine] = build
    report = {
        e: {"load_seconds": round(b.load_seconds, 1), "build_seconds": round(b.build_seconds, 1)}
        for e, b in out.items()
    }
    print("\nengine build times:", json.dumps(report))
    if os.environ.get("SEGUE_ENGINES_REPORT"):
        Path(os.environ["SEGUE_ENGINES_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    return out


def _first_differences(name: str, reference: Build, other: Build, limit: int = 5) -> str:
    ref_rows, other_rows = set(reference.tables[name]), set(other.tables[name])
    only_ref = sorted(ref_rows - other_rows, key=str)[:limit]
    only_other = sorted(other_rows - ref_rows, key=str)[:limit]
    cols = reference.columns[name]
    missing, extra = len(ref_rows - other_rows), len(other_rows - ref_rows)
    lines = [f"{name}: {missing} rows only on duckdb, {extra} only on {other.engine} ({CUSTOMERS} customers)"]
    lines += [f"  duckdb only: {dict(zip(cols, r, strict=True))}" for r in only_ref]
    lines += [f"  {other.engine} only: {dict(zip(cols, r, strict=True))}" for r in only_other]
    return "\n".join(lines)


@pytest.mark.parametrize("engine", OTHER_ENGINES)
@pytest.mark.parametrize("table", sorted(COMPARED))
def test_mart_identical_to_duckdb(builds, table, engine):
    reference, other = builds["duckdb"], builds[engine]
    assert reference.tables[table], f"marts.{table} is empty on DuckDB: the comparison would prove nothing"
    assert other.columns[table] == reference.columns[table], (
        f"marts.{table} columns differ on {engine}: {sorted(set(other.columns[table]) ^ set(reference.columns[table]))}"
    )
    keys = COMPARED[table]
    key_index = [reference.columns[table].index(k) for k in keys]
    ref_keys = [tuple(r[i] for i in key_index) for r in reference.tables[table]]
    assert len(ref_keys) == len(set(ref_keys)), f"marts.{table} has duplicate keys {keys} on DuckDB"
    assert other.tables[table] == reference.tables[table], _first_differences(table, reference, other)


@pytest.mark.parametrize("engine", ENGINES)
def test_second_build_keeps_segment_entries(builds, engine):
    """segment_memberships reads its own previous table: a second build works and keeps entered_at."""
    build = builds[engine]
    _dbt_build(engine, build.env, build.work, select="segment_memberships")
    sql = "select * from marts.segment_memberships"
    if engine == "spark":
        columns, rows = _read_spark(build, {"memberships": sql})["memberships"]
    else:
        columns, rows = _read(build, sql)
    assert canonical(columns, rows) == (build.columns["segment_memberships"], build.tables["segment_memberships"])


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_staging_with_nothing_new_keeps_the_staged_events(builds, engine):
    """An incremental run of the two event tables over the built ones stages nothing twice and loses nothing.

    It runs each adapter's anti-join against the staged keys (segue.not_staged: `not in` on DuckDB,
    `not exists` elsewhere) and delete+insert; Spark (Parquet tables: no delete or merge) rebuilds them.
    """
    build = builds[engine]
    sql = {
        name: f"select count(*) as n, count(distinct event_id) as ids from staging.{name}"
        for name in ("stg_segment__events", "stg_esp__message_events")
    }

    def counts() -> dict[str, tuple]:
        if engine == "spark":
            return {name: tuple(rows[0]) for name, (_, rows) in _read_spark(build, sql).items()}
        return {name: tuple(_read(build, query)[1][0]) for name, query in sql.items()}

    before = counts()
    assert all(n > 0 and n == ids for n, ids in before.values()), before
    _dbt_build(engine, build.env, build.work, select=" ".join(sql), incremental=True)
    assert counts() == before


@pytest.mark.parametrize("engine", OTHER_ENGINES)
@pytest.mark.parametrize("plan_name", ["plan_upsert", "plan_mirror", "plan_actions"])
def test_sync_plan_identical_to_duckdb(builds, plan_name, engine):
    """sqlglot's plan SQL in each dialect: same keys, same row hashes, same ops."""
    reference, other = builds["duckdb"], builds[engine]
    assert reference.tables[plan_name], f"{plan_name} is empty on DuckDB"
    assert other.tables[plan_name] == reference.tables[plan_name], _first_differences(plan_name, reference, other)


class PostgresStateConnection:
    """The calls destinations/state.py makes on a DuckDB connection, served by PostgreSQL.

    `execute(sql, params)` is transpiled by sqlglot (DuckDB to PostgreSQL: `?` becomes
    `%s`, `double` becomes `double precision`); `register(name, arrow_table)` becomes a
    temporary table filled by COPY. So the state and ledger SQL runs unchanged.
    """

    def __init__(self, pg):
        self.pg = pg

    def execute(self, sql: str, params=()):
        translated = sqlglot.transpile(sql, read="duckdb", write="postgres")[0]
        return self.pg.execute(translated, list(params) or None)

    def register(self, name: str, table) -> None:
        columns = ", ".join(f'"{c}" text' for c in table.column_names)
        self.pg.execute(f'create temporary table "{name}" ({columns})')
        with self.pg.cursor().copy(f'copy "{name}" from stdin with (format csv)') as copy:
            for chunk in engines._csv_chunks(table.to_batches()):
                copy.write(chunk)

    def unregister(self, name: str) -> None:
        self.pg.execute(f'drop table "{name}"')


def _exercise_state(con, plan_sql: str, keys: list[str]) -> None:
    """Every state/ledger statement of destinations/state.py, in the order a sync run makes them."""
    now = dt.datetime(2026, 11, 20, 12, 0, 0)
    later = now + dt.timedelta(hours=1)
    name = ACTIONS[0]
    state.ensure_state(con)
    con.execute(f"create table {state.plan_table(name)} as {plan_sql}")
    sent, rejected, failed = keys[0::3], keys[1::3], keys[2::3]
    state.ledger_intent(con, name, "klaviyo", keys, [f"{k}@example.test" for k in keys], now)
    state.ledger_outcome(con, name, "klaviyo", sent, "delivered", False, [None] * len(sent), later)
    state.ledger_outcome(con, name, "klaviyo", rejected, "rejected", False, ["bad address"] * len(rejected), later)
    state.ledger_outcome(con, name, "klaviyo", failed, "pending", True, ["timeout"] * len(failed), later, None, True)
    state.ledger_intent(con, name, "klaviyo", failed, [None] * len(failed), later)
    state.confirm_upserts(con, name, sent, later)
    state.record_rejections(con, name, {k: ("invalid", "bad address") for k in rejected}, now)
    state.record_rejections(con, name, {k: ("invalid", "still bad") for k in rejected}, later)
    state.record_failures(con, name, "send", {k: "timeout" for k in failed}, now)
    state.record_failures(con, name, "send", {k: "timeout again" for k in failed}, later)
    state.confirm_removals(con, name, sent[:1])


STATE_TABLES = {
    "action_deliveries": "select * from segue.action_deliveries",
    "sync_send_ledger": "select * from segue.sync_send_ledger",
    "sync_snapshots": "select * from segue.sync_snapshots",
    "sync_rejections": "select * from segue.sync_rejections",
    "sync_failed_keys": "select * from segue.sync_failed_keys",
}


@pytest.mark.skipif("postgres" not in OTHER_ENGINES, reason="SEGUE_ENGINES leaves PostgreSQL out")
def test_sync_state_sql_runs_on_postgres(builds, tmp_path):
    """destinations/state.py's DDL, upserts and ledger on PostgreSQL give the same state as on DuckDB."""
    duck_build, pg_build = builds["duckdb"], builds["postgres"]
    key_index = duck_build.columns["plan_actions"].index("record_key")
    keys = sorted(r[key_index] for r in duck_build.tables["plan_actions"])[:30]
    assert len(keys) >= 6, "too few journey emails to exercise the ledger"

    warehouse = tmp_path / "state.duckdb"
    shutil.copy(duck_build.env["SEGUE_WAREHOUSE"], warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        _exercise_state(con, _plan_queries("duckdb")["plan_actions"], keys)
        expected = {}
        for name, sql in STATE_TABLES.items():
            cur = con.execute(sql)
            expected[name] = canonical([d[0] for d in cur.description], cur.fetchall())
    finally:
        con.close()

    with _env(pg_build.env), engines.postgres_connection() as pg:
        try:
            _exercise_state(PostgresStateConnection(pg), _plan_queries("postgres")["plan_actions"], keys)
            for name, sql in STATE_TABLES.items():
                cur = pg.execute(sql)
                got = canonical([d.name for d in cur.description], cur.fetchall())
                assert got == expected[name], f"segue.{name} differs on PostgreSQL:\n{got}\n!=\n{expected[name]}"
            delivered = pg.execute("select count(*) from segue.action_deliveries where status = 'delivered'")
            assert delivered.fetchone()[0] == len(keys[0::3])
        finally:
            pg.rollback()


@pytest.mark.parametrize("engine", [e for e in OTHER_ENGINES if e == "postgres"])
def test_segue_run_on_postgres_builds_the_same_marts(builds, retailer, postgres_database, engine, tmp_path):
    """The user's path: `segue load-raw` then `segue run` with SEGUE_DBT_TARGET=postgres (Dagster, not dbt by hand).

    Its own database, so the dbt-built one above is untouched; the marts it publishes equal
    those of `dbt build`. (Spark's `segue run` was checked by hand: README, "Scaling out";
    its nine minutes would double this suite.)
    """
    raw = tmp_path / "retailer.duckdb"
    shutil.copy(retailer, raw)
    env = {
        **os.environ,
        "SEGUE_DBT_TARGET": engine,
        "SEGUE_WAREHOUSE": str(raw),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DO_NOT_TRACK": "1",
    }
    (tmp_path / "dagster_home").mkdir()
    as_of = AS_OF.strftime("%Y-%m-%dT%H:%M:%S")
    with _fresh_postgres_database(postgres_database + "_run") as name:
        env["SEGUE_PG_DATABASE"] = name
        for args in (["load-raw"], ["run", "--as-of", as_of]):
            proc = subprocess.run(
                [sys.executable, "-c", "from orchestration.cli import main; main()", *args],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode == 0, (
                f"segue {' '.join(args)} on {engine} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
            )
        assert "succeeded" in proc.stdout, proc.stdout[-3000:]
        run_build = Build(engine, 0.0, 0.0, {"SEGUE_PG_DATABASE": name}, tmp_path)
        for table in ("customer_identifiers", "customer_profiles", "segment_memberships"):
            columns, rows = canonical(*_read(run_build, f"select * from marts.{table}"))
            assert columns == builds[engine].columns[table]
            assert rows == builds[engine].tables[table], f"marts.{table} from `segue run` differs from `dbt build`"
