"""The sync engine: plan inside the warehouse, deliver in streamed batches, account for every row.

One `run_sync` call handles one sync: validate, plan (SQL from `destinations.plan`),
apply the circuit breaker, then stream the rows to act on out of DuckDB as
Arrow record batches, cut them into batches by the destination's row and byte
limits, deliver them from a bounded thread pool (token-bucket rate limits,
retries with exponential backoff and jitter that honour Retry-After, async job
polling), and write each batch's per-record outcome back to the state tables
(`destinations.state`) from the calling thread. The DuckDB file is opened for
the run and closed at the end, never held across dbt.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from destinations import consent, plan, state
from destinations.base import (
    BatchOutcome,
    ConfigError,
    FatalError,
    Op,
    OutcomeUnknown,
    PendingJob,
    Record,
    RetriableError,
)
from destinations.config import DestinationInstance, SyncSpec, check_spec

log = logging.getLogger("segue.sync")


@dataclass
class EngineSettings:
    max_attempts: int = 6  # per batch, within one run
    backoff_base: float = 0.5  # seconds; doubled per attempt, full jitter
    backoff_max: float = 30.0
    poll_interval: float = 0.5
    poll_timeout: float = 900.0
    request_timeout: float = 30.0
    wave_rows: int = 20_000  # rows read from DuckDB per Arrow record batch
    max_concurrency: int | None = None  # below the destination's own maximum
    memory_limit: str = "1GB"  # DuckDB's cap for a sync's connection; beyond it the plan spills to disk


@dataclass
class SyncResult:
    sync_name: str
    destination: str
    mode: str
    status: str = "succeeded"  # succeeded | failed | blocked | dry_run | partial
    blocked_reason: str | None = None
    error: str | None = None
    plan_counts: dict[str, int] = field(default_factory=dict)
    planned: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    sent: int = 0
    succeeded: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0
    unknown: int = 0
    requests: int = 0
    plan_seconds: float = 0.0
    deliver_seconds: float = 0.0
    sync_run_id: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.succeeded / self.deliver_seconds if self.deliver_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SyncBlocked(Exception):
    pass


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class _Delivery:
    """What one run of one sync needs while delivering."""

    def __init__(self, spec, instance, destination, settings, con, now, counter):
        self.spec, self.instance, self.dest, self.settings = spec, instance, destination, settings
        self.con, self.now, self.counter = con, now, counter

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = random.uniform(0, min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt))
        return max(delay, retry_after or 0.0)

    def reconciler(self, op: Op):
        """The destination's `reconcile` hook for actions, or None (see destinations.base)."""
        if op is not Op.SEND or self.dest.capabilities.dedupes_actions:
            return None
        return getattr(self.dest, "reconcile", None)

    def attempt(self, op: Op, records: list[Record]) -> tuple[BatchOutcome, list[str]]:
        """Deliver one batch with retries. Returns the outcome and keys whose outcome stayed unknown.

        A lost answer on a vendor that cannot de-duplicate is resolved by asking it (`reconcile`)
        where it can be asked: what it holds is delivered, what it does not is sent again here.
        """
        idempotent = op is not Op.SEND or self.dest.capabilities.dedupes_actions
        reconcile = self.reconciler(op)
        keys = [r.key for r in records]
        settled = BatchOutcome()
        undecided: list[str] = []
        last = "no attempt"
        for attempt in range(self.settings.max_attempts):
            started = datetime.now(UTC)
            try:
                result = self.dest.deliver(op, self.spec, records)
                if isinstance(result, PendingJob):
                    result = self.poll(result)
                if not settled.confirmed and not settled.rejected and not undecided:
                    return result, []
                return _merge(settled, result, [r.key for r in records]), undecided
            except RetriableError as exc:
                last = f"{exc.code}: {exc}"
                if attempt + 1 < self.settings.max_attempts:
                    time.sleep(self.backoff(attempt, exc.retry_after))
            except OutcomeUnknown as exc:
                last = f"outcome unknown: {exc}"
                if reconcile is not None:
                    try:
                        found = reconcile(self.spec, records, started)
                    except (RetriableError, OutcomeUnknown) as rexc:
                        log.warning("reconcile after a lost answer failed: %s", rexc)
                        found = None
                    if found is None:  # cannot tell: in flight, asked again next run
                        return settled, undecided + [r.key for r in records]
                    settled.confirmed.extend(found.confirmed)
                    settled.rejected.update(found.rejected)
                    undecided.extend(found.failed)
                    known = set(found.confirmed) | set(found.rejected) | set(found.failed)
                    records = [r for r in records if r.key not in known]  # not at the vendor: send again
                    if not records:
                        return settled, undecided
                    if attempt + 1 < self.settings.max_attempts:
                        time.sleep(self.backoff(attempt, None))
                    continue
                if not idempotent:
                    return BatchOutcome(), keys
                if attempt + 1 < self.settings.max_attempts:
                    time.sleep(self.backoff(attempt, None))
        if op is Op.SEND and idempotent and last.startswith("outcome unknown"):
            return BatchOutcome(), keys  # stays pending: re-sent with the same key next run
        settled.failed.update({r.key: f"gave up after {self.settings.max_attempts} attempts: {last}" for r in records})
        return settled, undecided

    def poll(self, job: PendingJob) -> BatchOutcome:
        deadline = time.monotonic() + self.settings.poll_timeout
        interval = self.settings.poll_interval
        errors = 0
        while time.monotonic() < deadline:
            try:
                outcome = self.dest.poll(job)
            except (RetriableError, OutcomeUnknown) as exc:
                errors += 1
                if errors >= self.settings.max_attempts * 2:
                    raise RetriableError(f"polling job {job.job_id} kept failing: {exc}") from exc
                time.sleep(self.backoff(errors, getattr(exc, "retry_after", None)))
                continue
            if outcome is not None:
                return outcome
            time.sleep(interval)
            interval = min(interval * 1.5, 10.0)
        return BatchOutcome(failed={r.key: f"job {job.job_id} did not finish in time" for r in job.records})


def _merge(settled: BatchOutcome, result: BatchOutcome, keys: list[str]) -> BatchOutcome:
    """Outcomes settled by reconciling plus the last delivery's (whose confirmed keys may be implicit)."""
    merged = BatchOutcome(list(settled.confirmed), dict(settled.rejected), dict(settled.failed))
    merged.confirmed.extend(_confirmed([Record(k, {}) for k in keys], result, []))
    merged.rejected.update(result.rejected)
    merged.failed.update(result.failed)
    return merged


def _batches(dest, op: Op, records: list[Record], max_rows: int, max_bytes: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    size = 0
    for record in records:
        record_size = dest.encoded_size(op, record)
        if batch and (len(batch) >= max_rows or size + record_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


def _check_relation(con, spec: SyncSpec) -> int:
    """Refuse a missing relation, missing columns, or null/duplicate keys; returns the model's row count."""
    schema, _, table = spec.relation.rpartition(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    if not rows:
        raise ConfigError(f"model {spec.name}: relation {spec.relation} does not exist (build the model first)")
    present = {r[0] for r in rows}
    missing = [c for c in spec.required_columns() if c not in present]
    if missing:
        raise ConfigError(f"model {spec.name}: columns {missing} are declared but missing from {spec.relation}")
    # One aggregate pass answers "any null or duplicate key?"; the query naming them runs only when one exists.
    total, non_null, distinct = con.execute(
        plan.render(plan.key_stats_query(spec.relation, spec.primary_key))
    ).fetchall()[0]
    if total != non_null or non_null != distinct:
        dupes = con.execute(plan.render(plan.duplicate_keys_query(spec.relation, spec.primary_key))).fetchall()
        shown = ", ".join(f"{k!r} x{n}" for k, n in dupes)
        raise ConfigError(
            f"model {spec.name}: primary_key {spec.primary_key} must be unique and not null; found {shown}"
        )
    return total


def plan_query(spec: SyncSpec, as_of: datetime, dedupes: bool, dialect: str = "duckdb") -> str:
    """The sync's plan as SQL for `dialect` (sqlglot; DuckDB is what the engine runs)."""
    if spec.mode == "actions":
        query = plan.actions_plan(
            spec.name,
            spec.relation,
            spec.primary_key,
            spec.mapped_columns,
            spec.scheduled_for_column,
            as_of,
            dedupes,
        )
    else:
        query = plan.diff_plan(spec.name, spec.relation, spec.primary_key, spec.mapped_columns, spec.mode)
    return plan.render(query, dialect)


# Plan rows that need nothing done; counted, not kept in the plan table.
IDLE_OPS = ("unchanged", "done")
# Plan rows for keys the model no longer holds (they come from the snapshot, not the model).
SNAPSHOT_ONLY_OPS = ("remove", "departed")


def compute_plan(con, spec: SyncSpec, as_of: datetime, dedupes: bool) -> dict[str, int]:
    """Count the plan's rows per op and keep the ones to act on as `segue."<sync>__plan"`.

    Only rows to act on are written (the plan is one pass of SQL inside the
    warehouse, spilling to disk past the connection's memory_limit); the idle
    op is counted by difference: every model row gets exactly one op, and only
    `remove` / `departed` rows come from the snapshot side.
    """
    state.ensure_state(con)
    source_rows = _check_relation(con, spec)
    idle = ", ".join(f"'{op}'" for op in IDLE_OPS)
    table = state.plan_table(spec.name)
    con.execute(
        f"create or replace table {table} as "
        f"select * from ({plan_query(spec, as_of, dedupes)}) as plan where op not in ({idle})"
    )
    counts = dict(con.execute(f"select op, count(*) from {table} group by 1").fetchall())
    from_model = sum(n for op, n in counts.items() if op not in SNAPSHOT_ONLY_OPS)
    idle_count = source_rows - from_model
    if idle_count:
        counts["done" if spec.mode == "actions" else "unchanged"] = idle_count
    return counts


def connect(warehouse: str, settings: EngineSettings):
    """Open the warehouse for one sync, with the memory cap that keeps big plans from growing the process."""
    con = duckdb.connect(warehouse)
    con.execute(f"set memory_limit = '{settings.memory_limit}'")
    return con


def breaker(con, spec: SyncSpec, counts: dict[str, int]) -> str | None:
    """CONTRACT §6: the reason a plan is blocked, or None."""
    if spec.mode == "actions":
        return None
    synced = con.execute(
        f"select count(*) from {state.SCHEMA}.sync_snapshots where sync_name = ?", [spec.name]
    ).fetchall()[0][0]
    if synced == 0:
        return None  # a first sync is never blocked
    if spec.mode == "mirror":
        share, limit, verb = counts.get("remove", 0) / synced, spec.thresholds.max_remove_share, "remove"
    else:
        share, limit, verb = counts.get("change", 0) / synced, spec.thresholds.max_change_share, "change"
    if share > limit:
        return (
            f"plan would {verb} {share:.0%} of the {synced:,} rows Segue synced before "
            f"(threshold {limit:.0%}); run with --force {spec.name} to push it through"
        )
    return None


def run_sync(
    spec: SyncSpec,
    instance: DestinationInstance,
    warehouse: str,
    as_of: datetime,
    *,
    dry_run: bool = False,
    force: bool = False,
    settings: EngineSettings | None = None,
    dagster_run_id: str | None = None,
) -> SyncResult:
    """Plan and (unless dry_run or blocked) deliver one sync. Raises ConfigError/FatalError for what must stop it."""
    from destinations.registry import destination_class, make_destination

    settings = settings or EngineSettings()
    result = SyncResult(spec.name, instance.name, spec.mode, sync_run_id=uuid.uuid4().hex)
    problems = check_spec(spec, {instance.name: instance}, credentials=not dry_run)
    if problems:
        raise ConfigError("\n".join(problems))
    cls = destination_class(instance.type)
    started = time.perf_counter()
    wall_start = datetime.now()
    con = connect(warehouse, settings)
    try:
        counts = compute_plan(con, spec, as_of, cls.capabilities.dedupes_actions)
        result.plan_counts = counts
        result.plan_seconds = time.perf_counter() - started
        _count_plan(result, counts)
        reason = breaker(con, spec, counts)
        if reason and not force:
            result.status, result.blocked_reason = "blocked", reason
        elif dry_run:
            result.status = "dry_run"
        else:
            counter = {"requests": 0}
            destination = make_destination(instance, settings, counter)
            delivery = _Delivery(spec, instance, destination, settings, con, as_of, counter)
            deliver_started = time.perf_counter()
            try:
                _deliver(delivery, result)
            except FatalError as exc:
                result.status, result.error = "failed", str(exc)
            result.deliver_seconds = time.perf_counter() - deliver_started
            result.requests = counter["requests"]
            if result.status == "succeeded" and (result.failed or result.unknown):
                result.status = "partial"
        _record_run(con, result, wall_start, dagster_run_id)
    finally:
        con.close()
    return result


def _count_plan(result: SyncResult, counts: dict[str, int]) -> None:
    result.added = counts.get("add", 0)
    result.changed = counts.get("change", 0)
    result.removed = counts.get("remove", 0)
    result.unchanged = counts.get("unchanged", 0) + counts.get("done", 0)
    result.skipped = counts.get("skip", 0) + counts.get("departed", 0)
    result.waiting = counts.get("wait", 0)
    result.planned = result.added + result.changed + result.removed + counts.get("send", 0)


def _record_run(con, result: SyncResult, started: datetime, dagster_run_id: str | None) -> None:
    con.execute(
        f"""insert into {state.SCHEMA}.sync_runs values
            (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.sync_run_id,
            dagster_run_id,
            result.sync_name,
            result.destination,
            result.mode,
            result.status,
            result.blocked_reason,
            result.error,
            started,
            datetime.now(),
            result.plan_seconds,
            result.deliver_seconds,
            result.planned,
            result.added,
            result.changed,
            result.removed,
            result.unchanged,
            result.sent,
            result.succeeded,
            result.rejected,
            result.failed,
            result.skipped,
            result.waiting,
            result.unknown,
            result.requests,
        ],
    )


def _stream(d: _Delivery, ops: list[str], extra_sql: str = "", extra_cols: str = "") -> Iterator[pa.RecordBatch]:
    """Rows of the plan with these ops, joined to the model, as Arrow record batches (memory stays flat)."""
    spec = d.spec
    columns = ", ".join(f'm."{c}"' for c in sorted({*spec.mapped_columns, *spec.required_columns()}))
    op_list = ", ".join(f"'{o}'" for o in ops)
    sql = f"""
        select p.record_key as "__key", p.op as "__op", {columns}{extra_cols}
        from {state.plan_table(spec.name)} as p
        left join {plan.relation_table(spec.relation).sql("duckdb")} as m
            on cast(m."{spec.primary_key}" as varchar) = p.record_key
        {extra_sql}
        where p.op in ({op_list})
        order by p.record_key"""
    cursor = d.con.cursor()
    try:
        yield from cursor.sql(sql).to_arrow_reader(d.settings.wave_rows)
    finally:
        cursor.close()


_PLAIN = (str, int, float, bool, type(None))


def _plain_type(arrow_type: pa.DataType) -> bool:
    """Arrow types whose Python values are JSON-ready as they come (no `_jsonable` per value)."""
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def _records(spec: SyncSpec, rows: pa.RecordBatch | list[dict]) -> list[Record]:
    """The rows as Records (mapping applied). An Arrow batch is read column by column: one conversion
    per column, `_jsonable` only for columns whose type needs it, no dict per row besides the fields."""
    if isinstance(rows, list):
        mapping = list(spec.mapping.items())
        return [
            Record(
                key=row["__key"],
                fields={f: v if isinstance(v := row.get(col), _PLAIN) else _jsonable(v) for f, col in mapping},
                change=row.get("__op"),
            )
            for row in rows
        ]
    names = list(spec.mapping)
    columns = []
    for column in spec.mapping.values():
        array = rows.column(column)
        values = array.to_pylist()
        if not _plain_type(array.type):
            values = [v if isinstance(v, _PLAIN) else _jsonable(v) for v in values]
        columns.append(values)
    keys, ops = rows.column("__key").to_pylist(), rows.column("__op").to_pylist()
    rows_values = zip(*columns, strict=True)  # columns of one Arrow batch: the same length
    return [Record(key, dict(zip(names, values)), op) for key, op, values in zip(keys, ops, rows_values)]  # noqa: B905


def _deliver(d: _Delivery, result: SyncResult) -> None:
    spec = d.spec
    if spec.mode == "actions":
        _deliver_actions(d, result)
        return
    if spec.mode == "mirror":
        _deliver_op(d, result, Op.REMOVE, ["remove"])
        _deliver_op(d, result, Op.ADD, ["add", "change"])
    else:
        _deliver_op(d, result, Op.UPSERT, ["add", "change"])


def _pool_size(d: _Delivery, op: Op) -> int:
    caps = d.dest.capabilities
    size = caps.max_concurrency_by_op.get(op, caps.max_concurrency)
    return max(1, min(size, d.settings.max_concurrency or size))


def _limits(d: _Delivery, op: Op) -> tuple[int, int]:
    caps = d.dest.capabilities
    rows = caps.max_batch_rows[op]
    if d.spec.batch_rows:
        rows = min(rows, d.spec.batch_rows)
    return rows, caps.max_batch_bytes[op]


def _deliver_op(d: _Delivery, result: SyncResult, op: Op, ops: list[str]) -> None:
    """Keep every worker busy across Arrow batches: at most pool size + 2 batches in flight (memory stays
    bounded: a worker never waits for a batch, two are ready), outcomes applied in submission order from
    this thread (the only one writing to DuckDB)."""
    max_rows, max_bytes = _limits(d, op)
    size = _pool_size(d, op)
    in_flight: deque = deque()
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"sync-{op}") as pool:
        for rows in _stream(d, ops):
            for batch in _batches(d.dest, op, _records(d.spec, rows), max_rows, max_bytes):
                in_flight.append((batch, pool.submit(d.attempt, op, batch)))
                while len(in_flight) > size + 2:
                    _apply_next(d, result, op, in_flight)
        while in_flight:
            _apply_next(d, result, op, in_flight)


def _apply_next(d: _Delivery, result: SyncResult, op: Op, in_flight: deque) -> None:
    batch, future = in_flight.popleft()
    outcome, unknown = future.result()
    _apply(d, result, op, batch, outcome, unknown)


def _apply(d: _Delivery, result: SyncResult, op: Op, batch: list[Record], outcome: BatchOutcome, unknown) -> None:
    now = datetime.now()
    confirmed = _confirmed(batch, outcome, unknown)
    result.sent += len(batch)
    result.succeeded += len(confirmed)
    result.rejected += len(outcome.rejected)
    result.failed += len(outcome.failed) + len(unknown)
    if op is Op.REMOVE:
        state.confirm_removals(d.con, d.spec.name, confirmed)
    else:
        state.confirm_upserts(d.con, d.spec.name, confirmed, now)
    state.record_rejections(d.con, d.spec.name, outcome.rejected, now)
    failed = dict(outcome.failed)
    failed.update({k: "outcome unknown; retried next run" for k in unknown})
    state.record_failures(d.con, d.spec.name, str(op), failed, now)


def _confirmed(batch: list[Record], outcome: BatchOutcome, unknown: list[str]) -> list[str]:
    """Keys the destination confirmed: named as confirmed, or (when it lists none) neither rejected nor failed."""
    if outcome.confirmed:
        return list(outcome.confirmed)
    excluded = set(outcome.rejected) | set(outcome.failed) | set(unknown)
    return [r.key for r in batch if r.key not in excluded]


def _deliver_actions(d: _Delivery, result: SyncResult) -> None:
    spec, con = d.spec, d.con
    dest_name = d.instance.name
    # Actions a crash or a lost answer left in flight at a vendor that cannot de-duplicate: asked
    # about where the vendor can be asked (reconcile), else reported and never re-sent.
    if d.reconciler(Op.SEND) is not None:
        _reconcile_in_flight(d, result)
    else:
        unknown_keys = [
            r[0]
            for r in con.execute(
                f"select record_key from {state.plan_table(spec.name)} where op = 'unknown'"
            ).fetchall()
        ]
        state.ledger_outcome(
            con,
            spec.name,
            dest_name,
            unknown_keys,
            "unknown",
            False,
            ["request may have reached the vendor; it cannot be asked; not re-sent"] * len(unknown_keys),
            d.now,
        )
        result.unknown += len(unknown_keys)
    opt_ins = consent.current_opt_ins_sql(d.now)
    extra_sql = f"""left join ({opt_ins}) as c
            on c.channel = m."{spec.channel_column}" and c.address = m."{spec.address_column}" """
    extra_cols = ', c.address is not null as "__has_consent"'
    max_rows, max_bytes = _limits(d, Op.SEND)
    with ThreadPoolExecutor(max_workers=_pool_size(d, Op.SEND), thread_name_prefix="sync-send") as pool:
        for wave in _stream(d, ["send"], extra_sql, extra_cols):
            rows = wave.to_pylist()
            address = {r["__key"]: r.get(spec.address_column) for r in rows}
            needs_consent = {
                r["__key"]
                for r in rows
                if r.get(spec.channel_column) in ("email", "sms") and not r.get("__has_consent")
            }
            blocked = [k for k in address if k in needs_consent]
            state.ledger_outcome(
                con,
                spec.name,
                dest_name,
                blocked,
                "rejected",
                False,
                ["no_consent: the address holds no current opt-in for this channel at send time"] * len(blocked),
                d.now,
                [address[k] for k in blocked],
            )
            result.skipped += len(blocked)
            records = _records(spec, [r for r in rows if r["__key"] not in needs_consent])
            batches = list(_batches(d.dest, Op.SEND, records, max_rows, max_bytes))
            keys = [r.key for r in records]
            state.ledger_intent(con, spec.name, dest_name, keys, [address[k] for k in keys], d.now)
            futures = [pool.submit(d.attempt, Op.SEND, batch) for batch in batches]
            finished = _Finished()
            for batch, future in zip(batches, futures, strict=True):
                finished.add(batch, *future.result())
                if finished.due():
                    _apply_actions(d, result, finished)
            _apply_actions(d, result, finished)


class _Finished:
    """Outcomes of finished action batches, written to the ledger in groups: one statement per status
    every FLUSH_ROWS actions or FLUSH_SECONDS, not one per action (an action is one request at Klaviyo).
    A crash before a flush leaves those actions as the ledger's intent said (pending, in flight): the
    same state as a crash between a request and its answer, resolved the same way on the next run."""

    FLUSH_ROWS, FLUSH_SECONDS = 500, 1.0

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sent, self.confirmed, self.unknown = 0, [], []
        self.rejected: dict[str, tuple[str, str]] = {}
        self.failed: dict[str, str] = {}
        self.since = time.monotonic()

    def add(self, batch: list[Record], outcome: BatchOutcome, unknown: list[str]) -> None:
        self.sent += len(batch)
        self.confirmed.extend(_confirmed(batch, outcome, unknown))
        self.rejected.update(outcome.rejected)
        self.failed.update(outcome.failed)
        self.unknown.extend(unknown)

    def due(self) -> bool:
        return self.sent >= self.FLUSH_ROWS or time.monotonic() - self.since >= self.FLUSH_SECONDS


def _reconcile_in_flight(d: _Delivery, result: SyncResult) -> None:
    """Ask the vendor about actions an earlier run left in flight: held -> delivered, refused -> rejected,
    absent -> sent in this run (the plan row becomes `send`), undecided -> still in flight, reported unknown."""
    spec, con, dest_name = d.spec, d.con, d.instance.name
    reconcile = d.reconciler(Op.SEND)
    absent: list[str] = []
    waves = list(_stream(d, ["unknown"]))  # read out before the plan table is updated below
    for wave in waves:
        records = _records(spec, wave)
        try:
            found = reconcile(spec, records, None)
        except (RetriableError, OutcomeUnknown) as exc:
            log.warning("%s: reconciling in-flight actions failed: %s", spec.name, exc)
            found = None
        if found is None:
            found = BatchOutcome(failed={r.key: "the vendor could not be asked" for r in records})
        state.ledger_outcome(
            con, spec.name, dest_name, list(found.confirmed), "delivered", False, [None] * len(found.confirmed), d.now
        )
        state.ledger_outcome(
            con,
            spec.name,
            dest_name,
            list(found.rejected),
            "rejected",
            False,
            [f"{c}: {m}" for c, m in found.rejected.values()],
            d.now,
        )
        state.ledger_outcome(
            con,
            spec.name,
            dest_name,
            list(found.failed),
            "pending",
            True,
            [f"in flight; asked again next run: {m}" for m in found.failed.values()],
            d.now,
        )
        result.succeeded += len(found.confirmed)
        result.rejected += len(found.rejected)
        result.unknown += len(found.failed)
        known = set(found.confirmed) | set(found.rejected) | set(found.failed)
        absent.extend(r.key for r in records if r.key not in known)
    if absent:
        state.mark_for_send(con, spec.name, absent)


def _apply_actions(d: _Delivery, result, finished: _Finished) -> None:
    spec, con, dest_name, now = d.spec, d.con, d.instance.name, d.now
    confirmed, unknown = finished.confirmed, finished.unknown
    result.sent += finished.sent
    result.succeeded += len(confirmed)
    result.rejected += len(finished.rejected)
    result.failed += len(finished.failed)
    result.unknown += len(unknown)
    state.ledger_outcome(con, spec.name, dest_name, confirmed, "delivered", False, [None] * len(confirmed), now)
    rejected = list(finished.rejected)
    state.ledger_outcome(
        con,
        spec.name,
        dest_name,
        rejected,
        "rejected",
        False,
        [f"{c}: {m}" for c, m in finished.rejected.values()],
        now,
    )
    failed = list(finished.failed)
    state.ledger_outcome(con, spec.name, dest_name, failed, "pending", False, list(finished.failed.values()), now)
    if d.dest.capabilities.dedupes_actions or d.reconciler(Op.SEND) is not None:
        # dedupes: re-sent next run with the same key, the vendor drops the duplicate;
        # reconcile: still in flight, the next run asks the vendor before anything is re-sent
        state.ledger_outcome(
            con, spec.name, dest_name, unknown, "pending", True, ["outcome unknown"] * len(unknown), now
        )
    else:
        state.ledger_outcome(
            con,
            spec.name,
            dest_name,
            unknown,
            "unknown",
            False,
            ["request may have reached the vendor; it cannot be asked; not re-sent"] * len(unknown),
            now,
        )
    finished.reset()


def describe_result(result: SyncResult) -> str:
    return json.dumps({k: v for k, v in result.as_dict().items() if v not in (None, 0, "", {})}, default=str)
