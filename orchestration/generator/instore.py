"""In-store sales: POS transactions and their lines, as a till export lands them.

Shoppers mostly buy at their home store, in opening hours of the store's own
time zone (converted to UTC with the zone's real offsets, summer time
included). A till knows a shopper only by what was offered at the counter:
the loyalty card (scanned four times out of five), an email for an e-receipt,
a phone number, or nothing at all; phones are typed in the store country's
national format, and clerks fill required fields with placeholders.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.catalog import Catalog
from orchestration.generator.geography import COUNTRY_CURRENCY, CURRENCIES, STORE_COUNTRY, STORES
from orchestration.generator.messiness import PhoneStyles, email_kinds, email_sql, email_styles
from orchestration.generator.people import People
from orchestration.generator.sampling import (
    DAY,
    EPOCH,
    MINUTE,
    SECOND,
    BlockSampler,
    Context,
    expand,
    labels,
    recent_times,
    take_strings,
    timestamps,
)
from orchestration.generator.truth import Observed, write_bad_rows
from orchestration.generator.writer import insert, insert_with_duplicates

EXTRA_VISITS = 1.9  # per store shopper beyond the first, times their in-store activity
HOME_STORE_SHARE = 0.8
CARD_SCANNED = 0.8
RECEIPT_EMAIL = 0.22
PHONE_GIVEN = 0.12
DUPLICATE_RATE = 0.002
NEGATIVE_LINE_RATE = 0.002


def utc_offsets(ctx: Context) -> np.ndarray:
    """(store, day) → UTC offset in µs at local noon, for every day of the history (and a margin)."""
    first_day = (ctx.start_us // DAY) - 2
    days = (ctx.as_of_us // DAY) - first_day + 3
    out = np.zeros((len(STORES), days), dtype=np.int64)
    for i, store in enumerate(STORES):  # 25 stores x ~740 days, not per row
        zone = ZoneInfo(store.timezone)
        for d in range(days):
            noon = EPOCH + dt.timedelta(days=int(first_day + d), hours=12)
            offset = noon.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()
            out[i, d] = offset // dt.timedelta(microseconds=1)
    return out


class Tills:
    """Per-run constants for the POS builder: time-zone offsets and store choice by country."""

    def __init__(self, ctx: Context):
        self.first_day = (ctx.start_us // DAY) - 2
        self.offsets = utc_offsets(ctx)
        countries = sorted(set(STORE_COUNTRY.tolist()))
        self.block_of = np.zeros(int(STORE_COUNTRY.max()) + 10, dtype=np.int64)
        self.block_of[countries] = np.arange(len(countries))
        self.order = np.concatenate([np.flatnonzero(c == STORE_COUNTRY) for c in countries])
        weights = np.array([s.weight for s in STORES])
        self.by_country = BlockSampler([weights[c == STORE_COUNTRY] for c in countries])
        self.styles = PhoneStyles()


def build_chunk(
    ctx: Context,
    con: duckdb.DuckDBPyConnection,
    people: People,
    catalog: Catalog,
    tills: Tills,
    seen: Observed,
    lo: int,
    hi: int,
    chunk: int,
) -> None:
    rng = ctx.streams.rng("instore.transactions", chunk)
    now = ctx.as_of_us
    shoppers = np.arange(lo, hi)
    shoppers = shoppers[people.store_shopper[shoppers]]
    visits = 1 + rng.poisson(EXTRA_VISITS * people.store_activity[shoppers])
    person = np.repeat(shoppers, visits)
    n = len(person)
    home = people.home_store[person]
    elsewhere = tills.order[tills.by_country.sample(rng, tills.block_of[STORE_COUNTRY[home]])]
    store = np.where(rng.random(n) < HOME_STORE_SHARE, home, elsewhere)

    # A local day, a local time in opening hours (busiest around lunch and after work), then UTC.
    instant = recent_times(rng, people.first_store_us[person], now, n, power=1.5)
    day = instant // DAY
    local_minutes = np.where(
        rng.random(n) < 0.5,
        rng.triangular(9 * 60, 12.5 * 60, 15 * 60, n),
        rng.triangular(12 * 60, 17.5 * 60, 20.5 * 60, n),
    )
    local = day * DAY + (local_minutes * MINUTE).astype(np.int64) + (rng.random(n) * 60 * SECOND).astype(np.int64)
    at = local - tills.offsets[store, day - tills.first_day]
    while (late := at > now).any():
        at[late] -= 7 * DAY
    at -= at % SECOND

    # Lines: what they picked up in the store.
    n_lines = rng.choice([1, 2, 3, 4], size=n, p=[0.45, 0.30, 0.15, 0.10])
    tx, line = expand(n_lines)
    product = catalog.sample(rng, people.favorite[person[tx]])
    qty = 1 + (rng.random(len(tx)) < 0.10) + (rng.random(len(tx)) < 0.02)
    currency = COUNTRY_CURRENCY[STORE_COUNTRY[store]]
    unit = catalog.price_cents[currency[tx], product]
    total = np.bincount(tx, weights=qty * unit, minlength=n).astype(np.int64)
    broken = rng.random(len(tx)) < NEGATIVE_LINE_RATE
    qty = np.where(broken, -qty, qty)

    # What the till learned about the shopper.
    rng_i = ctx.streams.rng("instore.identifiers", chunk)
    card = people.has_loyalty[person] & (people.enrolled_us[person] <= at) & (rng_i.random(n) < CARD_SCANNED)
    card_style = np.where(rng_i.random(n) < 0.01, 1, 0).astype(np.int8)
    wants_email = rng_i.random(n) < RECEIPT_EMAIL
    kinds = email_kinds(rng_i, at, people.email_changed_us[person], 0.12)
    kinds = np.where(wants_email, kinds, -1).astype(np.int8)
    wants_phone = rng_i.random(n) < PHONE_GIVEN
    phone = np.full(n, -1, dtype=np.int16)
    # The phone is typed in the store's country format: the person's own country here.
    phone[wants_phone] = tills.styles.sample(rng_i, people.country[person[wants_phone]], placeholder_rate=0.10)
    seen.emails(person[wants_email], kinds[wants_email])
    seen.phones(person, phone)

    tx_no = 1 + ctx.take_ids("pos", n)
    store_ids = pa.array([s_.store_id for s_ in STORES])
    table = pa.table(
        {
            "tx_no": tx_no,
            "store_id": store_ids.take(pa.array(store)),
            "person_id": person + 1,
            "loyalty": take_strings(people.loyalty_ids, person, card),
            "card_style": card_style,
            "email_kind": kinds,
            "email_style": email_styles(rng_i, n),
            "phone_style": phone,
            "total_amount": total / 100.0,
            "currency": labels(CURRENCIES, currency.astype(np.int64)),
            "transacted_at": timestamps(at),
        }
    )
    dup = np.flatnonzero(rng_i.random(n) < DUPLICATE_RATE)
    tx_id = "s.store_id || '-' || printf('%08d', tx_no)"
    insert_with_duplicates(
        con,
        "raw.pos_transactions",
        table,
        f"""
        select {tx_id} as transaction_id, s.store_id,
               case card_style when 1 then loyalty || ' ' else loyalty end as loyalty_id,
               {email_sql("email_kind", "email_style")} as receipt_email,
               render_phone(p.phone_nsn, phone_style) as phone,
               total_amount, currency, transacted_at
        from src s join persons p using (person_id)
        """,
        dup,
    )
    lines = pa.table(
        {
            "tx_no": tx_no[tx],
            "store_id": store_ids.take(pa.array(store[tx])),
            "line_number": (line + 1).astype(np.int32),
            "product_id": labels(catalog.product_ids, product),
            "quantity": qty.astype(np.int32),
            "unit_price": unit / 100.0,
        }
    )
    insert(
        con,
        "raw.pos_lines",
        lines,
        f"select {tx_id} as transaction_id, line_number, product_id, quantity, unit_price from src s",
    )
    insert(
        con,
        "truth.purchases",
        table,
        f"""
        select 'store' as channel, {tx_id} as purchase_id, person_id, 'completed' as status,
               total_amount, currency, transacted_at as purchased_at
        from src s
        """,
    )
    ids = pa.table({"tx_no": tx_no, "store_id": store_ids.take(pa.array(store))})
    for kind, rows in (("duplicate", dup), ("negative_quantity_line", np.unique(tx[broken]))):
        if len(rows):
            picked = ids.take(pa.array(rows))
            con.register("picked", picked)
            names = con.sql(f"select {tx_id} as id from picked s").to_arrow_table()["id"]
            con.unregister("picked")
            write_bad_rows(con, "pos_transactions", names, kind)
