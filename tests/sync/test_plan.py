"""The plan SQL: golden files per dialect, and the diff against a plain Python set difference."""

import os
import random
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from destinations import engine, plan, state
from tests.sync.conftest import profiles_spec

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "upsert": lambda: plan.diff_plan(
        "sync_klaviyo__customers",
        "syncs.sync_klaviyo__customers",
        "customer_id",
        ["email", "first_name", "phone"],
        "upsert",
    ),
    "mirror": lambda: plan.diff_plan(
        "sync_klaviyo__vip", "syncs.sync_klaviyo__vip", "customer_id", ["email", "tier"], "mirror"
    ),
    "actions": lambda: plan.actions_plan(
        "sync_klaviyo__journeys",
        "marts.journey_actions",
        "action_id",
        ["action_id", "to_address"],
        "scheduled_for",
        datetime(2026, 11, 20, 12),
        dedupes=True,
    ),
}


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_sql_matches_golden_file(case, dialect):
    sql = plan.render(CASES[case](), dialect) + "\n"
    path = GOLDEN / f"{case}.{dialect}.sql"
    if os.environ.get("SEGUE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql)
    assert path.exists(), f"missing golden file {path}; run with SEGUE_UPDATE_SNAPSHOTS=1"
    assert sql == path.read_text(), f"generated SQL changed; review and regenerate {path.name}"


def test_golden_sql_parses_back_in_its_dialect():
    import sqlglot

    for path in GOLDEN.glob("*.sql"):
        dialect = path.name.split(".")[1]
        assert sqlglot.parse_one(path.read_text(), read=dialect) is not None


def test_row_hash_tells_null_from_empty_and_moved_values():
    con = duckdb.connect()
    h = plan.row_hash(["a", "b"]).sql("duckdb")
    rows = con.execute(
        f"select {h} from (values ('x', null), ('x', ''), ('', 'x'), ('x1', ''), ('x', '1')) as t(a, b)"
    ).fetchall()
    assert len({r[0] for r in rows}) == 5


def _random_table(rng, keys, values):
    return {k: (rng.choice(values), rng.choice(values)) for k in keys}


@pytest.mark.parametrize("seed", range(25))
def test_plan_equals_python_set_difference(seed):
    """Random before/after tables: add = after - before, remove = before - after, change = values differ."""
    rng = random.Random(seed)
    universe = [f"k{i}" for i in range(rng.randint(0, 60))]
    values = [None, "", "a", "b", "a b", "1"]
    before = _random_table(rng, rng.sample(universe, rng.randint(0, len(universe))), values)
    after = dict(before)
    for key in rng.sample(universe, rng.randint(0, len(universe))):
        roll = rng.random()
        if roll < 0.3:
            after.pop(key, None)
        else:
            after[key] = (rng.choice(values), rng.choice(values))
    spec = profiles_spec(
        mode=rng.choice(["upsert", "mirror"]),
        mapping={"external_id": "customer_id", "email": "email", "first_name": "first_name"},
        columns=["customer_id", "email", "first_name"],
    )
    con = duckdb.connect()
    con.execute("create schema syncs")

    def load(table):
        con.execute(
            "create or replace table syncs.test_profiles (customer_id varchar, email varchar, first_name varchar)"
        )
        if table:
            con.executemany("insert into syncs.test_profiles values (?, ?, ?)", [(k, *v) for k, v in table.items()])

    load(before)
    engine.compute_plan(con, spec, datetime(2026, 1, 1), True)
    con.execute(  # the destination confirmed everything: the snapshot now holds `before`
        f"insert into {state.SCHEMA}.sync_snapshots select ?, record_key, row_hash, now() "
        f"from {state.plan_table(spec.name)} where op in ('add', 'change')",
        [spec.name],
    )
    load(after)
    counts = engine.compute_plan(con, spec, datetime(2026, 1, 1), True)
    got = {}
    for key, op in con.execute(f"select record_key, op from {state.plan_table(spec.name)}").fetchall():
        got.setdefault(op, set()).add(key)
    removed_name = "remove" if spec.mode == "mirror" else "departed"
    assert got.get("add", set()) == set(after) - set(before)
    assert got.get(removed_name, set()) == set(before) - set(after)
    assert got.get("change", set()) == {k for k in set(after) & set(before) if after[k] != before[k]}
    unchanged = {k for k in set(after) & set(before) if after[k] == before[k]}
    assert "unchanged" not in got  # counted, not kept: the plan table holds rows to act on
    assert counts.get("unchanged", 0) == len(unchanged)
    assert sum(counts.values()) == len(set(after) | set(before))
    con.close()


def test_duplicate_or_null_keys_are_refused(tmp_path):
    from destinations.base import ConfigError

    con = duckdb.connect()
    con.execute("create schema syncs")
    con.execute(
        "create table syncs.test_profiles as select * from (values ('c1', 'a'), ('c1', 'b'), (null, 'c')) "
        "as t(customer_id, email)"
    )
    spec = profiles_spec(mapping={"external_id": "customer_id", "email": "email"}, columns=["customer_id", "email"])
    with pytest.raises(ConfigError, match=r"primary_key customer_id must be unique and not null; found .*'c1' x2"):
        engine.compute_plan(con, spec, datetime(2026, 1, 1), True)
