"""The sample retailer: deterministic, shaped like CONTRACT §2, truthful about itself, and really messy.

One small retailer is generated per module (a second and third only where a
test compares generations). Each check would fail if the generator lost the
property it names: they count and compare, they do not just look for rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import phonenumbers
import pytest

from orchestration.generator import generate
from orchestration.generator.geography import EMAIL_PLACEHOLDERS, PHONE_PLACEHOLDERS
from orchestration.generator.sampling import Streams
from orchestration.raw_contract import RAW_TABLES

AS_OF = dt.datetime(2026, 11, 20, 12, 0, 0)
PEOPLE = 1500
SEED = 11
PLACEHOLDERS = {*EMAIL_PLACEHOLDERS, *PHONE_PLACEHOLDERS}


@pytest.fixture(scope="module")
def retailer(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("generator") / "retailer.duckdb"
    counts = generate(str(path), customers=PEOPLE, seed=SEED, as_of=AS_OF)
    return path, counts


@pytest.fixture(scope="module")
def con(retailer):
    connection = duckdb.connect(str(retailer[0]), read_only=True)
    yield connection
    connection.close()


def rows(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def scalar(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()[0]


def digests(path: Path) -> dict[str, str]:
    """One hash per raw and truth table over its sorted row hashes: order-independent content."""
    with duckdb.connect(str(path), read_only=True) as c:
        tables = c.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'truth') order by all"
        ).fetchall()
        return {
            f"{s}.{t}": c.execute(
                f"select md5(coalesce(string_agg(h, ',' order by h), '')) "
                f'from (select md5(r::varchar) as h from {s}."{t}" r)'
            ).fetchone()[0]
            for s, t in tables
        }


# --- determinism ------------------------------------------------------------------------------------


def test_same_inputs_give_identical_tables(retailer, tmp_path):
    again = tmp_path / "again.duckdb"
    generate(str(again), customers=PEOPLE, seed=SEED, as_of=AS_OF)
    first, second = digests(retailer[0]), digests(again)
    assert len(first) == len(RAW_TABLES) + 9
    assert first == second


def test_another_seed_gives_other_data(retailer, tmp_path):
    other = tmp_path / "other.duckdb"
    generate(str(other), customers=PEOPLE, seed=SEED + 1, as_of=AS_OF)
    first, second = digests(retailer[0]), digests(other)
    same = {t for t in first if first[t] == second[t]}
    # Only the fixed store list may match.
    assert same <= {"raw.stores"}, same


def test_several_chunks_are_deterministic_and_consistent(tmp_path, monkeypatch):
    from orchestration.generator import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 400)  # 1,000 people in three chunks
    paths = [tmp_path / "a.duckdb", tmp_path / "b.duckdb"]
    for path in paths:
        generate(str(path), customers=1000, seed=3, as_of=AS_OF)
    assert digests(paths[0]) == digests(paths[1])
    with duckdb.connect(str(paths[0]), read_only=True) as c:
        assert c.execute("select count(*), count(distinct person_id) from truth.persons").fetchone() == (1000, 1000)
        # Ids drawn from run-wide sequences stay unique across chunks.
        for table, key in (("orders", "order_id"), ("pos_transactions", "transaction_id"), ("consents", "consent_id")):
            dups = c.execute(f"select count(*) from raw.{table} r group by {key} having count(distinct r) > 1")
            assert dups.fetchall() == [], table
        chunked = c.execute("select count(distinct person_id // 400) from truth.purchases").fetchone()[0]
        assert chunked == 3


def test_streams_are_independent_of_each_other():
    a = Streams(5).rng("online.events", 0).random(3)
    b = Streams(5).rng("online.events", 0).random(3)
    c = Streams(5).rng("online.events", 1).random(3)
    d = Streams(5).rng("online.sessions", 0).random(3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)


# --- shape ------------------------------------------------------------------------------------------


def test_raw_tables_columns_and_types_are_the_contract(con, retailer):
    found: dict[str, dict[str, str]] = {}
    for table, column, type_ in rows(
        con,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' order by table_name, ordinal_position",
    ):
        found.setdefault(table, {})[column] = type_
    assert found == RAW_TABLES
    assert {t: list(c) for t, c in found.items()} == {t: list(c) for t, c in RAW_TABLES.items()}  # order too
    counts = retailer[1]
    assert set(counts) == set(RAW_TABLES)
    for table, n in counts.items():
        assert n > 0, table
        assert scalar(con, f'select count(*) from raw."{table}"') == n


def test_regenerating_replaces_raw_and_truth_but_keeps_other_schemas(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as c:
        c.execute("create schema marts; create table marts.keep as select 1 as x")
        c.execute("create schema raw; create table raw.leftover as select 1 as x")
    generate(str(path), customers=50, seed=1, as_of=AS_OF)
    generate(str(path), customers=50, seed=1, as_of=AS_OF)
    with duckdb.connect(str(path), read_only=True) as c:
        assert c.execute("select x from marts.keep").fetchall() == [(1,)]
        raw = {
            r[0]
            for r in c.execute("select table_name from information_schema.tables where table_schema='raw'").fetchall()
        }
        assert raw == set(RAW_TABLES)
        assert c.execute("select customers, seed, as_of from truth.generation").fetchall() == [(50, 1, AS_OF)]


def test_scale_is_plausible(con):
    assert 20 <= scalar(con, "select count(*) / ? from raw.events", PEOPLE) <= 40
    share = scalar(con, "select count(*) / ? from truth.persons where customer_id is not null", PEOPLE)
    assert 0.64 <= share <= 0.76
    share = scalar(con, "select count(*) / ? from truth.persons where loyalty_id is not null", PEOPLE)
    assert 0.39 <= share <= 0.51
    countries = dict(rows(con, "select country, count(*) / ? from truth.persons group by 1", PEOPLE))
    assert 0.45 <= countries["GB"] <= 0.55 and 0.11 <= countries["US"] <= 0.19
    assert set(countries) == {"GB", "US", "DE", "FR", "IE", "AU", "NL", "ES"}
    online_only = scalar(
        con, "select count(*) from truth.persons where country in ('NL', 'ES') and home_store_id is not null"
    )
    assert online_only == 0


# --- truth agrees with raw ----------------------------------------------------------------------------


def _truth(con, kind: str, in_raw: bool | None = None) -> set[str]:
    sql = (
        "select identifier_value from truth.identifiers "
        "where identifier_type = ? and shared_kind is distinct from 'placeholder'"
    )
    if in_raw is not None:
        sql += f" and appears_in_raw = {in_raw}"
    return {r[0] for r in rows(con, sql, kind)}


def test_every_raw_email_id_and_device_is_in_truth(con):
    emails = _truth(con, "email")
    raw_emails = rows(
        con,
        """
        select email from raw.customers union all select email from raw.loyalty_members
        union all select email from raw.orders union all select receipt_email from raw.pos_transactions
        union all select email from raw.identifies
        union all select identifier_value from raw.consents where identifier_type = 'email'
        union all select identifier_value from raw.message_events where channel = 'email'
        """,
    )
    values = {e.strip().lower() for (e,) in raw_emails if e is not None}
    assert values - emails - PLACEHOLDERS == set()
    # appears_in_raw says exactly which true addresses some raw row shows.
    assert values - PLACEHOLDERS == _truth(con, "email", in_raw=True)
    assert len(values) > PEOPLE / 2

    customer_ids = _truth(con, "customer_id")
    raw_ids = rows(
        con,
        """
        select customer_id from raw.customers union all select customer_id from raw.loyalty_members
        union all select customer_id from raw.orders union all select user_id from raw.identifies
        union all select user_id from raw.events
        """,
    )
    assert {v.strip() for (v,) in raw_ids if v is not None} - customer_ids == set()

    loyalty_ids = _truth(con, "loyalty_id")
    raw_ids = rows(
        con, "select loyalty_id from raw.loyalty_members union all select loyalty_id from raw.pos_transactions"
    )
    assert {v.strip() for (v,) in raw_ids if v is not None} - loyalty_ids == set()

    devices = _truth(con, "anonymous_id")
    raw_ids = rows(con, "select anonymous_id from raw.events union all select anonymous_id from raw.identifies")
    assert {v.strip().lower() for (v,) in raw_ids if v is not None} - devices == set()


def _e164(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_every_raw_phone_normalizes_to_a_true_phone(con):
    phones = _truth(con, "phone")
    with_context = rows(
        con,
        """
        select phone, upper(trim(country)) from raw.customers
        union all
        select o.phone, upper(trim(c.country)) from raw.orders o
            left join (select distinct customer_id, country from raw.customers) c on c.customer_id = o.customer_id
        union all
        select t.phone, s.country from raw.pos_transactions t join raw.stores s using (store_id)
        union all
        select l.phone, s.country from raw.loyalty_members l join raw.stores s on s.store_id = l.home_store_id
        union all
        select i.phone, upper(trim(c.country)) from raw.identifies i
            left join (select distinct customer_id, country from raw.customers) c on c.customer_id = trim(i.user_id)
        union all
        select identifier_value, null from raw.consents where identifier_type = 'phone'
        union all
        select identifier_value, null from raw.message_events where channel = 'sms'
        """,
    )
    checked, unknown, found = 0, [], set()
    for value, region in with_context:
        if value is None or value.strip() in PLACEHOLDERS:
            continue
        checked += 1
        e164 = _e164(value, region)
        found.add(e164)
        if e164 not in phones:
            unknown.append((value, region))
    assert checked > PEOPLE / 2
    assert unknown == []
    assert found == _truth(con, "phone", in_raw=True)


def test_every_true_phone_is_a_valid_mobile_of_its_country(con):
    people = rows(con, "select phone, country from truth.persons")
    assert len(people) == PEOPLE
    for phone, country in people:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == country, phone
        assert phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )


def test_truth_identifiers_are_normalized_and_complete(con):
    assert scalar(con, "select count(*) from truth.identifiers where identifier_value is null") == 0
    assert (
        scalar(
            con,
            "select count(*) from truth.identifiers where identifier_type in ('email', 'anonymous_id') "
            "and identifier_value <> lower(trim(identifier_value))",
        )
        == 0
    )
    assert (
        scalar(
            con,
            "select count(*) from truth.identifiers where identifier_type = 'phone' and shared_kind is distinct from "
            "'placeholder' and not regexp_matches(identifier_value, '^\\+[1-9][0-9]{7,14}$')",
        )
        == 0
    )
    # One row per (identifier, person); unshared identifiers belong to one person only.
    assert (
        scalar(
            con,
            "select count(*) - count(distinct (identifier_type, identifier_value, person_id)) from truth.identifiers",
        )
        == 0
    )
    assert (
        scalar(
            con,
            """select count(*) from (select identifier_type, identifier_value from truth.identifiers
           where shared_kind is null group by all having count(distinct person_id) > 1)""",
        )
        == 0
    )
    assert (
        scalar(con, "select count(*) from truth.identifiers where identifier_type = 'email' and shared_kind is null")
        >= PEOPLE
    )


def test_order_totals_match_lines_except_where_broken_on_purpose(con):
    for header, lines, key in (
        ("raw.orders", "raw.order_lines", "order_id"),
        ("raw.pos_transactions", "raw.pos_lines", "transaction_id"),
    ):
        table = header.split(".")[1]
        mismatched = rows(
            con,
            f"""
            select h.{key}, bool_or(b.row_id is not null) as broken
            from (select distinct {key}, total_amount from {header}) h
            join (select {key}, sum(quantity * unit_price) as total from {lines} group by 1) l using ({key})
            left join truth.bad_rows b on b.table_name = '{table}' and b.row_id = h.{key}
                and b.kind = 'negative_quantity_line'
            where abs(h.total_amount - l.total) > 0.005
            group by 1
            """,
        )
        assert mismatched, f"{header}: no deliberately broken totals"
        assert all(broken for _, broken in mismatched), f"{header}: totals off without a reason"
        broken = scalar(
            con, f"select count(*) from truth.bad_rows where table_name = '{table}' and kind = 'negative_quantity_line'"
        )
        assert broken == len(mismatched)
        assert (
            scalar(
                con,
                f"select count(*) from {header} h where not exists (select 1 from {lines} l where l.{key} = h.{key})",
            )
            == 0
        )


def test_orders_have_statuses_and_some_free_completed_orders(con):
    statuses = dict(rows(con, "select status, count(*) from raw.orders group by 1"))
    assert statuses.keys() == {"completed", "cancelled", "refunded"}
    assert statuses["completed"] > 10 * (statuses["cancelled"] + statuses["refunded"]) / 2
    free = dict(rows(con, "select status, count(*) from raw.orders where total_amount = 0 group by 1"))
    assert free.keys() == {"completed"}
    assert currencies_by_country(con) == {
        "GB": {"GBP"}, "US": {"USD"}, "DE": {"EUR"}, "FR": {"EUR"}, "IE": {"EUR"}, "AU": {"AUD"}, "NL": {"EUR"},
        "ES": {"EUR"},
    }  # fmt: skip


def currencies_by_country(con) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for country, currency in rows(
        con,
        """select distinct p.country, o.currency from raw.orders o
           join truth.purchases t on t.purchase_id = o.order_id join truth.persons p using (person_id)""",
    ):
        out.setdefault(country, set()).add(currency)
    return out


def test_order_completed_events_match_orders(con):
    completed = rows(
        con,
        """
        select e.order_id, e.revenue, o.total_amount from raw.events e
        left join (select distinct order_id, total_amount from raw.orders) o using (order_id)
        where e.event = 'Order Completed'
        """,
    )
    assert len(completed) >= scalar(con, "select count(distinct order_id) from raw.orders")
    assert all(total is not None for _, _, total in completed)
    assert all(abs(revenue - total) < 0.005 for _, revenue, total in completed)
    assert scalar(con, "select count(*) from raw.events where order_id is not null and event <> 'Order Completed'") == 0


def test_truth_purchases_and_carts_point_at_raw(con):
    assert (
        scalar(
            con,
            "select count(*) from truth.purchases p where channel = 'online' "
            "and not exists (select 1 from raw.orders o where o.order_id = p.purchase_id)",
        )
        == 0
    )
    assert (
        scalar(
            con,
            "select count(*) from truth.purchases p where channel = 'store' "
            "and not exists (select 1 from raw.pos_transactions t where t.transaction_id = p.purchase_id)",
        )
        == 0
    )
    outcomes = dict(rows(con, "select outcome, count(*) from truth.carts group by 1"))
    assert outcomes.keys() >= {"purchased", "recovered", "abandoned", "emptied"}
    late = rows(
        con,
        """
        select c.last_add_at, c.ordered_at from truth.carts c where outcome = 'recovered'
        """,
    )
    assert all(ordered - last >= dt.timedelta(minutes=59) for last, ordered in late)
    assert (
        scalar(
            con,
            "select count(*) from truth.carts c where order_id is not null "
            "and not exists (select 1 from raw.orders o where o.order_id = c.order_id)",
        )
        == 0
    )


# --- the mess is really there ----------------------------------------------------------------------


def test_emails_are_written_messily(con):
    emails = [e for (e,) in rows(con, "select email from raw.customers union all select email from raw.orders") if e]
    assert sum(e != e.strip() for e in emails) > len(emails) * 0.05
    assert sum(e.strip() != e.strip().lower() for e in emails) > len(emails) * 0.1
    assert sum(e == e.strip().lower() for e in emails) > len(emails) * 0.4


def test_phones_are_written_in_national_and_international_forms(con):
    phones = [p.strip() for (p,) in rows(con, "select phone from raw.customers where country = 'GB'") if p]
    assert any(p.startswith("+44 ") for p in phones)
    assert any(p.startswith("+44 (0)") or p.startswith("0044") for p in phones)
    assert any(p.startswith("07") and " " in p for p in phones)
    assert any(p.isdigit() and p.startswith("07") for p in phones)
    us = [p for (p,) in rows(con, "select phone from raw.customers where country = 'US'") if p]
    assert any(p.startswith("(") for p in us)
    till = [p for (p,) in rows(con, "select phone from raw.pos_transactions where phone is not null")]
    assert sum(not p.startswith("+") for p in till) > len(till) / 2  # typed in the store's national format


def test_placeholders_are_shared_by_many_people(con):
    shared = rows(
        con,
        """
        select identifier_type, identifier_value, count(distinct person_id) from truth.identifiers
        where shared_kind = 'placeholder' group by 1, 2
        """,
    )
    assert {v for _, v, _ in shared} <= PLACEHOLDERS
    assert any(t == "email" and n >= 3 for t, _, n in shared)
    assert any(t == "phone" and n >= 3 for t, _, n in shared)
    raw_placeholders = scalar(
        con,
        "select count(*) from raw.pos_transactions where lower(trim(receipt_email)) in "
        "('test@test.com', 'none@none.com', 'noemail@example.com', 'unknown')",
    )
    assert raw_placeholders >= 3
    assert (
        scalar(con, "select count(*) from raw.orders where trim(phone) in ('0000000000', '1111111111', 'unknown')") >= 1
    )


def test_a_store_kiosk_is_identified_as_many_shoppers(con):
    kiosks = rows(
        con,
        """
        select identifier_value, count(distinct person_id) from truth.identifiers
        where shared_kind = 'kiosk' group by 1 order by 2 desc
        """,
    )
    assert kiosks and kiosks[0][1] >= 3
    users = scalar(
        con,
        "select count(distinct trim(user_id)) from raw.identifies where lower(trim(anonymous_id)) = ?",
        kiosks[0][0],
    )
    assert users >= 3


def test_households_share_a_phone_and_some_a_device(con):
    households = rows(
        con,
        """
        select identifier_value, count(distinct person_id) from truth.identifiers
        where shared_kind = 'household' group by 1
        """,
    )
    assert len(households) >= 5
    assert all(n == 2 for _, n in households)
    assert (
        scalar(
            con,
            "select count(*) from (select household_id from truth.persons where household_id is not null "
            "group by 1 having count(distinct last_name) > 1 or count(distinct phone) > 1)",
        )
        == 0
    )
    family = rows(
        con,
        "select identifier_value, count(distinct person_id) from truth.identifiers "
        "where shared_kind = 'family_device' group by 1",
    )
    assert family and all(n == 2 for _, n in family)


def test_accounts_changed_email_and_old_orders_carry_the_old_one(con):
    changed = rows(
        con,
        """
        select customer_id from raw.customers group by 1
        having count(distinct lower(trim(email))) > 1
        """,
    )
    assert len(changed) >= 5
    old_on_orders = scalar(
        con,
        """
        select count(*) from raw.orders o join truth.persons p on lower(trim(o.email)) = p.old_email
        where o.ordered_at < p.email_changed_at
        """,
    )
    assert old_on_orders >= 1
    assert (
        scalar(
            con,
            """
        select count(*) from raw.orders o join truth.persons p on lower(trim(o.email)) = p.old_email
        where o.ordered_at >= p.email_changed_at
        """,
        )
        == 0
    )


def test_rows_are_duplicated_exactly(con):
    for table, key in (
        ("events", "event_id"),
        ("orders", "order_id"),
        ("identifies", "message_id"),
        ("pos_transactions", "transaction_id"),
        ("message_events", "event_id"),
    ):
        duplicated = scalar(con, f"select count(*) - count(distinct {key}) from raw.{table}")
        assert duplicated > 0, table
        exact = scalar(con, f"select count(*) - count(distinct r) from raw.{table} r")
        assert exact == duplicated, table  # the same id twice is the same row twice
    assert scalar(con, "select count(*) - count(distinct c) from raw.customers c") > 0
    truth_dups = scalar(con, "select count(*) from truth.bad_rows where table_name = 'events' and kind = 'duplicate'")
    assert truth_dups == scalar(con, "select count(*) - count(distinct event_id) from raw.events")


def test_events_hold_rows_staging_must_quarantine(con):
    names = dict(rows(con, "select event, count(*) from raw.events group by 1"))
    spec = {
        "Product Viewed", "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Order Completed",
        "Product Added to Wishlist",
    }  # fmt: skip
    assert spec <= names.keys()
    unknown = sum(n for name, n in names.items() if name not in spec)
    assert 0 < unknown < 0.01 * sum(names.values())
    assert "" in names and "Prodcut Viewed" in names
    assert scalar(con, "select count(*) from raw.events where quantity < 0") > 0
    assert scalar(con, 'select count(*) from raw.events where "timestamp" is null') > 0
    assert scalar(con, 'select count(*) from raw.events where "timestamp" > ?', AS_OF + dt.timedelta(days=300)) > 0
    assert scalar(con, "select count(*) from raw.events where \"timestamp\" = '1970-01-01'") > 0
    kinds = dict(rows(con, "select kind, count(*) from truth.bad_rows where table_name = 'events' group by 1"))
    assert kinds.keys() >= {
        "unknown_event_name", "negative_quantity", "null_timestamp", "future_timestamp", "epoch_timestamp",
        "late_timestamp", "duplicate",
    }  # fmt: skip
    assert kinds["unknown_event_name"] == scalar(
        con, "select count(distinct event_id) from raw.events where coalesce(event, '') not in ?", list(spec)
    )


def test_timestamps_are_not_after_as_of_except_the_bad_ones(con):
    columns = rows(
        con,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'raw' and data_type = 'TIMESTAMP'",
    )
    assert len(columns) == sum(t == "TIMESTAMP" for cols in RAW_TABLES.values() for t in cols.values())
    for table, column in columns:
        late = scalar(con, f'select count(*) from raw."{table}" where "{column}" > ?', AS_OF)
        if table == "events":
            future = scalar(
                con, "select count(*) from truth.bad_rows where table_name = 'events' and kind = 'future_timestamp'"
            )
            assert late == scalar(
                con,
                """select count(*) from raw.events e join truth.bad_rows b
                   on b.row_id = e.event_id and b.kind = 'future_timestamp'""",
            )
            assert late >= future > 0
        else:
            assert late == 0, f"{table}.{column}"
    oldest = scalar(con, 'select min("timestamp") from raw.events where "timestamp" > \'1971-01-01\'')
    assert oldest >= AS_OF - dt.timedelta(days=740)


def test_activity_is_denser_in_recent_months(con):
    by_quarter = rows(
        con,
        """
        select floor(date_diff('day', "timestamp", ?::timestamp) / 91) as q, count(*) from raw.events
        where "timestamp" between ?::timestamp - interval 728 day and ? group by 1 order by 1
        """,
        AS_OF,
        AS_OF,
        AS_OF,
    )
    counts = [n for _, n in by_quarter]
    assert counts[0] > counts[3] > counts[7]


def test_stock_goes_out_and_comes_back_with_people_waiting(con):
    episodes = rows(con, "select product_id, location_id, out_at, back_in_at from truth.stock_episodes")
    assert any(back is None for *_, back in episodes)
    recently_back = [e for e in episodes if e[3] is not None and e[3] >= AS_OF - dt.timedelta(days=7)]
    assert recently_back
    for product, location, out, back in episodes:
        at_out = scalar(
            con,
            "select quantity_on_hand from raw.inventory where product_id = ? and location_id = ? and recorded_at = ?",
            product,
            location,
            out,
        )
        assert at_out == 0
        if back is not None:
            # The latest snapshot at or before the return shows stock again.
            assert (
                scalar(
                    con,
                    """select quantity_on_hand from raw.inventory where product_id = ? and location_id = ?
                   and recorded_at <= ? order by recorded_at desc limit 1""",
                    product,
                    location,
                    back,
                )
                > 0
            )
        inside = scalar(
            con,
            """select count(*) from raw.inventory where product_id = ? and location_id = ?
               and recorded_at > ? and recorded_at < coalesce(?, ?) and quantity_on_hand > 0""",
            product,
            location,
            out,
            back,
            AS_OF + dt.timedelta(days=1),
        )
        assert inside == 0
    out_again = scalar(
        con,
        """select count(*) from (select product_id from truth.stock_episodes where location_id = 'online'
           group by 1 having count(*) > 1)""",
    )
    assert out_again >= 1
    # Wishlists and removals before the stock-out are in the events.
    waiting = rows(
        con,
        """
        select i.kind, count(*) from truth.stock_interest i
        join truth.stock_episodes s on s.product_id = i.product_id and s.location_id = 'online'
        where i.kind in ('wishlisted', 'removed_from_cart') and i.occurred_at < s.out_at
        group by 1
        """,
    )
    assert dict(waiting).keys() == {"wishlisted", "removed_from_cart"}
    wished = scalar(
        con,
        """
        select count(*) from raw.events e join truth.stock_interest i on e.product_id = i.product_id
        where e.event = 'Product Added to Wishlist' and i.kind = 'wishlisted'
        """,
    )
    assert wished >= scalar(con, "select count(*) from truth.stock_interest where kind = 'wishlisted'")


def test_stores_span_time_zones_and_online_only_countries_have_none(con):
    zones = {z for (z,) in rows(con, "select distinct timezone from raw.stores")}
    assert {"Europe/London", "America/New_York", "America/Los_Angeles", "Australia/Sydney"} <= zones
    assert len(zones) >= 7
    assert scalar(con, "select count(*) from raw.stores where country in ('NL', 'ES')") == 0
    assert scalar(con, "select count(*) from raw.stores") >= 20


def test_loyalty_cards_are_linked_partly_and_tiers_are_messy(con):
    both = scalar(con, "select count(*) from truth.persons where loyalty_id is not null and customer_id is not null")
    linked = scalar(con, "select count(*) from raw.loyalty_members where customer_id is not null")
    assert 0.5 <= linked / both <= 0.7
    tiers = {t for (t,) in rows(con, "select distinct tier from raw.loyalty_members")}
    assert {"bronze", "silver", "gold"} <= tiers
    assert {t.strip().lower() for t in tiers} <= {"bronze", "silver", "gold", "platinum"}
    assert any(t != t.strip().lower() for t in tiers)


def test_consent_history_has_withdrawals_and_comebacks(con):
    statuses = Counter(rows(con, "select channel, status from raw.consents"))
    assert statuses[("email", "opted_in")] > statuses[("email", "opted_out")] > 0
    assert statuses[("sms", "opted_out")] > 0 and statuses[("push", "opted_in")] > 0
    sources = {s for (s,) in rows(con, "select distinct source from raw.consents")}
    assert {"web_signup", "checkout", "pos", "preference_center", "sms_keyword"} <= sources
    assert (
        scalar(
            con,
            """
        select count(*) from (select lower(trim(identifier_value)) v from raw.consents where channel = 'email'
        group by 1 having count(distinct status) = 2 and max(recorded_at) filter (status = 'opted_in')
            > max(recorded_at) filter (status = 'opted_out'))
        """,
        )
        > 0
    )
    events = {e for (e,) in rows(con, "select distinct event from raw.message_events")}
    assert {"sent", "delivered", "opened", "clicked", "unsubscribed", "bounced"} <= events
    journeys = {j for (j,) in rows(con, "select distinct journey from raw.message_events")}
    assert {"newsletter", "welcome_series", "cart_abandonment"} <= journeys
    assert (
        scalar(con, "select count(*) from raw.message_events where identifier_value <> lower(trim(identifier_value))")
        == 0
    )
    assert (
        scalar(
            con,
            "select count(*) from raw.message_events where channel = 'sms' and not starts_with(identifier_value, '+')",
        )
        == 0
    )
    # Truth follows the contract's rule: an unsubscribe withdraws; the latest decision holds.
    assert scalar(con, "select count(*) from truth.consent_state where decided_by = 'message_events'") > 0
    assert scalar(con, "select count(*) - count(distinct (channel, identifier_value)) from truth.consent_state") == 0


def test_nothing_is_sent_to_an_address_after_it_withdrew(con):
    sent_after = scalar(
        con,
        """
        with withdrawn as (
            select channel, identifier_value, min(occurred_at) as at from raw.message_events
            where event in ('unsubscribed', 'bounced', 'complained') group by 1, 2
        ),
        opted_back as (
            select w.channel, w.identifier_value from withdrawn w join raw.consents c
              on c.channel = w.channel and c.status = 'opted_in' and c.recorded_at > w.at
             and lower(trim(c.identifier_value)) = w.identifier_value
        )
        select count(*) from raw.message_events m join withdrawn w using (channel, identifier_value)
        where m.event = 'sent' and m.occurred_at > w.at
          and (m.channel, m.identifier_value) not in (select (channel, identifier_value) from opted_back)
        """,
    )
    assert sent_after == 0
