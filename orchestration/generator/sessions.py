"""Visits to the web shop and app: who, on which device, when, and what they did, as clean events.

A *session* is one visit on one device. Its shape (views, wishlist, adds, a
removal, cart, checkout, order) is drawn as counts per session, then expanded
into events with np.repeat: an event's type is found by comparing its position
in the session with the running totals of those counts. Adds and removals
point back at viewed products, so a cart only holds things its owner looked
at, and an order's lines are exactly its session's remaining adds.

Session kinds: browse (some view one product twice, some wishlist), abandoned
cart, recovered cart (the order comes hours or days after the adds, in the
same session record) and straight purchase. Kiosk sessions put many signed-in
shoppers on one store device; interest sessions wishlist or add-then-remove a
product shortly before it sells out, or look at it while it is out.

Everything here is clean: the mess is added when the rows are written (online.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from orchestration.generator.catalog import Catalog
from orchestration.generator.geography import COUNTRY_CURRENCY
from orchestration.generator.people import People
from orchestration.generator.sampling import DAY, HOUR, MINUTE, SECOND, Context, expand, recent_times

EVENT_NAMES = (
    "Product Viewed",
    "Product Added to Wishlist",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
)
VIEW, WISH, ADD, REMOVE, CART, CHECKOUT, ORDER = range(7)

BROWSE, ABANDON, RECOVER, PURCHASE = range(4)
SESSION_MIX = np.array([0.62, 0.16, 0.06, 0.16])
EXTRA_SESSIONS = 5.9  # per online person beyond the first, times the person's activity (~28 events a person)
LOGGED_IN = 0.70  # share of an account holder's sessions that are signed in
LOGGED_IN_BUYING = 0.85
INTEREST_PER_EPISODE = 0.0015  # people per customer who wanted each product that sold out online


@dataclass
class Sessions:
    person: np.ndarray
    device: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    logged_in: np.ndarray
    kiosk: np.ndarray
    forced_product: np.ndarray  # -1, or the product the session is about (stock interest)
    interest: np.ndarray  # -1 none, 0 wishlist, 1 add-then-remove, 2 view while out of stock

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Sessions)))

    def is_app(self, people: People) -> np.ndarray:
        """Sent by the app (else the website; kiosks run the website)."""
        return ~self.kiosk & people.device_is_app[np.minimum(self.device, len(people.device_is_app) - 1)]

    def upper_case_id(self, people: People) -> np.ndarray:
        """Devices whose SDK reports the anonymous id in upper case."""
        return ~self.kiosk & people.device_upper[np.minimum(self.device, len(people.device_upper) - 1)]


@dataclass
class Clickstream:
    """The clean events of a chunk's sessions, and the per-session counts they were expanded from."""

    sessions: Sessions
    bounds: np.ndarray  # (7, sessions): end position of views, wishlist, adds, removal, cart, checkout, order
    size: np.ndarray  # events per session
    first: np.ndarray  # index of each session's first event
    sess: np.ndarray  # per event: its session
    pos: np.ndarray  # per event: position in its session
    code: np.ndarray  # per event: index into EVENT_NAMES
    product: np.ndarray  # per event: product index, -1 for none
    quantity: np.ndarray
    price_cents: np.ndarray  # in the session's currency
    currency: np.ndarray  # per session
    at: np.ndarray  # per event, µs

    @property
    def adds(self) -> np.ndarray:
        return self.bounds[2] - self.bounds[1]

    @property
    def removes(self) -> np.ndarray:
        return self.bounds[3] - self.bounds[2]

    @property
    def ordered(self) -> np.ndarray:
        return self.bounds[6] > self.bounds[5]

    def add_index(self) -> np.ndarray:
        """Per event: its position among its session's adds (meaningful for adds only)."""
        return self.pos - self.bounds[1][self.sess]

    def event_at(self, sessions: np.ndarray, part: int, last: bool = False) -> np.ndarray:
        """Index of the first (or last) event of a part (0 views ... 6 order) of the given sessions."""
        if last:
            return self.first[sessions] + self.bounds[part][sessions] - 1
        return self.first[sessions] + (self.bounds[part - 1][sessions] if part > 0 else 0)


def build_interest(ctx: Context, people: People, catalog: Catalog) -> dict[str, np.ndarray]:
    """People who wanted a product shortly before it sold out online, or looked while it was out.

    These are the back-in-stock journey's entrants: their wishlist adds and cart
    removals happen before the stock-out; some views happen during it.
    """
    rng = ctx.streams.rng("online.stock_interest")
    ep = catalog.episodes
    first = {}
    for i in np.flatnonzero(ep["location"] == 0):  # the first online episode of each product
        first.setdefault(int(ep["product"][i]), i)
    online = np.flatnonzero(people.device_count > 0)
    k = max(4, round(ctx.customers * INTEREST_PER_EPISODE))
    parts: dict[str, list[np.ndarray]] = {"person": [], "product": [], "kind": [], "at_us": []}
    for product, i in sorted(first.items()):  # one per sold-out product: a few hundred at most
        out, back = ep["out_us"][i], ep["back_us"][i]
        eligible = online[people.first_seen_us[online] < out - DAY]
        if len(eligible) == 0:
            continue
        who = rng.choice(eligible, size=min(k, len(eligible)), replace=False)
        kind = rng.choice(3, size=len(who), p=[0.45, 0.35, 0.20])
        lo = np.maximum(people.first_seen_us[who], out - 20 * DAY)
        before = lo + (rng.random(len(who)) * (out - HOUR - lo)).astype(np.int64)
        end = back if back > 0 else ctx.as_of_us
        during = out + (rng.random(len(who)) * (end - out - HOUR)).astype(np.int64)
        parts["person"].append(who)
        parts["product"].append(np.full(len(who), product))
        parts["kind"].append(kind)
        parts["at_us"].append(np.where(kind == 2, during, before))
    if not parts["person"]:
        return {key: np.zeros(0, np.int64) for key in parts}
    return {key: np.concatenate(v).astype(np.int64) for key, v in parts.items()}


def build_sessions(
    ctx: Context, people: People, interest: dict[str, np.ndarray], lo: int, hi: int, chunk: int
) -> Sessions:
    """Everyone's visits in the chunk: ordinary ones, kiosk sign-ins, and stock-interest visits."""
    rng = ctx.streams.rng("online.sessions", chunk)
    now = ctx.as_of_us
    persons = np.arange(lo, hi)
    persons = persons[people.online[persons]]
    count = 1 + rng.poisson(EXTRA_SESSIONS * people.activity[persons])
    person = np.repeat(persons, count)
    n = len(person)
    own = people.device_count[person]
    device = people.device_start[person] + (rng.random(n) * np.maximum(own, 1)).astype(np.int64)
    family = people.family_device[person]
    on_family = (family >= 0) & ((own == 0) | (rng.random(n) < 0.3))
    device = np.where(on_family, family, device)
    kind = rng.choice(4, size=n, p=SESSION_MIX)
    start = recent_times(rng, people.first_seen_us[person], now, n, power=1.5)
    buying = (kind == RECOVER) | (kind == PURCHASE)
    logged_in = people.has_account[person] & (rng.random(n) < np.where(buying, LOGGED_IN_BUYING, LOGGED_IN))
    regular = Sessions(person, device, kind, start, logged_in, np.zeros(n, bool), np.full(n, -1), np.full(n, -1))

    users = np.arange(lo, hi)[people.kiosk_user[lo:hi]]
    count = 1 + rng.binomial(2, 0.3, len(users))
    person = np.repeat(users, count)
    n = len(person)
    kiosk = Sessions(
        person,
        people.kiosk_device[people.home_store[person]],
        np.where(rng.random(n) < 0.75, BROWSE, ABANDON),
        recent_times(rng, people.first_seen_us[person], now, n, power=1.5),
        np.ones(n, bool),
        np.ones(n, bool),
        np.full(n, -1),
        np.full(n, -1),
    )

    mine = (interest["person"] >= lo) & (interest["person"] < hi)
    person = interest["person"][mine]
    n = len(person)
    own_first = np.where(people.device_count[person] > 0, people.device_start[person], people.family_device[person])
    wanted = Sessions(
        person,
        own_first,
        np.where(interest["kind"][mine] == 1, ABANDON, BROWSE),
        interest["at_us"][mine],
        people.has_account[person] & (rng.random(n) < LOGGED_IN),
        np.zeros(n, bool),
        interest["product"][mine],
        interest["kind"][mine],
    )
    return Sessions.concat([regular, kiosk, wanted])


def play(ctx: Context, people: People, catalog: Catalog, s: Sessions, chunk: int) -> Clickstream:
    """Expand sessions into clean, timed events (sessions that would end after as_of start earlier)."""
    rng = ctx.streams.rng("online.events", chunk)
    now = ctx.as_of_us
    S = len(s.person)
    kind = s.kind

    # The shape of each session.
    u = rng.random((8, S))
    views = 1 + np.minimum(rng.poisson(np.where(kind == BROWSE, 2.3, 1.8)), 14)
    carting = kind != BROWSE
    adds = np.where(carting, 1 + rng.binomial(np.minimum(views, 4) - 1, 0.35), 0)
    wish = ((kind == BROWSE) & (u[0] < 0.07)) | (s.interest == 0)
    remove = carting & (adds >= 2) & (u[1] < 0.15)
    removes_all = s.interest == 1  # one add, then removed: the product they will miss
    adds = np.where(removes_all, 1, adds)
    remove = remove | removes_all
    cart = np.where(kind == ABANDON, u[2] < 0.5, np.where(kind == PURCHASE, u[2] < 0.8, kind == RECOVER))
    checkout = np.where(kind == ABANDON, u[3] < 0.3, (kind == RECOVER) | (kind == PURCHASE))
    order = (kind == RECOVER) | (kind == PURCHASE)
    repeat_view = (kind == BROWSE) & (views >= 2) & (u[4] < 0.25)
    bounds = np.cumsum(np.stack([views, wish, adds, remove, cart, checkout, order]).astype(np.int64), axis=0)
    size = bounds[-1]

    # Events: the type from the position, products from the views they point back at.
    sess, pos = expand(size)
    T = len(sess)
    first = np.cumsum(size) - size
    code = np.zeros(T, dtype=np.int8)
    for b in bounds[:-1]:
        code += (pos >= b[sess]).astype(np.int8)
    currency = COUNTRY_CURRENCY[people.country[s.person]]
    is_view = code == VIEW
    product = np.full(T, -1, dtype=np.int64)
    product[is_view] = catalog.sample(rng, people.favorite[s.person[sess[is_view]]])
    forced = s.forced_product >= 0
    product[first[forced]] = s.forced_product[forced]
    product[first[repeat_view] + 1] = product[first[repeat_view]]
    add_index = pos - bounds[1][sess]  # j for the j-th add, which is the j-th viewed product
    points_to = np.select(
        [code == WISH, code == ADD, code == REMOVE], [np.zeros(T, np.int64), add_index, adds[sess] - 1], -1
    )
    other = points_to >= 0
    product[other] = product[first[sess[other]] + points_to[other]]
    quantity = np.zeros(T, dtype=np.int64)
    is_add = code == ADD
    quantity[is_add] = 1 + (rng.random(int(is_add.sum())) < 0.12) + (rng.random(int(is_add.sum())) < 0.03)
    is_remove = code == REMOVE
    removed = sess[is_remove]
    quantity[is_remove] = quantity[first[removed] + bounds[1][removed] + adds[removed] - 1]
    price = np.where(product >= 0, catalog.price_cents[currency[sess], np.maximum(product, 0)], 0)

    # Time: seconds between clicks; a recovered cart comes back hours or days after its adds.
    gap = (rng.exponential(35, T) * SECOND + 2 * SECOND).astype(np.int64)
    gap[pos == 0] = 0
    comeback = (kind[sess] == RECOVER) & (pos == bounds[3][sess])  # first event after the adds
    k = int(comeback.sum())
    hours = np.where(rng.random(k) < 0.5, rng.uniform(1, 12, k), rng.uniform(24, 120, k))
    gap[comeback] = (hours * HOUR).astype(np.int64)
    offset = np.cumsum(gap)
    offset -= offset[first[sess]]
    duration = offset[first + size - 1]
    s.start = np.minimum(s.start, now - duration - (rng.random(S) * MINUTE).astype(np.int64) - SECOND)
    at = s.start[sess] + offset
    at -= at % 1000  # Segment sends milliseconds
    return Clickstream(s, bounds, size, first, sess, pos, code, product, quantity, price, currency, at)
