"""The warehouse side of the generator: one connection, fresh schemas, typed tables, Arrow inserts.

Raw tables are created from `RAW_TABLES` (the contract as data), never from
whatever a SELECT happens to produce, so every column has exactly the
contract's type. Rows arrive as Arrow tables registered on the connection and
are shaped by one `INSERT ... BY NAME SELECT` each: SQL does the string work
and the joins, numpy never builds a Python string per row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.raw_contract import RAW_SCHEMA, RAW_TABLES

TRUTH_SCHEMA = "truth"

log = logging.getLogger(__name__)
MEMORY_LIMIT = "2GB"

# The truth tables: what really happened, for tests to score staging, identity and journeys.
TRUTH_TABLES: dict[str, dict[str, str]] = {
    "persons": {
        "person_id": "BIGINT",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "country": "VARCHAR",
        "email": "VARCHAR",
        "old_email": "VARCHAR",
        "email_changed_at": "TIMESTAMP",
        "phone": "VARCHAR",
        "customer_id": "VARCHAR",
        "loyalty_id": "VARCHAR",
        "is_loyalty_linked": "BOOLEAN",
        "household_id": "BIGINT",
        "home_store_id": "VARCHAR",
        "first_seen_at": "TIMESTAMP",
        "account_created_at": "TIMESTAMP",
        "loyalty_enrolled_at": "TIMESTAMP",
        "favorite_category": "VARCHAR",
    },
    "identifiers": {
        "identifier_type": "VARCHAR",
        "identifier_value": "VARCHAR",
        "person_id": "BIGINT",
        "shared_kind": "VARCHAR",
        "appears_in_raw": "BOOLEAN",
    },
    "generation": {
        "customers": "BIGINT",
        "seed": "BIGINT",
        "as_of": "TIMESTAMP",
        "generator_version": "VARCHAR",
        "chunk_size": "BIGINT",
        "products": "BIGINT",
    },
    "purchases": {
        "channel": "VARCHAR",
        "purchase_id": "VARCHAR",
        "person_id": "BIGINT",
        "status": "VARCHAR",
        "total_amount": "DOUBLE",
        "currency": "VARCHAR",
        "purchased_at": "TIMESTAMP",
    },
    "carts": {
        "cart_id": "BIGINT",
        "person_id": "BIGINT",
        "anonymous_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "first_add_at": "TIMESTAMP",
        "last_add_at": "TIMESTAMP",
        "items": "INTEGER",
        "outcome": "VARCHAR",
        "order_id": "VARCHAR",
        "ordered_at": "TIMESTAMP",
    },
    "stock_episodes": {
        "product_id": "VARCHAR",
        "location_id": "VARCHAR",
        "out_at": "TIMESTAMP",
        "back_in_at": "TIMESTAMP",
    },
    "stock_interest": {
        "person_id": "BIGINT",
        "product_id": "VARCHAR",
        "kind": "VARCHAR",
        "occurred_at": "TIMESTAMP",
    },
    "consent_state": {
        "channel": "VARCHAR",
        "identifier_type": "VARCHAR",
        "identifier_value": "VARCHAR",
        "status": "VARCHAR",
        "decided_at": "TIMESTAMP",
        "decided_by": "VARCHAR",
    },
    "bad_rows": {
        "table_name": "VARCHAR",
        "row_id": "VARCHAR",
        "kind": "VARCHAR",
    },
}


@contextmanager
def open_warehouse(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file for the duration of one generation, and always close it."""
    con = duckdb.connect(path)
    try:
        # Row order is not part of the contract; letting DuckDB drop it saves memory on big inserts.
        con.execute("set preserve_insertion_order = false")
        con.execute("set enable_progress_bar = false")
        # Written row groups stay cached up to this; beyond it DuckDB evicts them (they are on disk).
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        yield con
    finally:
        con.close()


def _ddl(schema: str, table: str, columns: dict[str, str]) -> str:
    cols = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
    return f'create table {schema}."{table}" ({cols})'


def reset_schemas(con: duckdb.DuckDBPyConnection, empty: bool = False) -> None:
    """Drop and recreate `raw` and `truth` with empty tables; other schemas are left alone.

    `empty`: only drop them (after a failure, so nothing half-written remains).
    """
    for schema in (RAW_SCHEMA, TRUTH_SCHEMA):
        con.execute(f"drop schema if exists {schema} cascade")
        if not empty:
            con.execute(f"create schema {schema}")
    if empty:
        return
    for table, columns in RAW_TABLES.items():
        con.execute(_ddl(RAW_SCHEMA, table, columns))
    for table, columns in TRUTH_TABLES.items():
        con.execute(_ddl(TRUTH_SCHEMA, table, columns))


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, select: str) -> None:
    """Insert `select` (which reads the Arrow table as `src`) into `table`, matching columns by name."""
    started = time.perf_counter()
    con.register("src", rows)
    try:
        con.execute(f"insert into {table} by name {select}")
    finally:
        con.unregister("src")
    log.debug("%s: %d rows in %.2fs", table, rows.num_rows, time.perf_counter() - started)


def insert_with_duplicates(
    con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, select: str, duplicates: np.ndarray
) -> None:
    """Insert the rows, then the rows at `duplicates` once more: a loader retry landing them twice."""
    insert(con, table, rows, select)
    if len(duplicates):
        insert(con, table, rows.take(pa.array(duplicates)), select)


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f'select count(*) from {RAW_SCHEMA}."{t}"').fetchone()[0] for t in RAW_TABLES}
