"""Other warehouses than DuckDB: PostgreSQL and Apache Spark (dbt targets `postgres` and `spark`).

The sample retailer generator writes DuckDB. `segue load-raw` (``copy_raw``) copies its
schema `raw` into the warehouse of the selected dbt target, so the same dbt project
builds there:

- PostgreSQL: each table is created with the contract's types and filled with COPY
  from Arrow record batches written as CSV (streamed; no Python loop over rows).
- Spark: DuckDB writes each table as Parquet; a Spark session (the same Hive
  metastore and warehouse folder dbt-spark's `session` method uses) creates a
  managed table from it with the contract's types.

Connection settings come from the environment (`.env.example`); nothing here is
imported by the DuckDB path, so pyspark and psycopg stay optional (extra `engines`).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.raw_contract import RAW_SCHEMA, RAW_TABLES

TARGETS = ("duckdb", "postgres", "spark")
BATCH_ROWS = 50_000

_POSTGRES_TYPES = {
    "VARCHAR": "text",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "double precision",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
}
_SPARK_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "double",
    "INTEGER": "int",
    "BOOLEAN": "boolean",
}


class EngineError(RuntimeError):
    """A warehouse engine is not reachable or not configured."""


def target() -> str:
    """SEGUE_DBT_TARGET (duckdb, postgres or spark); anything else is refused by name."""
    value = (os.environ.get("SEGUE_DBT_TARGET") or "duckdb").strip()
    if value not in TARGETS:
        raise EngineError(f"SEGUE_DBT_TARGET={value!r} is not one of {', '.join(TARGETS)}")
    return value


def uses_duckdb() -> bool:
    """True when the selected dbt target is DuckDB (the GX suites, syncs and summary read its file)."""
    return target() == "duckdb"


def describe_target(warehouse: str) -> str:
    """Where the selected target's warehouse is, for messages."""
    name = target()
    if name == "postgres":
        host, port = os.environ.get("SEGUE_PG_HOST", "127.0.0.1"), os.environ.get("SEGUE_PG_PORT", "5432")
        return f"PostgreSQL database {os.environ.get('SEGUE_PG_DATABASE', 'segue')} on {host}:{port}"
    if name == "spark":
        return f"Spark warehouse {spark_home()}"
    return warehouse


def check_raw(warehouse: str) -> None:
    """The raw contract check (CONTRACT §2) on the selected target; RawContractError names what is missing.

    Spark is not checked from here: its Derby metastore admits one JVM at a time and
    dbt's session holds it; dbt's sources name a missing table instead.
    """
    from orchestration import raw_contract

    name = target()
    if name == "duckdb":
        raw_contract.check_warehouse(warehouse)
    elif name == "postgres":
        with postgres_connection() as pg:
            problems = raw_contract.find_problems(_QmarkConnection(pg))
        if problems:
            raise raw_contract.RawContractError(describe_target(warehouse), problems)


class _QmarkConnection:
    """A psycopg connection that takes DuckDB's `?` parameters (for raw_contract's query)."""

    def __init__(self, pg):
        self.pg = pg

    def execute(self, sql: str, params=None):
        return self.pg.execute(sql.replace("?", "%s"), params)


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_conninfo() -> str:
    """libpq connection string from the same variables profiles.yml reads."""
    import psycopg

    return psycopg.conninfo.make_conninfo(
        host=os.environ.get("SEGUE_PG_HOST", "127.0.0.1"),
        port=os.environ.get("SEGUE_PG_PORT", "5432"),
        user=os.environ.get("SEGUE_PG_USER", "postgres"),
        password=os.environ.get("SEGUE_PG_PASSWORD", ""),
        dbname=os.environ.get("SEGUE_PG_DATABASE", "segue"),
        connect_timeout=10,
    )


@contextmanager
def postgres_connection():
    import psycopg

    try:
        con = psycopg.connect(postgres_conninfo(), autocommit=False)
    except psycopg.OperationalError as exc:
        raise EngineError(f"cannot connect to PostgreSQL (SEGUE_PG_* settings): {exc}") from exc
    try:
        yield con
    finally:
        con.close()


def _csv_chunks(reader) -> Iterator[bytes]:
    """Arrow record batches as CSV bytes: null is an empty field, an empty string is quoted ("")."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    for batch in reader:
        if batch.num_rows == 0:
            continue
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, write_options=options)
        yield buffer.getvalue()


def copy_raw_to_postgres(warehouse: str, schema: str = RAW_SCHEMA) -> dict[str, int]:
    """Replace schema `schema` in PostgreSQL with the DuckDB warehouse's `raw` tables; rows per table."""
    counts: dict[str, int] = {}
    source = duckdb.connect(warehouse, read_only=True)
    try:
        with postgres_connection() as pg:
            with pg.cursor() as cur:
                cur.execute(f'drop schema if exists "{schema}" cascade')
                cur.execute(f'create schema "{schema}"')
                for table, columns in RAW_TABLES.items():
                    column_list = ", ".join(f'"{c}"' for c in columns)
                    definition = ", ".join(f'"{c}" {_POSTGRES_TYPES[t]}' for c, t in columns.items())
                    cur.execute(f'create table "{schema}"."{table}" ({definition})')
                    select = ", ".join(_duckdb_text_for_csv(c, t) for c, t in columns.items())
                    reader = source.sql(f'select {select} from {RAW_SCHEMA}."{table}"').to_arrow_reader(BATCH_ROWS)
                    copy_sql = f'copy "{schema}"."{table}" ({column_list}) from stdin with (format csv)'
                    with cur.copy(copy_sql) as copy:
                        for chunk in _csv_chunks(reader):
                            copy.write(chunk)
                    counts[table] = cur.rowcount
                    cur.execute(f'analyze "{schema}"."{table}"')
            pg.commit()
    finally:
        source.close()
    return counts


def _duckdb_text_for_csv(column: str, duck_type: str) -> str:
    """Timestamps leave DuckDB as ISO text with microseconds (what COPY reads back exactly)."""
    if duck_type == "TIMESTAMP":
        return f'strftime("{column}", \'%Y-%m-%d %H:%M:%S.%f\') as "{column}"'
    return f'"{column}"'


# --- Spark -------------------------------------------------------------------------------------


def spark_home() -> Path:
    """Folder holding the Spark warehouse (managed tables) and its Derby metastore."""
    return Path(os.environ.get("SEGUE_SPARK_DIR") or "./spark").expanduser().resolve()


def spark_conf(home: Path | None = None) -> dict[str, str]:
    """The Spark settings of profiles.yml's `spark` target (server_side_parameters), as a dict.

    Both the loader's session and dbt's must use the same metastore and warehouse folder.
    """
    home = home or spark_home()
    return {
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("SEGUE_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.master": os.environ.get("SEGUE_SPARK_MASTER", "local[2]"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Local mode talks to itself only: keep the driver on the loopback interface.
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.memory": os.environ.get("SEGUE_SPARK_DRIVER_MEMORY", "2g"),
        # Adaptive execution re-optimizes the whole plan after every stage (profiles.yml).
        "spark.sql.adaptive.enabled": "false",
        # Whole-stage code generation compiles Java per stage (profiles.yml): on for big data.
        "spark.sql.codegen.wholeStage": os.environ.get("SEGUE_SPARK_CODEGEN", "false"),
    }


def spark_session():
    """A local SparkSession with Hive support on the Segue metastore (as dbt-spark's session method makes)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError("pyspark is not installed: pip install 'segue[engines]'") from exc
    home = spark_home()
    home.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("segue").enableHiveSupport()
    for key, value in spark_conf(home).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_spark(spark) -> None:
    """Stop the session and its JVM, which holds the Derby metastore until it exits.

    Derby admits one JVM at a time and `SparkSession.stop()` leaves pyspark's JVM (and
    the metastore booted in it) running, so dbt's own session, in another process,
    could not open the metastore afterwards. A later session here starts a new JVM.
    """
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        process.terminate()
        process.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def copy_raw_to_spark(warehouse: str, schema: str = RAW_SCHEMA) -> dict[str, int]:
    """Replace database `schema` in the Spark metastore with the DuckDB warehouse's `raw` tables."""
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="segue-raw-") as tmp:
        source = duckdb.connect(warehouse, read_only=True)
        try:
            for table in RAW_TABLES:
                source.execute(f"copy {RAW_SCHEMA}.\"{table}\" to '{tmp}/{table}.parquet' (format parquet)")
        finally:
            source.close()
        spark = spark_session()
        try:
            spark.sql(f"drop database if exists `{schema}` cascade")
            spark.sql(f"create database `{schema}`")
            for table, columns in RAW_TABLES.items():
                spark.read.parquet(f"{tmp}/{table}.parquet").createOrReplaceTempView("segue_raw_load")
                select = ", ".join(f"cast(`{c}` as {_SPARK_TYPES[t]}) as `{c}`" for c, t in columns.items())
                spark.sql(f"create table `{schema}`.`{table}` using parquet as select {select} from segue_raw_load")
                counts[table] = spark.table(f"`{schema}`.`{table}`").count()
            spark.catalog.dropTempView("segue_raw_load")
        finally:
            stop_spark(spark)
    return counts


def copy_raw(warehouse: str, to: str | None = None) -> tuple[dict[str, int], float]:
    """Copy the DuckDB warehouse's `raw` schema to the target's warehouse; (rows per table, seconds)."""
    to = to or target()
    started = time.perf_counter()
    if to == "postgres":
        counts = copy_raw_to_postgres(warehouse)
    elif to == "spark":
        counts = copy_raw_to_spark(warehouse)
    else:
        raise EngineError(f"raw data of target {to!r} is the DuckDB file itself: nothing to copy")
    return counts, time.perf_counter() - started
