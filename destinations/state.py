"""The sync engine's bookkeeping in the warehouse, schema `segue`.

- `sync_snapshots`: per sync, what the destination is believed to hold (key +
  hash of the mapped columns); advanced only for rows the destination confirmed.
- `sync_failed_keys`: keys whose last attempt failed transiently; retried by every later run.
- `sync_rejections`: keys the vendor refused (code, message, first/last seen,
  attempts); not re-sent until the row's mapped values change.
- `sync_runs`: one row per sync per run: counts and durations.
- `sync_send_ledger`: actions mode, one row per action: intent written before
  the request, outcome after. Its public face is the view `action_deliveries`
  (CONTRACT §3).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

SCHEMA = "segue"

DDL = [
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.sync_snapshots (
        sync_name varchar not null,
        record_key varchar not null,
        row_hash varchar,
        synced_at timestamp not null,
        primary key (sync_name, record_key))""",
    f"""create table if not exists {SCHEMA}.sync_failed_keys (
        sync_name varchar not null,
        record_key varchar not null,
        op varchar,
        last_error varchar,
        attempts integer not null,
        first_failed_at timestamp not null,
        last_failed_at timestamp not null,
        primary key (sync_name, record_key))""",
    f"""create table if not exists {SCHEMA}.sync_rejections (
        sync_name varchar not null,
        record_key varchar not null,
        row_hash varchar,
        error_code varchar,
        error_message varchar,
        first_seen_at timestamp not null,
        last_seen_at timestamp not null,
        attempts integer not null,
        primary key (sync_name, record_key))""",
    f"""create table if not exists {SCHEMA}.sync_runs (
        sync_run_id varchar not null primary key,
        dagster_run_id varchar,
        sync_name varchar not null,
        destination varchar not null,
        mode varchar not null,
        status varchar not null,
        blocked_reason varchar,
        error varchar,
        started_at timestamp not null,
        finished_at timestamp,
        plan_seconds double,
        deliver_seconds double,
        planned bigint, added bigint, changed bigint, removed bigint, unchanged bigint,
        sent bigint, succeeded bigint, rejected bigint, failed bigint, skipped bigint, waiting bigint,
        unknown bigint, requests bigint)""",
    f"""create table if not exists {SCHEMA}.sync_send_ledger (
        sync_name varchar not null,
        action_id varchar not null,
        destination varchar not null,
        to_address varchar,
        status varchar not null,
        in_flight boolean not null,
        attempts integer not null,
        last_error varchar,
        intent_at timestamp,
        outcome_at timestamp,
        delivered_at timestamp,
        primary key (sync_name, action_id))""",
    f"""create or replace view {SCHEMA}.action_deliveries as
        select action_id, destination, status, attempts, last_error, delivered_at,
               sync_name, to_address, intent_at, outcome_at
        from {SCHEMA}.sync_send_ledger""",
]


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        if statement.startswith(f"create or replace view {SCHEMA}."):
            _create_view(con, statement)
        else:
            con.execute(statement)


def _create_view(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """A view whose body names its tables without a schema, bound in schema `segue` when created.

    dbt attaches the warehouse under the catalog name `segue`; there a body reading
    `segue.sync_send_ledger` is ambiguous (catalog or schema?) and every read of the
    view fails. DuckDB keeps the schema a view was created in, so an unqualified
    body resolves the same however the file is attached.
    """
    con.execute(f"set search_path = '{SCHEMA}'")
    try:
        con.execute(statement.replace(f"from {SCHEMA}.", "from "))
    finally:
        con.execute("reset search_path")


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, Iterable]) -> None:
    """Python lists of strings as a temporary table `name` (one column per list, zipped by `unnest`).

    Passed to DuckDB as list parameters: no per-row Python and no Arrow conversion (pyarrow's
    `pa.array` imports pandas on first use, about a second of CPU in the middle of a sync).
    """
    # Plain SQL that sqlglot transpiles (the engines test runs it on PostgreSQL, which zips
    # several unnest() in one select list too and has no CREATE OR REPLACE TABLE).
    selects = ", ".join(f'unnest(cast(? as varchar[])) as "{column}"' for column in columns)
    con.execute(f"drop table if exists {name}")
    con.execute(f"create temp table {name} as select {selects}", [list(v) for v in columns.values()])


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"drop table if exists {name}")


def _plan(sync_name: str) -> str:
    return plan_table(sync_name)


def plan_table(sync_name: str) -> str:
    return f'{SCHEMA}."{sync_name}__plan"'


def confirm_upserts(con, sync_name: str, keys: list[str], now) -> None:
    if not keys:
        return
    con.execute(
        f"""insert into {SCHEMA}.sync_snapshots (sync_name, record_key, row_hash, synced_at)
            select ?, p.record_key, p.row_hash, ? from {_plan(sync_name)} as p
            where p.record_key in (select unnest(cast(? as varchar[])))
            on conflict (sync_name, record_key) do update set
                row_hash = excluded.row_hash, synced_at = excluded.synced_at""",
        [sync_name, now, keys],
    )
    _clear(con, sync_name, keys)


def _clear(con, sync_name: str, keys: list[str]) -> None:
    """Confirmed keys leave the failed and rejected lists (skipped when the sync has none: the usual case)."""
    held = con.execute(
        f"""select (select count(*) from {SCHEMA}.sync_failed_keys where sync_name = ?)
                 + (select count(*) from {SCHEMA}.sync_rejections where sync_name = ?)""",
        [sync_name, sync_name],
    ).fetchall()[0][0]
    if not held:
        return
    _register(con, "_confirmed", {"record_key": keys})
    for table in ("sync_failed_keys", "sync_rejections"):
        con.execute(
            f"delete from {SCHEMA}.{table} where sync_name = ? and record_key in (select record_key from _confirmed)",
            [sync_name],
        )
    _unregister(con, "_confirmed")


def mark_for_send(con, sync_name: str, keys: list[str]) -> None:
    """Plan rows the vendor was asked about and does not hold: safe to send in this run."""
    _register(con, "_absent", {"record_key": keys})
    con.execute(f"update {_plan(sync_name)} set op = 'send' where record_key in (select record_key from _absent)")
    _unregister(con, "_absent")


def confirm_removals(con, sync_name: str, keys: list[str]) -> None:
    if not keys:
        return
    _register(con, "_confirmed", {"record_key": keys})
    con.execute(
        f"delete from {SCHEMA}.sync_snapshots where sync_name = ? "
        "and record_key in (select record_key from _confirmed)",
        [sync_name],
    )
    _unregister(con, "_confirmed")
    _clear(con, sync_name, keys)


def record_rejections(con, sync_name: str, rejected: dict[str, tuple[str, str]], now) -> None:
    if not rejected:
        return
    keys = list(rejected)
    _register(
        con,
        "_rejected",
        {
            "record_key": keys,
            "code": [rejected[k][0] for k in keys],
            "message": [rejected[k][1] for k in keys],
        },
    )
    con.execute(
        f"""insert into {SCHEMA}.sync_rejections
                (sync_name, record_key, row_hash, error_code, error_message, first_seen_at, last_seen_at, attempts)
            select ?, r.record_key, p.row_hash, r.code, r.message, ?, ?, 1
            from _rejected as r left join {_plan(sync_name)} as p on p.record_key = r.record_key
            on conflict (sync_name, record_key) do update set
                row_hash = excluded.row_hash, error_code = excluded.error_code,
                error_message = excluded.error_message, last_seen_at = excluded.last_seen_at,
                attempts = sync_rejections.attempts + 1""",
        [sync_name, now, now],
    )
    con.execute(
        f"delete from {SCHEMA}.sync_failed_keys where sync_name = ? "
        "and record_key in (select record_key from _rejected)",
        [sync_name],
    )
    _unregister(con, "_rejected")


def record_failures(con, sync_name: str, op: str, failed: dict[str, str], now) -> None:
    if not failed:
        return
    keys = list(failed)
    _register(con, "_failed", {"record_key": keys, "message": [failed[k] for k in keys]})
    con.execute(
        f"""insert into {SCHEMA}.sync_failed_keys
                (sync_name, record_key, op, last_error, attempts, first_failed_at, last_failed_at)
            select ?, record_key, ?, message, 1, ?, ? from _failed
            on conflict (sync_name, record_key) do update set
                op = excluded.op, last_error = excluded.last_error, last_failed_at = excluded.last_failed_at,
                attempts = sync_failed_keys.attempts + 1""",
        [sync_name, op, now, now],
    )
    _unregister(con, "_failed")


def ledger_intent(con, sync_name: str, destination: str, keys: list[str], addresses: list[str | None], now) -> None:
    """Before any request: the actions about to be sent are pending and in flight."""
    if not keys:
        return
    _register(con, "_intent", {"action_id": keys, "to_address": addresses})
    con.execute(
        f"""insert into {SCHEMA}.sync_send_ledger
                (sync_name, action_id, destination, to_address, status, in_flight, attempts, intent_at)
            select ?, action_id, ?, to_address, 'pending', true, 1, ? from _intent
            on conflict (sync_name, action_id) do update set
                status = 'pending', in_flight = true, intent_at = excluded.intent_at,
                attempts = sync_send_ledger.attempts + 1""",
        [sync_name, destination, now],
    )
    _unregister(con, "_intent")


def ledger_outcome(
    con,
    sync_name: str,
    destination: str,
    keys: list[str],
    status: str,
    in_flight: bool,
    errors: list[str | None],
    now,
    addresses: list[str | None] | None = None,
    count_attempt: bool = False,
) -> None:
    """After the answer (or the lack of one): delivered, rejected, unknown, or pending again."""
    if not keys:
        return
    _register(
        con,
        "_outcome",
        {"action_id": keys, "last_error": errors, "to_address": addresses or [None] * len(keys)},
    )
    delivered = "excluded.outcome_at" if status == "delivered" else "sync_send_ledger.delivered_at"
    con.execute(
        f"""insert into {SCHEMA}.sync_send_ledger
                (sync_name, action_id, destination, to_address, status, in_flight, attempts, last_error,
                 outcome_at, delivered_at)
            select ?, action_id, ?, to_address, ?, ?, {1 if count_attempt else 0}, last_error, ?,
                   case when ? = 'delivered' then cast(? as timestamp) end
            from _outcome
            on conflict (sync_name, action_id) do update set
                status = excluded.status, in_flight = excluded.in_flight, last_error = excluded.last_error,
                outcome_at = excluded.outcome_at, delivered_at = {delivered},
                attempts = sync_send_ledger.attempts + {1 if count_attempt else 0}""",
        [sync_name, destination, status, in_flight, now, status, now],
    )
    _unregister(con, "_outcome")


def upgrade_views(warehouse: str) -> None:
    """Re-create the state views of a warehouse that already has Segue's state (before dbt reads them).

    Warehouses synced by an older Segue hold an `action_deliveries` view that dbt
    cannot read (see `_create_view`); a run upgrades it before anything is built.
    """
    con = duckdb.connect(warehouse)
    try:
        present = con.execute(
            "select count(*) from information_schema.schemata where schema_name = ?", [SCHEMA]
        ).fetchone()[0]
        if present:
            ensure_state(con)
    finally:
        con.close()
