"""customer_key is stable (CONTRACT §3): same raw data, same keys; new rows re-key only merged customers."""

from __future__ import annotations

import duckdb

from tests.conftest import AS_OF
from tests.identity.conftest import DBT_VARS


def _keys(path) -> dict[tuple[str, str], str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select identifier_type, identifier_value, customer_key from marts.customer_identifiers")
        return {(kind, value): key for kind, value, key in rows.fetchall()}
    finally:
        con.close()


def test_same_raw_data_gives_the_same_keys(identity_warehouse, tmp_path):
    path, dbt = identity_warehouse.copy(tmp_path)
    before = _keys(path)
    dbt("run", "--select", "identity", "--full-refresh", vars=DBT_VARS).check()
    after = _keys(path)
    assert after == before
    assert len(set(before.values())) > 500


def test_appended_rows_rekey_only_the_customers_that_merge(identity_warehouse, tmp_path):
    path, dbt = identity_warehouse.copy(tmp_path)
    before = _keys(path)
    late = AS_OF.replace(hour=AS_OF.hour - 1)
    con = duckdb.connect(str(path))
    try:
        # A: an online account with an email and no loyalty card. B: a loyalty
        # member with no account. C: another account that just orders again.
        profile = """
            select customer_key,
                   count(*) filter (where identifier_type = 'customer_id') as accounts,
                   count(*) filter (where identifier_type = 'loyalty_id') as cards,
                   bool_or(is_shared) as shared,
                   min(identifier_value) filter (where identifier_type = 'email') as email,
                   min(identifier_value) filter (where identifier_type = 'customer_id') as customer_id,
                   min(identifier_value) filter (where identifier_type = 'loyalty_id') as loyalty_id,
                   count(*) as size
            from marts.customer_identifiers group by customer_key
        """
        a_key, a_email = con.execute(
            f"select customer_key, email from ({profile}) where accounts = 1 and cards = 0 and not shared "
            "and email is not null and size between 3 and 8 order by customer_key limit 1"
        ).fetchone()
        b_key, b_loyalty = con.execute(
            f"select customer_key, loyalty_id from ({profile}) where accounts = 0 and cards = 1 and not shared "
            "and size >= 2 order by customer_key limit 1"
        ).fetchone()
        c_key, c_customer_id, c_email = con.execute(
            f"select customer_key, customer_id, email from ({profile}) where accounts = 1 and not shared "
            "and email is not null and customer_key not in (?, ?) order by customer_key limit 1",
            [a_key, b_key],
        ).fetchone()
        # The merged customer keeps the key of the one seen first.
        [(expected_key,)] = con.execute(
            """
            select arg_min(customer_key, (first_seen_at, type_rank, node_id))
            from identity.int_identity__components where node_id = key_node_id and customer_key in (?, ?)
            """,
            [a_key, b_key],
        ).fetchall()
        store_id = con.execute("select min(store_id) from raw.stores").fetchone()[0]
        # A receipt with B's loyalty card and A's email (merges A and B) ...
        con.execute(
            "insert into raw.pos_transactions by name select 'T-APPENDED-1' as transaction_id, ? as store_id, "
            "? as loyalty_id, upper(?) as receipt_email, null as phone, 12.5 as total_amount, 'GBP' as currency, "
            "cast(? as timestamp) as transacted_at",
            [store_id, b_loyalty, a_email, late],
        )
        # ... C orders again (no merge) ...
        con.execute(
            "insert into raw.orders by name select 'ORD-APPENDED-1' as order_id, ? as customer_id, ? as email, "
            "null as phone, 'completed' as status, 20.0 as total_amount, 'GBP' as currency, 'web' as source, "
            "cast(? as timestamp) as ordered_at",
            [c_customer_id, c_email, late],
        )
        # ... and a new person signs up.
        con.execute(
            "insert into raw.customers by name select 'C-APPENDED-1' as customer_id, 'new.person@appended.test' "
            "as email, null as phone, 'New' as first_name, 'Person' as last_name, 'GB' as country, "
            "cast(? as timestamp) as created_at, cast(? as timestamp) as updated_at",
            [late, late],
        )
    finally:
        con.close()

    # Rebuild the staging tables whose raw tables got rows (their base_ views read raw
    # directly), then every identity model.
    changed_staging = ["stg_pos__transactions", "stg_shop__orders", "stg_shop__customers"]
    dbt("run", "--select", *changed_staging, "identity", vars=DBT_VARS).check()
    after = _keys(path)

    merged = {ident for ident, key in before.items() if key in (a_key, b_key)}
    assert len(merged) >= 4
    assert {after[ident] for ident in merged} == {expected_key}
    changed = {ident for ident, key in before.items() if after.get(ident) != key}
    assert changed <= merged, sorted(changed - merged)[:10]
    assert before.keys() <= after.keys()
    assert after[("customer_id", c_customer_id)] == c_key
    new_key = after[("customer_id", "C-APPENDED-1")]
    assert after[("email", "new.person@appended.test")] == new_key
    assert new_key not in set(before.values())
