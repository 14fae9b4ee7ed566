"""The web shop's tables: Segment `events`, `orders` with `order_lines`, and the truth about carts.

Takes a chunk's clean clickstream (sessions.py) and writes it as the loaders
would land it: a tracking plan that sometimes sends wrong names, negative
quantities or broken clocks; app events queued offline that arrive with old
timestamps; loader retries that land rows twice; user ids with stray spaces,
device ids in upper case; checkout forms filled with any format or a
placeholder. Every deliberately broken row is listed in `truth.bad_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator import identifies
from orchestration.generator.catalog import Catalog
from orchestration.generator.geography import CURRENCIES
from orchestration.generator.messiness import EMAIL_PLACEHOLDER0, PhoneStyles, email_kinds, email_sql, email_styles
from orchestration.generator.people import People
from orchestration.generator.sampling import (
    DAY,
    HOUR,
    Context,
    labels,
    nullable,
    take_strings,
    timestamps,
    uuids,
)
from orchestration.generator.sessions import (
    ADD,
    EVENT_NAMES,
    ORDER,
    PURCHASE,
    RECOVER,
    REMOVE,
    Clickstream,
    build_sessions,
    play,
)
from orchestration.generator.truth import Observed, write_bad_rows
from orchestration.generator.writer import insert, insert_with_duplicates

# Names a broken tracking plan sends; staging quarantines them.
BAD_EVENT_NAMES = ("Prodcut Viewed", "page_view", "", "Product Viewd")

# Bad rows, as shares of events other than Order Completed (see README "The mess").
UNKNOWN_NAME_RATE = 0.0025
NULL_TIME_RATE = 0.0005
FUTURE_TIME_RATE = 0.0003
EPOCH_TIME_RATE = 0.0003
LATE_RATE = 0.002  # of app events: sent from an offline queue, hours after their neighbours
NEGATIVE_QUANTITY_RATE = 0.003  # of Product Added
DUPLICATE_RATE = 0.01  # loader retries: the same event_id twice
ORDER_DUPLICATE_RATE = 0.003
ZERO_AMOUNT_RATE = 0.004  # completed orders of free items (replacements, gift cards): legitimate, not bad rows
NEGATIVE_LINE_RATE = 0.002  # lines keyed with a negative quantity; the order total ignores the sign
ORDER_STATUS = ("completed", "cancelled", "refunded")
ORDER_STATUS_SHARES = (0.93, 0.04, 0.03)
CART_OUTCOMES = ("purchased", "recovered", "abandoned", "emptied")


@dataclass
class OnlineChunk:
    """What messaging needs from this chunk's online behaviour."""

    cart_person: np.ndarray
    cart_last_add: np.ndarray
    cart_abandoned: np.ndarray
    guest_order_person: np.ndarray
    guest_order_at: np.ndarray


@dataclass
class _Orders:
    session: np.ndarray  # the session of each order
    number: np.ndarray  # per session: order number, -1 without order
    total_cents: np.ndarray  # per session
    status: np.ndarray  # per order, index into ORDER_STATUS
    at: np.ndarray  # per order


def build_chunk(
    ctx: Context,
    con: duckdb.DuckDBPyConnection,
    people: People,
    catalog: Catalog,
    interest: dict[str, np.ndarray],
    seen: Observed,
    lo: int,
    hi: int,
    chunk: int,
) -> OnlineChunk:
    sessions = build_sessions(ctx, people, interest, lo, hi, chunk)
    clicks = play(ctx, people, catalog, sessions, chunk)
    orders = _orders(ctx, con, catalog, clicks, chunk)
    _events(ctx, con, people, catalog, clicks, orders, seen, chunk)
    guests = _order_rows(ctx, con, people, clicks, orders, seen, chunk)
    carts = _carts(ctx, con, people, clicks, orders)
    identifies.write(ctx, con, people, seen, clicks, chunk)
    return OnlineChunk(*carts, *guests)


def _order_ids(numbers: np.ndarray) -> pa.Array:
    return pa.array([f"ORD{n:07d}" for n in numbers.tolist()], type=pa.string())  # a few bad rows only


def _orders(ctx: Context, con, catalog: Catalog, c: Clickstream, chunk: int) -> _Orders:
    """Number the orders, write their lines, and work out totals (in cents, so they add up exactly)."""
    rng = ctx.streams.rng("online.orders", chunk)
    S = len(c.size)
    order_sess = np.flatnonzero(c.ordered)
    n = len(order_sess)
    number = np.full(S, -1, dtype=np.int64)
    number[order_sess] = 100_001 + ctx.take_ids("order", n)
    add_index = c.add_index()
    line_event = np.flatnonzero((c.code == ADD) & c.ordered[c.sess] & (add_index < (c.adds - c.removes)[c.sess]))
    line_sess = c.sess[line_event]
    qty = c.quantity[line_event]
    zero = np.zeros(S, dtype=bool)
    zero[order_sess] = rng.random(n) < ZERO_AMOUNT_RATE
    price = np.where(zero[line_sess], 0, c.price_cents[line_event])
    total = np.bincount(line_sess, weights=qty * price, minlength=S).astype(np.int64)
    broken = rng.random(len(line_event)) < NEGATIVE_LINE_RATE
    qty = np.where(broken, -qty, qty)
    status = rng.choice(len(ORDER_STATUS), size=n, p=ORDER_STATUS_SHARES)
    status[zero[order_sess]] = 0  # free items are completed orders (and count as orders: CONTRACT §3)
    lines = pa.table(
        {
            "order_no": number[line_sess],
            "line_number": (add_index[line_event] + 1).astype(np.int32),
            "product_id": labels(catalog.product_ids, c.product[line_event]),
            "quantity": qty.astype(np.int32),
            "unit_price": price / 100.0,
        }
    )
    insert(
        con,
        "raw.order_lines",
        lines,
        "select printf('ORD%07d', order_no) as order_id, line_number, product_id, quantity, unit_price from src",
    )
    write_bad_rows(con, "orders", _order_ids(np.unique(number[line_sess][broken])), "negative_quantity_line")
    return _Orders(order_sess, number, total, status, c.at[c.event_at(order_sess, ORDER, last=True)])


def _events(ctx, con, people: People, catalog: Catalog, c: Clickstream, orders: _Orders, seen: Observed, chunk):
    rng = ctx.streams.rng("online.bad_events", chunk)
    now = ctx.as_of_us
    s = c.sessions
    T = len(c.sess)
    at = c.at.copy()
    quantity = c.quantity.copy()
    name = c.code.astype(np.int64)
    is_order_event = c.code == ORDER
    is_app = s.is_app(people)
    # One draw decides which (if any) clock or name fault an event has; order events stay clean.
    v = rng.random(T)
    eligible = ~is_order_event
    cuts = np.cumsum([UNKNOWN_NAME_RATE, NULL_TIME_RATE, FUTURE_TIME_RATE, EPOCH_TIME_RATE, LATE_RATE])
    unknown = eligible & (v < cuts[0])
    null_time = eligible & (v >= cuts[0]) & (v < cuts[1])
    future = eligible & (v >= cuts[1]) & (v < cuts[2])
    epoch = eligible & (v >= cuts[2]) & (v < cuts[3])
    late = eligible & (v >= cuts[3]) & (v < cuts[4]) & is_app[c.sess]
    is_add = c.code == ADD
    negative = is_add & (rng.random(T) < NEGATIVE_QUANTITY_RATE)
    name[unknown] = len(EVENT_NAMES) + rng.integers(0, len(BAD_EVENT_NAMES), int(unknown.sum()))
    at[future] = now + (rng.uniform(400, 30 * 365, int(future.sum())) * DAY).astype(np.int64)
    at[epoch] = 0
    at[late] -= (rng.uniform(2, 72, int(late.sum())) * HOUR).astype(np.int64)
    quantity[negative] = -quantity[negative]

    event_ids = uuids(ctx.streams.rng("online.event_ids", chunk), T)
    ws = rng.random(T)
    has_product = c.product >= 0
    events = pa.table(
        {
            "event_id": event_ids,
            "anon": take_strings(people.anon_ids, s.device[c.sess]),
            "upper_anon": s.upper_case_id(people)[c.sess],
            "uid": take_strings(people.customer_ids, s.person[c.sess], s.logged_in[c.sess]),
            "uid_style": np.where(ws < 0.01, 1, np.where(ws < 0.02, 2, 0)).astype(np.int8),
            "event": labels((*EVENT_NAMES, *BAD_EVENT_NAMES), name),
            "product_id": labels(catalog.product_ids, c.product, has_product),
            "quantity": nullable(quantity.astype(np.int32), is_add | (c.code == REMOVE)),
            "price": nullable(c.price_cents / 100.0, has_product),
            "order_no": nullable(orders.number[c.sess], is_order_event),
            "revenue": nullable(orders.total_cents[c.sess] / 100.0, is_order_event),
            "source": labels(["web", "app"], is_app[c.sess].astype(np.int64)),
            "timestamp": timestamps(at, ~null_time),
        }
    )
    dup = np.flatnonzero(rng.random(T) < DUPLICATE_RATE)
    insert_with_duplicates(
        con,
        "raw.events",
        events,
        """
        select event_id,
               case when upper_anon then upper(anon) else anon end as anonymous_id,
               case uid_style when 1 then ' ' || uid when 2 then uid || ' ' else uid end as user_id,
               event, product_id, quantity, price,
               printf('ORD%07d', order_no) as order_id, revenue, source, "timestamp"
        from src
        """,
        dup,
    )
    kinds = ("unknown_event_name", "null_timestamp", "future_timestamp", "epoch_timestamp", "negative_quantity")
    bad_kind = np.select([unknown, null_time, future, epoch, negative, late], [*kinds, "late_timestamp"], "")
    bad = np.flatnonzero(bad_kind != "")
    write_bad_rows(con, "events", event_ids.take(pa.array(bad)), pa.array(bad_kind[bad]))
    write_bad_rows(con, "events", event_ids.take(pa.array(dup)), "duplicate")
    seen.device[s.device] = True
    on_family = (people.family_device[s.person] == s.device) & people.household_member[s.person]
    seen.family_device[s.person[on_family]] = True


def _order_rows(ctx, con, people: People, c: Clickstream, orders: _Orders, seen: Observed, chunk: int):
    """The `orders` table: the account if signed in, else a guest with whatever they typed."""
    rng = ctx.streams.rng("online.order_contacts", chunk)
    s = c.sessions
    sess = orders.session
    n = len(sess)
    person = s.person[sess]
    signed_in = s.logged_in[sess]
    country = people.country[person]
    kinds = email_kinds(rng, orders.at, people.email_changed_us[person], np.where(signed_in, 0.003, 0.03))
    styles = PhoneStyles()
    phone = np.full(n, -1, dtype=np.int16)
    with_phone = rng.random(n) < np.where(signed_in, 0.40, 0.30)
    account = with_phone & signed_in
    guest = with_phone & ~signed_in
    phone[account] = styles.sample(rng, country[account], placeholder_rate=0.04)
    # A guest order has no account country to read a national number in: guests' numbers carry a code.
    phone[guest] = styles.sample(rng, country[guest], international_only=True, placeholder_rate=0.06)
    seen.emails(person, kinds)
    seen.phones(person, phone)
    table = pa.table(
        {
            "order_no": orders.number[sess],
            "person_id": person + 1,
            "customer_id": take_strings(people.customer_ids, person, signed_in),
            "email_kind": kinds,
            "email_style": email_styles(rng, n),
            "phone_style": phone,
            "status": labels(ORDER_STATUS, orders.status),
            "total_amount": orders.total_cents[sess] / 100.0,
            "currency": labels(CURRENCIES, c.currency[sess].astype(np.int64)),
            "source": labels(["web", "app"], s.is_app(people)[sess].astype(np.int64)),
            "ordered_at": timestamps(orders.at),
        }
    )
    dup = np.flatnonzero(rng.random(n) < ORDER_DUPLICATE_RATE)
    insert_with_duplicates(
        con,
        "raw.orders",
        table,
        f"""
        select printf('ORD%07d', order_no) as order_id, s.customer_id,
               {email_sql("email_kind", "email_style")} as email,
               render_phone(p.phone_nsn, phone_style) as phone,
               status, total_amount, currency, source, ordered_at
        from src s join persons p using (person_id)
        """,
        dup,
    )
    write_bad_rows(con, "orders", _order_ids(orders.number[sess][dup]), "duplicate")
    insert(
        con,
        "truth.purchases",
        table,
        """
        select 'online' as channel, printf('ORD%07d', order_no) as purchase_id, person_id, status,
               total_amount, currency, ordered_at as purchased_at
        from src
        """,
    )
    guest_orders = ~signed_in & (kinds < EMAIL_PLACEHOLDER0)
    return person[guest_orders], orders.at[guest_orders]


def _carts(ctx, con, people: People, c: Clickstream, orders: _Orders):
    """truth.carts: every session with an add, and what became of it."""
    s = c.sessions
    sess = np.flatnonzero(c.adds > 0)
    items = (c.adds - c.removes)[sess]
    outcome = np.select([s.kind[sess] == PURCHASE, s.kind[sess] == RECOVER, items == 0], [0, 1, 3], 2)
    first_add = c.at[c.event_at(sess, ADD)]
    last_add = c.at[c.event_at(sess, ADD, last=True)]
    ordered = c.ordered[sess]
    carts = pa.table(
        {
            "cart_no": ctx.take_ids("cart", len(sess)) + 1,
            "person_id": s.person[sess] + 1,
            "anonymous_id": take_strings(people.anon_ids, s.device[sess]),
            "customer_id": take_strings(people.customer_ids, s.person[sess], s.logged_in[sess]),
            "first_add_at": timestamps(first_add),
            "last_add_at": timestamps(last_add),
            "items": items.astype(np.int32),
            "outcome": labels(CART_OUTCOMES, outcome),
            "order_no": nullable(orders.number[sess], ordered),
            "ordered_at": timestamps(np.where(ordered, c.at[c.event_at(sess, ORDER, last=True)], 0), ordered),
        }
    )
    insert(
        con,
        "truth.carts",
        carts,
        """
        select cart_no as cart_id, person_id, anonymous_id, customer_id, first_add_at, last_add_at, items,
               outcome, printf('ORD%07d', order_no) as order_id, ordered_at
        from src
        """,
    )
    return s.person[sess], last_add, outcome == CART_OUTCOMES.index("abandoned")
