"""The SQL of a sync plan, built with sqlglot so it runs inside the warehouse in any dialect.

A plan compares the sync model with what the destination is believed to hold
(the snapshot, or the send ledger for actions) and labels every key:

- upsert / mirror: `add`, `change`, `remove` (mirror; upsert calls it `departed`
  and leaves the destination alone), `unchanged`, `skip` (rejected before with
  exactly these values: not re-sent until the row changes);
- actions: `send` (due and never attempted, or safe to re-send), `wait`
  (scheduled in the future), `unknown` (a send may have happened and the vendor
  cannot de-duplicate: reported, never re-sent), `done`.

`is_retry` marks keys that failed in an earlier run. Golden files in
`tests/sync/golden/` hold the generated SQL for duckdb, postgres and spark.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

STATE_SCHEMA = "segue"
NULL_MARK = "-"


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _tbl(schema: str, name: str, alias: str | None = None) -> exp.Table:
    return exp.table_(name, db=schema, quoted=True, alias=alias)


def relation_table(relation: str, alias: str | None = None) -> exp.Table:
    schema, _, name = relation.rpartition(".")
    return _tbl(schema, name, alias) if schema else exp.table_(name, quoted=True, alias=alias)


def text(expression: exp.Expression) -> exp.Expression:
    return exp.cast(expression, exp.DataType.build("text"))


def row_hash(columns: list[str], table: str | None = None) -> exp.Expression:
    """md5 over the mapped columns, each written as `<length>:<text>` (null as `-`), so no two rows collide."""
    parts: list[exp.Expression] = []
    for c in sorted(columns):
        value = text(_col(c, table))
        length = text(exp.Length(this=value.copy()))
        marked = exp.DPipe(
            this=exp.DPipe(this=length, expression=exp.Literal.string(":"), safe=True), expression=value, safe=True
        )
        parts.append(exp.Coalesce(this=marked, expressions=[exp.Literal.string(NULL_MARK)]))
    # One variadic CONCAT (every part is non-null) rather than a chain of `||`: the same text, ~20% less
    # work in DuckDB, which builds an intermediate string per `||` (bench/results.md, sync plan).
    joined = parts[0] if len(parts) == 1 else exp.Anonymous(this="CONCAT", expressions=parts)
    return exp.MD5(this=joined)


def _for_sync(table: str, sync_name: str, columns: list[str]) -> exp.Select:
    return (
        exp.select(*[_col(c) for c in columns])
        .from_(_tbl(STATE_SCHEMA, table))
        .where(exp.EQ(this=_col("sync_name"), expression=exp.Literal.string(sync_name)))
    )


def _case(*whens: tuple[exp.Expression, str], default: str) -> exp.Case:
    case = exp.Case()
    for condition, value in whens:
        case = case.when(condition, exp.Literal.string(value))
    return case.else_(exp.Literal.string(default))


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=_is_null(e))


def source_cte(relation: str, primary_key: str, mapped: list[str], extra: list[str] = ()) -> exp.Select:
    return exp.select(
        exp.alias_(text(_col(primary_key)), "record_key", quoted=True),
        exp.alias_(row_hash(mapped), "row_hash", quoted=True),
        *[_col(c) for c in extra],
    ).from_(relation_table(relation))


def diff_plan(sync_name: str, relation: str, primary_key: str, mapped: list[str], mode: str) -> exp.Select:
    """upsert / mirror: the model against the snapshot, rejections and failed keys."""
    src, snap, rej, fail = "src", "snap", "rej", "fail"
    changed = exp.NEQ(this=_col("row_hash", src), expression=_col("row_hash", snap))
    rejected = _not_null(_col("record_key", rej))
    departed = "remove" if mode == "mirror" else "departed"
    op = _case(
        (exp.and_(_is_null(_col("record_key", snap)), rejected), "skip"),
        (_is_null(_col("record_key", snap)), "add"),
        (_is_null(_col("record_key", src)), departed),
        (exp.and_(changed, rejected), "skip"),
        (changed, "change"),
        default="unchanged",
    )
    key = exp.Coalesce(this=_col("record_key", src), expressions=[_col("record_key", snap)])
    return (
        exp.select(
            exp.alias_(key, "record_key", quoted=True),
            exp.alias_(_col("row_hash", src), "row_hash", quoted=True),
            exp.alias_(op, "op", quoted=True),
            exp.alias_(_not_null(_col("record_key", fail)), "is_retry", quoted=True),
        )
        .with_(src, as_=source_cte(relation, primary_key, mapped))
        .with_(snap, as_=_for_sync("sync_snapshots", sync_name, ["record_key", "row_hash"]))
        .with_(rej, as_=_for_sync("sync_rejections", sync_name, ["record_key", "row_hash"]))
        .with_(fail, as_=_for_sync("sync_failed_keys", sync_name, ["record_key"]))
        .from_(exp.to_table(src))
        .join(
            exp.to_table(snap),
            on=exp.EQ(this=_col("record_key", src), expression=_col("record_key", snap)),
            join_type="full outer",
        )
        .join(
            exp.to_table(rej),
            on=exp.and_(
                exp.EQ(this=_col("record_key", rej), expression=_col("record_key", src)),
                exp.EQ(this=_col("row_hash", rej), expression=_col("row_hash", src)),
            ),
            join_type="left",
        )
        .join(exp.to_table(fail), on=exp.EQ(this=_col("record_key", fail), expression=key.copy()), join_type="left")
    )


def actions_plan(
    sync_name: str,
    relation: str,
    primary_key: str,
    mapped: list[str],
    scheduled_for: str,
    as_of: datetime,
    dedupes: bool,
) -> exp.Select:
    """actions: the model against the send ledger; at most once, future rows wait."""
    src, led = "src", "led"
    now = exp.cast(exp.Literal.string(as_of.strftime("%Y-%m-%d %H:%M:%S")), exp.DataType.build("timestamp"))
    not_in_ledger = _is_null(_col("record_key", led))
    pending = exp.EQ(this=_col("status", led), expression=exp.Literal.string("pending"))
    resend = pending if dedupes else exp.and_(pending, exp.Not(this=_col("in_flight", led)))
    op = _case(
        (exp.and_(not_in_ledger, exp.GT(this=_col(scheduled_for, src), expression=now)), "wait"),
        (not_in_ledger, "send"),
        (resend, "send"),
        (pending.copy(), "unknown"),
        default="done",
    )
    ledger = exp.select(
        exp.alias_(_col("action_id"), "record_key", quoted=True), _col("status"), _col("in_flight")
    ).from_(_tbl(STATE_SCHEMA, "sync_send_ledger"))
    ledger = ledger.where(exp.EQ(this=_col("sync_name"), expression=exp.Literal.string(sync_name)))
    return (
        exp.select(
            exp.alias_(_col("record_key", src), "record_key", quoted=True),
            exp.alias_(_col("row_hash", src), "row_hash", quoted=True),
            exp.alias_(op, "op", quoted=True),
            exp.alias_(_not_null(_col("record_key", led)), "is_retry", quoted=True),
        )
        .with_(src, as_=source_cte(relation, primary_key, mapped, [scheduled_for]))
        .with_(led, as_=ledger)
        .from_(exp.to_table(src))
        .join(
            exp.to_table(led),
            on=exp.EQ(this=_col("record_key", src), expression=_col("record_key", led)),
            join_type="left",
        )
    )


def render(query: exp.Expression, dialect: str = "duckdb") -> str:
    return query.sql(dialect=dialect, pretty=True)


def key_stats_query(relation: str, primary_key: str) -> exp.Select:
    """Rows, non-null keys and distinct keys of the model in one pass (equal when the key is sound)."""
    key = text(_col(primary_key))
    return exp.select(
        exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
        exp.alias_(exp.Count(this=key), "non_null", quoted=True),
        exp.alias_(exp.Count(this=exp.Distinct(expressions=[key.copy()])), "distinct_keys", quoted=True),
    ).from_(relation_table(relation))


def duplicate_keys_query(relation: str, primary_key: str) -> exp.Select:
    """Keys that occur more than once or are null (a sync refuses such a model)."""
    key = text(_col(primary_key))
    return (
        exp.select(exp.alias_(key, "record_key", quoted=True), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(relation_table(relation))
        .group_by(key.copy())
        .having(
            exp.or_(
                exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)),
                _is_null(key.copy()),
            )
        )
        .limit(5)
    )
