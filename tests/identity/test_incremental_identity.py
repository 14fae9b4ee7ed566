"""Incremental identity (dbt var identity_incremental) re-resolves only what changed, and equals a full rebuild.

The rows appended to the generated retailer exercise what can change a resolved
customer: two customers merging through a receipt, an account changing its email
(the old address may split off), a kiosk device seen with one more account, a
new person, and an account that just orders again.
"""

from __future__ import annotations

import shutil

import duckdb

from tests.conftest import AS_OF
from tests.dbt.dbt_runner import Dbt
from tests.identity.conftest import DBT_VARS

INCREMENTAL_VARS = {**DBT_VARS, "identity_incremental": True}
# What the appended rows change: the staging tables they land in, and identity.
REBUILD = ("run", "--select", "stg_pos__transactions", "stg_shop__customers", "stg_shop__orders", "identity")
COMPARED_SCHEMAS = ("identity", "marts")
# What a run did, not what the data is.
RUN_STATE = {"int_identity__graph_changes": "is_affected"}


def append_changes(path) -> None:
    late = AS_OF.replace(hour=AS_OF.hour - 1)
    con = duckdb.connect(str(path))
    try:

        def one(sql: str, params: list | None = None):
            rows = con.execute(sql, params or []).fetchall()
            assert rows, sql
            return rows[0]

        identifiers = "select identifier_value from marts.customer_identifiers where identifier_type = ?"
        (a_email,) = one(f"{identifiers} and not is_shared order by 1 limit 1 offset 7", ["email"])
        (b_loyalty,) = one(f"{identifiers} and not is_shared order by 1 limit 1 offset 3", ["loyalty_id"])
        (kiosk,) = one(f"{identifiers} and is_shared order by 1 limit 1", ["anonymous_id"])
        (other_account,) = one(f"{identifiers} and not is_shared order by 1 limit 1 offset 21", ["customer_id"])
        (store_id,) = one("select min(store_id) from raw.stores")
        # A receipt with a loyalty card and another customer's email: they merge.
        con.execute(
            "insert into raw.pos_transactions by name select 'T-INCREMENTAL-1' as transaction_id, ? as store_id, "
            "? as loyalty_id, upper(?) as receipt_email, null as phone, 12.5 as total_amount, 'GBP' as currency, "
            "cast(? as timestamp) as transacted_at",
            [store_id, b_loyalty, a_email, late],
        )
        # An account's newer row with another email: its old address loses the link it had from this row.
        customer = one(
            "select customer_id, phone, first_name, last_name, country, created_at from raw.customers "
            "where email is not null order by customer_id limit 1 offset 11"
        )
        con.execute(
            "insert into raw.customers by name select ? as customer_id, 'changed.address@incremental.test' as email, "
            "? as phone, ? as first_name, ? as last_name, ? as country, ? as created_at, "
            "cast(? as timestamp) as updated_at",
            [*customer, late],
        )
        # The kiosk device seen with one more account.
        con.execute(
            "insert into raw.events by name select 'E-INCREMENTAL-1' as event_id, ? as anonymous_id, ? as user_id, "
            "'Product Viewed' as event, cast(? as timestamp) as timestamp",
            [kiosk, other_account, late],
        )
        # A new person, and an account ordering again.
        con.execute(
            "insert into raw.customers by name select 'C-INCREMENTAL-1' as customer_id, "
            "'new.person@incremental.test' as email, null as phone, 'New' as first_name, 'Person' as last_name, "
            "'GB' as country, cast(? as timestamp) as created_at, cast(? as timestamp) as updated_at",
            [late, late],
        )
        (c_customer_id, c_email) = one(
            "select customer_id, email from raw.customers where email is not null order by customer_id "
            "limit 1 offset 40"
        )
        con.execute(
            "insert into raw.orders by name select 'ORD-INCREMENTAL-1' as order_id, ? as customer_id, ? as email, "
            "null as phone, 'completed' as status, 20.0 as total_amount, 'GBP' as currency, 'web' as source, "
            "cast(? as timestamp) as ordered_at",
            [c_customer_id, c_email, late],
        )
    finally:
        con.close()


def differences(left, right) -> list[str]:
    """Relations of identity and marts whose rows differ (duplicates counted), with the counts."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        schemas = ", ".join(f"'{schema}'" for schema in COMPARED_SCHEMAS)
        relations = con.execute(
            f"select schema_name, table_name from duckdb_tables() where database_name = 'l' "
            f"and schema_name in ({schemas}) order by 1, 2"
        ).fetchall()
        assert len(relations) >= 14, relations
        found = []
        for schema, name in relations:
            exclude = f" exclude ({RUN_STATE[name]})" if name in RUN_STATE else ""
            left_rows = f"select *{exclude} from l.{schema}.{name}"
            right_rows = f"select *{exclude} from r.{schema}.{name}"
            only_left = con.execute(f"select count(*) from ({left_rows} except all {right_rows})").fetchone()[0]
            only_right = con.execute(f"select count(*) from ({right_rows} except all {left_rows})").fetchone()[0]
            if only_left or only_right:
                found.append(f"{schema}.{name}: {only_left} rows only incremental, {only_right} only full")
        return found
    finally:
        con.close()


def affected(dbt) -> tuple[int, int]:
    [(count, total)] = dbt.query(
        "select count(*) filter (where is_affected), count(*) from identity.int_identity__graph_changes"
    )
    return count, total


def copy(identity_warehouse, folder) -> tuple:
    """A copy of the fixture's warehouse with its own dbt target folder (other vars: another parse)."""
    folder.mkdir()
    path = folder / "copy.duckdb"
    shutil.copyfile(identity_warehouse.path, path)
    return path, Dbt(path, folder)


def test_incremental_identity_equals_a_full_rebuild_and_resolves_only_what_changed(identity_warehouse, tmp_path):
    incremental_path, incremental = copy(identity_warehouse, tmp_path / "incremental")
    full_path = tmp_path / "full.duckdb"

    # The fixture was built with the var off: its components already hold the state an incremental run reads.
    incremental(*REBUILD, vars=INCREMENTAL_VARS).check()
    assert affected(incremental)[0] == 0, "nothing changed, nothing to re-resolve"

    append_changes(incremental_path)
    shutil.copyfile(incremental_path, full_path)
    incremental(*REBUILD, vars=INCREMENTAL_VARS).check()
    count, total = affected(incremental)
    print(f"\nincremental identity: {count} of {total} identifiers re-resolved")
    assert 0 < count < total * 0.1
    [(is_new_affected,)] = incremental.query(
        "select is_affected from identity.int_identity__graph_changes where node_id = 'customer_id:C-INCREMENTAL-1'"
    )
    assert is_new_affected

    full = Dbt(full_path, incremental.work_dir)
    full(*REBUILD, "--full-refresh", vars=DBT_VARS).check()
    assert differences(incremental_path, full_path) == []


def test_a_changed_identity_var_re_resolves_every_identifier(identity_warehouse, tmp_path):
    _, incremental = copy(identity_warehouse, tmp_path / "looser")
    looser = {**INCREMENTAL_VARS, "identity_max_accounts_per_identifier": 2}
    incremental("run", "--select", "identity", vars=looser).check()
    count, total = affected(incremental)
    assert count == total
    [(shared,)] = incremental.query("select count(*) from marts.customer_identifiers where is_shared")
    [(shared_before,)] = identity_warehouse.dbt.query("select count(*) from marts.customer_identifiers where is_shared")
    assert shared < shared_before


def test_a_run_that_stopped_half_way_is_resolved_by_the_next_one(identity_warehouse, tmp_path):
    """A run that stopped after tier 3 left a merge half-resolved; the merge's receipt is then withdrawn.

    The identifiers' digests are back to what int_identity__components holds, yet tiers 2 and 3 hold the
    merge: the next run finds them through int_identity__graph_changes' previous build and re-resolves them.
    """
    path, dbt = copy(identity_warehouse, tmp_path / "half")
    dbt("run", "--select", "identity", vars=INCREMENTAL_VARS).check()
    late = AS_OF.replace(hour=AS_OF.hour - 1)
    identifiers = "select identifier_value from marts.customer_identifiers where identifier_type = ?"
    [(email,)] = dbt.query(f"{identifiers} and not is_shared order by 1 limit 1 offset 30", ["email"])
    [(loyalty_id,)] = dbt.query(f"{identifiers} and not is_shared order by 1 limit 1 offset 30", ["loyalty_id"])
    receipt = (
        "insert into raw.pos_transactions by name select 'T-HALF-1' as transaction_id, "
        "(select min(store_id) from raw.stores) as store_id, ? as loyalty_id, ? as receipt_email, null as phone, "
        "1.0 as total_amount, 'GBP' as currency, cast(? as timestamp) as transacted_at"
    )
    with duckdb.connect(str(path)) as con:
        con.execute(receipt, [loyalty_id, email, late])
    up_to_tier_3 = [
        "stg_pos__transactions",
        "int_identity__records",
        "int_identity__observations",
        "int_identity__edges",
        "int_identity__nodes",
        "int_identity__graph_changes",
        "int_identity__tier_2_links",
        "int_identity__tier_2",
        "int_identity__tier_3_links",
        "int_identity__tier_3",
    ]
    dbt("run", "--select", *up_to_tier_3, vars=INCREMENTAL_VARS).check()
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw.pos_transactions where transaction_id = 'T-HALF-1'")
    full_path = tmp_path / "full.duckdb"
    shutil.copyfile(path, full_path)

    dbt("run", "--select", "stg_pos__transactions", "identity", vars=INCREMENTAL_VARS).check()
    assert affected(dbt)[0] > 0
    Dbt(full_path, dbt.work_dir)("run", "--select", "stg_pos__transactions", "identity", "--full-refresh").check()
    assert differences(path, full_path) == []
