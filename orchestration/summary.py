"""What `segue run` and `make demo` print at the end: counts read back from the warehouse.

The warehouse is opened read-only after the run and closed at once. Sections
appear as the models behind them exist, so the summary grows with the project
without naming every table here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass
class WarehouseSummary:
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    quarantine: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, reason) -> rows
    actions_by_channel: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, decision)
    segments: dict[str, int] = field(default_factory=dict)


SUMMARY_SCHEMAS = ("staging", "marts", "segue")


@dataclass
class DestinationTotal:
    rows: int = 0  # records confirmed by upsert and mirror syncs (profiles, list members, documents)
    messages: int = 0  # journey actions delivered by actions syncs
    rejected: int = 0
    failed: int = 0  # failed plus outcome unknown


def destination_totals(sync_runs) -> dict[str, DestinationTotal]:
    """Per destination, from segue.sync_runs rows (sync_name, destination, mode, status, planned, succeeded,
    rejected, failed, unknown, ...): every destination that ran, in the order first seen."""
    totals: dict[str, DestinationTotal] = {}
    for _name, dest, mode, _status, _planned, ok, rejected, failed, unknown, *_rest in sync_runs:
        total = totals.setdefault(dest, DestinationTotal())
        if mode == "actions":
            total.messages += ok or 0
        else:
            total.rows += ok or 0
        total.rejected += rejected or 0
        total.failed += (failed or 0) + (unknown or 0)
    return totals


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def read_summary(warehouse: str) -> WarehouseSummary:
    summary = WarehouseSummary()
    con = duckdb.connect(warehouse, read_only=True)
    try:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by 1, 2",
            [list(SUMMARY_SCHEMAS)],
        ).fetchall()
        for schema, table in relations:
            count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            summary.tables[f"{schema}.{table}"] = count
        if _exists(con, "staging", "stg_quarantined_rows"):
            for table, reason, count in con.execute(
                "select source_table, quarantine_reason, count(*) from staging.stg_quarantined_rows "
                "group by 1, 2 order by 1, 2"
            ).fetchall():
                summary.quarantine[(table, reason)] = count
        if _exists(con, "marts", "journey_actions"):
            for channel, decision, count in con.execute(
                "select channel, decision, count(*) from marts.journey_actions group by 1, 2 order by 1, 2"
            ).fetchall():
                summary.actions_by_channel[(channel, decision)] = count
        if _exists(con, "marts", "segment_memberships"):
            for segment, count in con.execute(
                "select segment, count(*) from marts.segment_memberships group by 1 order by 1"
            ).fetchall():
                summary.segments[segment] = count
    finally:
        con.close()
    return summary
