"""Online accounts (`customers`) and loyalty cards (`loyalty_members`), as their systems export them.

Accounts come out of a CDC-style export: an account whose owner changed their
email has an older row version (same customer_id, earlier updated_at) with the
old address, and the loader sometimes lands a row twice. Loyalty cards link to
an account only when the member did so (about 60% of those who have both).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.messiness import (
    EMAIL_OLD,
    NEVER,
    PhoneStyles,
    email_kinds,
    email_sql,
    email_styles,
    text_styles,
)
from orchestration.generator.people import People
from orchestration.generator.sampling import Context, labels, take_strings, timestamps
from orchestration.generator.truth import Observed, write_bad_rows
from orchestration.generator.writer import insert, insert_with_duplicates

ACCOUNT_PHONE = 0.55
CUSTOMER_DUPLICATE_RATE = 0.01
CARD_EMAIL = 0.75
CARD_PHONE = 0.70
TIERS = ("bronze", "silver", "gold", "platinum")
TIER_POINTS = np.array([500, 1500, 4000])  # lower bounds of silver, gold, platinum


def build_chunk(
    ctx: Context, con: duckdb.DuckDBPyConnection, people: People, seen: Observed, lo: int, hi: int, chunk: int
) -> None:
    _customers(ctx, con, people, seen, lo, hi, chunk)
    _loyalty(ctx, con, people, seen, lo, hi, chunk)


def _customers(ctx, con, people: People, seen: Observed, lo: int, hi: int, chunk: int) -> None:
    rng = ctx.streams.rng("accounts.customers", chunk)
    now = ctx.as_of_us
    holders = np.arange(lo, hi)[people.has_account[lo:hi]]
    created = people.created_us[holders]
    changed_at = people.email_changed_us[holders]
    changed = changed_at != NEVER
    edited = created + (rng.random(len(holders)) * 0.5 * (now - created)).astype(np.int64)
    # Current versions, then the older version of every account whose email changed.
    person = np.concatenate([holders, holders[changed]])
    n = len(person)
    is_old = np.arange(n) >= len(holders)
    updated = np.concatenate([np.where(changed, changed_at, edited), created[changed]])
    kinds = email_kinds(rng, updated, people.email_changed_us[person], np.where(is_old, 0.0, 0.002))
    kinds[is_old & (kinds < 2)] = EMAIL_OLD
    phone = np.full(n, -1, dtype=np.int16)
    has_phone = rng.random(n) < ACCOUNT_PHONE
    phone[has_phone] = PhoneStyles().sample(rng, people.country[person[has_phone]], placeholder_rate=0.01)
    seen.emails(person, kinds)
    seen.phones(person, phone)
    table = pa.table(
        {
            "person_id": person + 1,
            "email_kind": kinds,
            "email_style": email_styles(rng, n),
            "phone_style": phone,
            "first_style": text_styles(rng, n),
            "last_style": text_styles(rng, n),
            "country_lower": rng.random(n) < 0.01,
            "created_at": timestamps(people.created_us[person]),
            "updated_at": timestamps(updated),
        }
    )
    dup = np.flatnonzero(rng.random(n) < CUSTOMER_DUPLICATE_RATE)
    insert_with_duplicates(
        con,
        "raw.customers",
        table,
        f"""
        select p.customer_id,
               {email_sql("email_kind", "email_style")} as email,
               render_phone(p.phone_nsn, phone_style) as phone,
               render_text(p.first_name, first_style) as first_name,
               render_text(p.last_name, last_style) as last_name,
               case when country_lower then lower(p.country) else p.country end as country,
               created_at, updated_at
        from src s join persons p using (person_id)
        """,
        dup,
    )
    write_bad_rows(con, "customers", take_strings(people.customer_ids, person[dup]), "duplicate")


def _loyalty(ctx, con, people: People, seen: Observed, lo: int, hi: int, chunk: int) -> None:
    rng = ctx.streams.rng("accounts.loyalty", chunk)
    now = ctx.as_of_us
    person = np.arange(lo, hi)[people.has_loyalty[lo:hi]]
    n = len(person)
    enrolled = people.enrolled_us[person]
    updated = enrolled + (rng.random(n) * (now - enrolled)).astype(np.int64)
    with_email = rng.random(n) < CARD_EMAIL
    kinds = email_kinds(rng, enrolled, people.email_changed_us[person], 0.01)
    kinds = np.where(with_email, kinds, -1).astype(np.int8)
    phone = np.full(n, -1, dtype=np.int16)
    has_phone = rng.random(n) < CARD_PHONE
    # Home store country = the person's country, so a national number is readable here.
    phone[has_phone] = PhoneStyles().sample(rng, people.country[person[has_phone]], placeholder_rate=0.015)
    seen.emails(person[with_email], kinds[with_email])
    seen.phones(person, phone)
    points = np.round(people.store_activity[person] * rng.lognormal(np.log(400), 0.8, n)).astype(np.int64)
    tier = np.searchsorted(TIER_POINTS, points, side="right")
    tier_style = np.where(rng.random(n) < 0.06, rng.choice([1, 3, 5], size=n), 0).astype(np.int8)
    ws = rng.random(n) < 0.01
    table = pa.table(
        {
            "person_id": person + 1,
            "customer": take_strings(people.customer_ids, person, people.loyalty_linked[person]),
            "customer_space": ws,
            "email_kind": kinds,
            "email_style": email_styles(rng, n),
            "phone_style": phone,
            "tier": labels(TIERS, tier),
            "tier_style": tier_style,
            "points_balance": points.astype(np.int32),
            "enrolled_at": timestamps(enrolled),
            "updated_at": timestamps(updated),
        }
    )
    insert(
        con,
        "raw.loyalty_members",
        table,
        f"""
        select p.loyalty_id,
               case when customer_space then ' ' || customer else customer end as customer_id,
               {email_sql("email_kind", "email_style")} as email,
               render_phone(p.phone_nsn, phone_style) as phone,
               render_text(tier, tier_style) as tier,
               points_balance, p.home_store_id, enrolled_at, updated_at
        from src s join persons p using (person_id)
        """,
    )
