"""`generate`: build the whole sample retailer into one DuckDB file.

Order of work: the catalog and the people are built in memory (small: products
and one row of numbers per person); then, on one connection, the schemas are
reset, the catalog and the `persons` temp table are written, and behaviour is
generated chunk by chunk of CHUNK_SIZE people (accounts, online sessions,
store visits, consent and messages), each chunk inserted before the next is
built, so memory stays flat whatever the number of customers. The chunk size
is fixed: the same seed gives the same data on any machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time

import duckdb
import numpy as np

from orchestration.generator import accounts, instore, messaging, online
from orchestration.generator.catalog import Catalog, build_catalog, write_inventory, write_products, write_stores
from orchestration.generator.messiness import install_macros
from orchestration.generator.people import People, build_people, load_persons
from orchestration.generator.sampling import Context, Streams, to_us
from orchestration.generator.sessions import build_interest
from orchestration.generator.truth import (
    Observed,
    write_consent_state,
    write_generation,
    write_persons_and_identifiers,
    write_stock_truth,
)
from orchestration.generator.writer import open_warehouse, reset_schemas, row_counts

GENERATOR_VERSION = "1.0.0"
CHUNK_SIZE = 100_000

log = logging.getLogger(__name__)


def generate(warehouse: str, customers: int, seed: int, as_of: dt.datetime) -> dict[str, int]:
    """(Re)create schemas `raw` and `truth` in `warehouse` holding a messy retailer of `customers` people.

    `as_of` (naive UTC; an aware datetime is converted) is the end of the two
    years of history. Same (customers, seed, as_of) → the same table contents.
    Returns the number of rows in each raw table.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    started = time.perf_counter()
    ctx = Context(customers=customers, seed=seed, as_of=as_of, as_of_us=to_us(as_of), streams=Streams(seed))
    catalog = build_catalog(ctx)
    people = build_people(ctx)
    interest = build_interest(ctx, people, catalog)
    tills = instore.Tills(ctx)
    seen = Observed(people)
    log.info("built %d people and %d products in %.1fs", customers, catalog.size, time.perf_counter() - started)

    with open_warehouse(warehouse) as con:
        try:
            _write(ctx, con, catalog, people, interest, tills, seen, started)
        except BaseException:
            # Never leave a half-written retailer that looks complete.
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            with contextlib.suppress(duckdb.Error):
                reset_schemas(con, empty=True)
            raise
        counts = row_counts(con)
    log.info("generated in %.1fs: %s", time.perf_counter() - started, counts)
    return counts


def _write(
    ctx: Context,
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    people: People,
    interest: dict[str, np.ndarray],
    tills: instore.Tills,
    seen: Observed,
    started: float,
) -> None:
    """Write everything, committing after each chunk so DuckDB can flush it to disk."""
    reset_schemas(con)
    install_macros(con)
    con.execute(
        """create temp table consent_log (channel varchar, identifier_type varchar, identifier_value varchar,
                                         status varchar, recorded_at timestamp, decided_by varchar)"""
    )
    con.execute("begin transaction")
    write_stores(con)
    write_products(con, catalog)
    write_inventory(ctx, con, catalog)
    write_stock_truth(con, catalog, interest)
    load_persons(ctx, con, people)
    con.execute("commit")
    for chunk, lo in enumerate(range(0, ctx.customers, CHUNK_SIZE)):
        hi = min(lo + CHUNK_SIZE, ctx.customers)
        con.execute("begin transaction")
        accounts.build_chunk(ctx, con, people, seen, lo, hi, chunk)
        behaviour = online.build_chunk(ctx, con, people, catalog, interest, seen, lo, hi, chunk)
        instore.build_chunk(ctx, con, people, catalog, tills, seen, lo, hi, chunk)
        messaging.build_chunk(ctx, con, people, behaviour, seen, lo, hi, chunk)
        con.execute("commit")
        log.info("people %d-%d written after %.1fs", lo, hi, time.perf_counter() - started)
    con.execute("begin transaction")
    write_persons_and_identifiers(con, people, seen)
    write_consent_state(con)
    write_generation(con, ctx.customers, ctx.seed, ctx.as_of, GENERATOR_VERSION, CHUNK_SIZE, catalog.size)
    con.execute("commit")
