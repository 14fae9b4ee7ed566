"""Profiles on a generated retailer, checked against the generator's truth.

The small retailer (tests/conftest.py: 400 people, seed 7) after one `segue
run`. A person is *cleanly resolved* when every unshared email, phone and id
of theirs that appears in raw maps to one customer_key and that key holds
nobody else's identifiers (a device never tied to an account is left out:
it only moves last_active_at). For those, identity did its part, and every
profile fact must match what the truth says happened; the share of clean
people is identity's business (tests/identity) and only floored here.
Scores are printed (pytest -s) so a regression shows its size.
"""

from __future__ import annotations

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from orchestration.generator.geography import COUNTRIES, STORES

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


@pytest.fixture(scope="module")
def con(built_retailer):
    warehouse, _outcome = built_retailer
    connection = duckdb.connect(str(warehouse), read_only=True)
    connection.execute(
        """
        create temp table person_keys as
        select t.person_id, ci.customer_key, t.identifier_type
        from truth.identifiers t
        join marts.customer_identifiers ci
          on ci.identifier_type = t.identifier_type and ci.identifier_value = t.identifier_value
        where t.shared_kind is null and t.appears_in_raw;

        create temp table clean as
        select person_id, min(customer_key) as customer_key
        from person_keys
        where identifier_type <> 'anonymous_id'
        group by person_id
        having count(distinct customer_key) = 1
           and min(customer_key) not in (
               select customer_key from person_keys group by customer_key having count(distinct person_id) > 1
           );
        """
    )
    yield connection
    connection.close()


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_most_people_resolve_cleanly(con):
    people = scalar(con, "select count(distinct person_id) from person_keys")
    clean = scalar(con, "select count(*) from clean")
    print(f"\ncleanly resolved people: {clean}/{people}")
    assert people > 300
    assert clean / people >= 0.8


def test_one_profile_per_customer_key(con):
    keys = scalar(con, "select count(distinct customer_key) from marts.customer_identifiers")
    profiles, distinct = con.execute(
        "select count(*), count(distinct customer_key) from marts.customer_profiles"
    ).fetchone()
    assert profiles == distinct == keys


def test_consent_state_equals_truth(con):
    """Every (channel, address) the truth decides has the same status, instant and deciding log."""
    missing, wrong = con.execute(
        """
        select count(*) filter (where m.channel is null),
               count(*) filter (where m.status <> t.status or m.status_changed_at <> t.decided_at
                                or m.decided_by <> t.decided_by)
        from truth.consent_state t
        left join profiles.int_consent__address_state m
          on m.channel = t.channel and m.identifier_type = t.identifier_type
         and m.identifier_value = t.identifier_value
        """
    ).fetchone()
    total = scalar(con, "select count(*) from truth.consent_state")
    print(f"\nconsent: {total} addresses, {missing} missing, {wrong} different")
    assert total > 100
    assert missing == 0 and wrong == 0
    # The only addresses the truth leaves out are placeholders.
    extra = con.execute(
        """
        select m.identifier_value from profiles.int_consent__address_state m
        anti join truth.consent_state t
          on m.channel = t.channel and m.identifier_type = t.identifier_type
         and m.identifier_value = t.identifier_value
        where m.identifier_value not in (
            select identifier_value from truth.identifiers where shared_kind = 'placeholder')
        """
    ).fetchall()
    assert extra == []


def test_profile_consent_is_the_chosen_address_state(con):
    wrong = scalar(
        con,
        """
        select count(*) from marts.customer_profiles p
        left join truth.consent_state e
          on e.channel = 'email' and e.identifier_type = 'email' and e.identifier_value = p.email
        left join truth.consent_state s
          on s.channel = 'sms' and s.identifier_type = 'phone' and s.identifier_value = p.phone
        where p.email_consent <> coalesce(e.status = 'opted_in', false)
           or p.sms_consent <> coalesce(s.status = 'opted_in', false)
        """,
    )
    assert wrong == 0
    # preferred_channel never names a channel without consent.
    assert (
        scalar(
            con,
            """select count(*) from marts.customer_profiles
               where (preferred_channel = 'email' and not email_consent)
                  or (preferred_channel = 'sms' and not sms_consent)
                  or (preferred_channel = 'none' and (email_consent or sms_consent))""",
        )
        == 0
    )


def test_every_purchase_is_kept_and_counted_by_status(con):
    missing, miscounted = con.execute(
        """
        select count(*) filter (where p.purchase_id is null),
               count(*) filter (where p.is_counted <> (t.status = 'completed'))
        from truth.purchases t
        left join profiles.int_profiles__purchases p
          on p.purchase_id = t.purchase_id and p.purchase_channel = t.channel
        """
    ).fetchone()
    assert missing == 0 and miscounted == 0


def test_purchases_are_attributed_to_the_right_person(con):
    resolved, right = con.execute(
        """
        select count(*), count(*) filter (where exists (
            select 1 from person_keys k where k.customer_key = p.customer_key and k.person_id = t.person_id))
        from truth.purchases t
        join profiles.int_profiles__purchases p
          on p.purchase_id = t.purchase_id and p.purchase_channel = t.channel
        where p.customer_key is not null
        """
    ).fetchone()
    print(f"\npurchase attribution precision: {right}/{resolved} = {right / resolved:.4f}")
    assert right / resolved >= 0.99


# A purchase can be attributed when its staged row carries an identifier:
# online orders an account id or a usable email/phone, in-store ones a card or
# a usable receipt email/phone. Cash sales with none belong to nobody.
IDENTIFIABLE = """
    select order_id as purchase_id, 'online' as channel from staging.stg_shop__orders
    where customer_id is not null or (email is not null and not is_placeholder_email)
       or (phone is not null and not is_placeholder_phone)
    union all
    select transaction_id, 'store' from staging.stg_pos__transactions
    where loyalty_id is not null or (email is not null and not is_placeholder_email)
       or (phone is not null and not is_placeholder_phone)
"""


def test_order_facts_of_cleanly_resolved_people_match_truth(con):
    rows = con.execute(
        f"""
        with identifiable as ({IDENTIFIABLE}),
        expected as (
            select c.customer_key, count(*) as orders, sum(t.total_amount) as revenue,
                   min(t.purchased_at) as first_at, max(t.purchased_at) as last_at
            from clean c
            join truth.purchases t on t.person_id = c.person_id and t.status = 'completed'
            join identifiable i on i.purchase_id = t.purchase_id and i.channel = t.channel
            group by c.customer_key
        )
        select count(*),
               count(*) filter (where p.orders_count = coalesce(e.orders, 0)
                                and abs(p.lifetime_revenue - coalesce(e.revenue, 0)) < 0.005
                                and p.first_order_at is not distinct from e.first_at
                                and p.last_order_at is not distinct from e.last_at)
        from clean c
        join marts.customer_profiles p on p.customer_key = c.customer_key
        left join expected e on e.customer_key = c.customer_key
        """
    ).fetchone()
    total, matching = rows
    print(f"\norder facts equal to truth: {matching}/{total}")
    assert matching / total >= 0.99


def test_zero_amount_orders_are_counted(con):
    zero = con.execute(
        """
        select p.customer_key from truth.purchases t
        join profiles.int_profiles__purchases p on p.purchase_id = t.purchase_id and p.purchase_channel = t.channel
        where t.total_amount = 0 and t.status = 'completed' and p.customer_key is not null
        """
    ).fetchall()
    assert zero, "the generator makes zero-amount completed orders; none were attributed"
    assert (
        scalar(
            con,
            """select count(*) from profiles.int_profiles__purchases
               where total_amount = 0 and status = 'completed' and not is_counted""",
        )
        == 0
    )


def test_contact_fields_of_cleanly_resolved_people(con):
    scores = con.execute(
        """
        select
          count(*) filter (where email_seen), count(*) filter (where email_seen and p.email = s.email),
          count(*) filter (where phone_seen), count(*) filter (where phone_seen and p.phone = s.phone),
          count(*) filter (where s.customer_id is not null),
          count(*) filter (where s.customer_id is not null and p.first_name = s.first_name
                                    and p.last_name = s.last_name and p.customer_id = s.customer_id),
          count(*) filter (where p.country is not null), count(*) filter (where p.country = s.country),
          count(*) filter (where s.loyalty_id is not null), count(*) filter (where p.loyalty_id = s.loyalty_id)
        from clean c
        join truth.persons s on s.person_id = c.person_id
        join marts.customer_profiles p on p.customer_key = c.customer_key
        cross join lateral (
            -- Only where identity resolved the person's current address to
            -- them: survivorship can only choose among those.
            select exists (select 1 from marts.customer_identifiers i where i.customer_key = c.customer_key
                           and i.identifier_type = 'email' and i.identifier_value = s.email) as email_seen,
                   exists (select 1 from marts.customer_identifiers i where i.customer_key = c.customer_key
                           and i.identifier_type = 'phone' and i.identifier_value = s.phone) as phone_seen
        )
        """
    ).fetchone()
    names = ["email", "phone", "account", "country", "loyalty_id"]
    for i, name in enumerate(names):
        total, right = scores[2 * i], scores[2 * i + 1]
        print(f"\n{name}: {right}/{total}")
        assert total > 20, name
        assert right / total >= 0.99, name


def test_store_points_show_on_the_online_profile(con):
    """A loyalty card linked to an account: one profile holds the account, the card, its tier and points."""
    linked, together = con.execute(
        """
        select count(*), count(*) filter (where p.loyalty_id = s.loyalty_id and p.points_balance = m.points_balance
                                          and p.loyalty_tier = m.tier)
        from truth.persons s
        join staging.stg_loyalty__members m on m.loyalty_id = s.loyalty_id
        join marts.customer_profiles p on p.customer_id = s.customer_id
        where s.is_loyalty_linked and s.customer_id is not null
        """
    ).fetchone()
    print(f"\nlinked cards on the account's profile: {together}/{linked}")
    assert linked > 20
    assert together / linked >= 0.99


def test_timezone_is_home_store_then_country_then_utc(con):
    store_zone = {s.store_id: s.timezone for s in STORES}
    with (SEEDS / "country_timezones.csv").open() as f:
        country_zone = {row["country"]: row["timezone"] for row in csv.DictReader(f)}
    rows = con.execute(
        "select home_store_id, country, timezone, timezone_source from marts.customer_profiles"
    ).fetchall()
    for home_store_id, country, timezone, source in rows:
        if home_store_id is not None:
            assert (timezone, source) == (store_zone[home_store_id], "home_store")
        elif country is not None:
            assert (timezone, source) == (country_zone[country], "country")
        else:
            assert (timezone, source) == ("UTC", "default")
    assert {r[3] for r in rows} >= {"home_store", "country"}


def test_country_timezones_seed_covers_every_country():
    with (SEEDS / "country_timezones.csv").open() as f:
        zones = {row["country"]: row["timezone"] for row in csv.DictReader(f)}
    with (SEEDS / "country_calling_codes.csv").open() as f:
        calling = {row["country"] for row in csv.DictReader(f)}
    assert set(COUNTRIES) <= set(zones)
    assert calling <= set(zones)
    assert {s.country for s in STORES} <= set(zones)
    for zone in zones.values():
        ZoneInfo(zone)  # raises for a name that is not an IANA zone
    # A store's zone is in its country (the primary zone may differ: Chicago, Melbourne).
    for store in STORES:
        assert store.timezone.split("/")[0] == zones[store.country].split("/")[0]


def test_rfm_and_scores(con):
    bad = scalar(
        con,
        """
        select count(*) from marts.customer_profiles
        where (orders_count = 0) <> (rfm_segment = 'no_orders')
           or (orders_count = 0) <> (recency_score is null)
           or (orders_count > 0 and abs(average_order_value * orders_count - lifetime_revenue) > 0.005)
           or orders_count <> online_orders_count + store_transactions_count
        """,
    )
    assert bad == 0
    # Recency reversed: the latest buyers score 5, the oldest 1.
    top, bottom = con.execute(
        """
        with bounds as (select max(last_order_at) as latest, min(last_order_at) as oldest from marts.customer_profiles)
        select max(recency_score) filter (where last_order_at = latest),
               min(recency_score) filter (where last_order_at = oldest)
        from marts.customer_profiles cross join bounds
        """
    ).fetchone()
    assert (top, bottom) == (5, 1)


def test_last_active_covers_purchases(con):
    assert (
        scalar(
            con,
            """select count(*) from marts.customer_profiles
               where last_order_at is not null and (last_active_at is null or last_active_at < last_order_at)""",
        )
        == 0
    )
