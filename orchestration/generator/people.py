"""The people behind the data: who they are, where they live, and which touchpoints they have.

A *person* is the unit of truth. Each has one true email and one true phone
(households share a phone), and may have an online account, a loyalty card,
devices, a home store. The raw tables only ever show these through accounts,
cards, devices and typed-in addresses; `truth.persons` and `truth.identifiers`
keep the answer.

Persons are built for the whole population at once (a million rows of numbers
is small); emails are assembled and made unique in SQL, in the temp table
`persons` that every later insert joins to render addresses and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator.catalog import CATEGORIES, CATEGORY_SHARES
from orchestration.generator.geography import (
    CALLING_CODES,
    COUNTRIES,
    COUNTRY_SHARES,
    EMAIL_DOMAINS,
    HAS_STORES,
    MOBILE_PREFIXES,
    NSN_LENGTH,
    OLD_EMAIL_DOMAINS,
    STORE_COUNTRY,
    STORES,
)
from orchestration.generator.messiness import NEVER
from orchestration.generator.names import name_pools
from orchestration.generator.sampling import (
    DAY,
    HOUR,
    BlockSampler,
    Context,
    labels,
    recent_times,
    timestamps,
    uuids,
)

ACCOUNT_SHARE = 0.70  # have an online account
LOYALTY_SHARE = 0.45  # carry a loyalty card (only where there are stores)
LOYALTY_LINK_SHARE = 0.60  # of card holders with an account, linked the two
BROWSER_SHARE = 0.65  # of people without an account, still browse the web shop or app
STORE_SHOPPER_SHARE = 0.45  # of people near a store without a card, still shop there
HOUSEHOLD_SHARE = 0.04  # live in a two-person household sharing one phone number
FAMILY_DEVICE_SHARE = 0.35  # of households, share a tablet or laptop too
EMAIL_CHANGE_SHARE = 0.08  # of accounts, changed their email address
KIOSK_USER_SHARE = 0.08  # of account holders whose home store has a kiosk, signed in on it
APP_DEVICE_SHARE = 0.40  # of devices are the app (the rest a browser)
UPPER_CASE_APP_SHARE = 0.45  # of app devices report their id in upper case (iOS-style identifiers)

# Email local parts: first.last, firstlast, f.last, first_last, first.last12, firstlast1987,
# first123, last.first, flast12.
LOCAL_STYLE_WEIGHTS = np.array([35, 12, 8, 6, 15, 10, 6, 4, 4], dtype=np.float64)


@dataclass
class People:
    n: int
    country: np.ndarray  # int8 index into COUNTRIES
    first_name: np.ndarray  # index into the first-name pool
    last_name: np.ndarray
    household: np.ndarray  # person_id of the household's first person, -1 when none
    household_member: np.ndarray  # bool: the second person of a household (shares the first one's phone)
    phone_nsn: np.ndarray  # int64 national significant number of the true mobile
    first_seen_us: np.ndarray
    has_account: np.ndarray
    created_us: np.ndarray  # account creation (first_seen), -1 without account
    email_changed_us: np.ndarray  # NEVER when the address never changed
    has_loyalty: np.ndarray
    loyalty_linked: np.ndarray
    enrolled_us: np.ndarray
    home_store: np.ndarray  # index into STORES, -1 for online-only countries
    store_shopper: np.ndarray
    first_store_us: np.ndarray
    activity: np.ndarray  # online intensity, mean 1, heavy tail
    store_activity: np.ndarray
    favorite: np.ndarray  # int8 index into CATEGORIES
    device_start: np.ndarray  # first device index of the person
    device_count: np.ndarray
    family_device: np.ndarray  # device a household member shares with the first person, -1
    kiosk_user: np.ndarray
    device_person: np.ndarray
    device_is_app: np.ndarray
    device_upper: np.ndarray
    kiosk_device: np.ndarray  # per store, device index of its kiosk (-1 where none)
    anon_ids: pa.StringArray  # devices then kiosks, lower case
    customer_ids: pa.Array  # per person, null without account
    loyalty_ids: pa.Array  # per person, null without card

    @property
    def online(self) -> np.ndarray:
        return (self.device_count > 0) | (self.family_device >= 0)


def format_ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """'C0001234'-style ids with Arrow compute: zero-padded, never truncated."""
    mask = None if valid is None else ~valid
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64(), mask=mask), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _draw_phones(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """A valid mobile NSN for each row's country (see geography.MOBILE_PREFIXES)."""
    nsn = np.zeros(len(country), dtype=np.int64)
    for c, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        if len(rows) == 0:
            continue
        prefixes = MOBILE_PREFIXES[c]
        pick = rng.integers(0, len(prefixes), len(rows))
        if code == "US":
            area = np.array([int(p) for p in prefixes])[pick]
            exchange = rng.integers(200, 1000, len(rows))
            exchange[exchange == 555] = 556
            nsn[rows] = area * 10**7 + exchange * 10**4 + rng.integers(0, 10**4, len(rows))
            continue
        value = np.array([int(p) for p in prefixes], dtype=np.int64)[pick]
        rest = NSN_LENGTH[c] - np.array([len(p) for p in prefixes])[pick]
        nsn[rows] = value * 10**rest + (rng.random(len(rows)) * 10.0**rest).astype(np.int64)
    return nsn


def _unique_phones(rng: np.random.Generator, nsn: np.ndarray, country: np.ndarray, owners: np.ndarray) -> None:
    """Redraw numbers until no two owners share one (households are added after)."""
    for _ in range(50):
        values = nsn[owners]
        order = np.argsort(values, kind="stable")
        dup = np.zeros(len(order), dtype=bool)
        dup[1:] = values[order][1:] == values[order][:-1]
        again = owners[order[dup]]
        if len(again) == 0:
            return
        nsn[again] = _draw_phones(rng, country[again])
    raise RuntimeError("could not draw unique phone numbers")


def build_people(ctx: Context) -> People:
    n = ctx.customers
    s = ctx.streams
    start, now = ctx.start_us, ctx.as_of_us
    person = np.arange(n, dtype=np.int64)

    rng = s.rng("people.country")
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARES / COUNTRY_SHARES.sum()).astype(np.int8)

    first_pool, last_pool = name_pools()
    rng = s.rng("people.names")
    first_name = first_pool.sample(rng, country)
    last_name = last_pool.sample(rng, country)

    # Households: pairs of people in the same country; the second takes the first's surname and phone.
    rng = s.rng("people.households")
    household = np.full(n, -1, dtype=np.int64)
    member = np.zeros(n, dtype=bool)
    candidate = rng.random(n) < HOUSEHOLD_SHARE
    heads, members = [], []
    for c in range(len(COUNTRIES)):
        rows = rng.permutation(np.flatnonzero(candidate & (country == c)))
        pairs = rows[: len(rows) // 2 * 2].reshape(-1, 2)
        heads.append(pairs[:, 0])
        members.append(pairs[:, 1])
    head, mem = np.concatenate(heads), np.concatenate(members)
    household[head] = head + 1
    household[mem] = head + 1
    member[mem] = True
    last_name[mem] = last_name[head]

    rng = s.rng("people.phones")
    phone_nsn = _draw_phones(rng, country)
    _unique_phones(rng, phone_nsn, country, np.flatnonzero(~member))
    phone_nsn[mem] = phone_nsn[head]

    rng = s.rng("people.lifecycle")
    first_seen = recent_times(rng, start, now - HOUR, n, power=1.8)
    has_account = rng.random(n) < ACCOUNT_SHARE
    created = np.where(has_account, first_seen, -1)
    change_u = rng.random(n)
    changes = has_account & (rng.random(n) < EMAIL_CHANGE_SHARE) & (now - created > 30 * DAY)
    changed_at = created + ((0.2 + 0.75 * change_u) * (now - created)).astype(np.int64)
    email_changed = np.where(changes, changed_at, NEVER)

    near_store = HAS_STORES[country]
    has_loyalty = near_store & (rng.random(n) < LOYALTY_SHARE / COUNTRY_SHARES[HAS_STORES].sum())
    store_shopper = has_loyalty | (near_store & (rng.random(n) < STORE_SHOPPER_SHARE))
    first_store = np.where(store_shopper, recent_times(rng, start, now - DAY, n, power=1.6), -1)
    enrolled = np.minimum(first_store + (rng.exponential(20, n) * DAY).astype(np.int64), now - HOUR)
    enrolled = np.where(has_loyalty, enrolled, -1)
    loyalty_linked = has_loyalty & has_account & (rng.random(n) < LOYALTY_LINK_SHARE)

    rng = s.rng("people.home_store")
    store_countries = [c for c in range(len(COUNTRIES)) if HAS_STORES[c]]
    block_of = np.full(len(COUNTRIES), 0)
    block_of[store_countries] = np.arange(len(store_countries))
    store_order = np.concatenate([np.flatnonzero(c == STORE_COUNTRY) for c in store_countries])
    sampler = BlockSampler([np.array([s_.weight for s_ in STORES])[c == STORE_COUNTRY] for c in store_countries])
    home_store = np.where(near_store, store_order[sampler.sample(rng, block_of[country])], -1)
    home_store[mem] = home_store[head]

    rng = s.rng("people.taste")
    sigma = 0.9
    activity = np.clip(rng.lognormal(-(sigma**2) / 2, sigma, n), 0.05, 40)
    store_activity = np.clip(rng.lognormal(-(sigma**2) / 2, sigma, n), 0.05, 25)
    shares = CATEGORY_SHARES / CATEGORY_SHARES.sum()
    favorite = rng.choice(len(CATEGORIES), size=n, p=shares).astype(np.int8)

    rng = s.rng("people.devices")
    browses = has_account | (rng.random(n) < BROWSER_SHARE)
    u = rng.random(n)
    device_count = np.where(browses, 1 + (u > 0.5) + (u > 0.85), 0).astype(np.int64)
    device_start = np.cumsum(device_count) - device_count
    n_devices = int(device_count.sum())
    device_person = np.repeat(person, device_count)
    device_is_app = rng.random(n_devices) < APP_DEVICE_SHARE
    device_upper = device_is_app & (rng.random(n_devices) < UPPER_CASE_APP_SHARE)
    family_device = np.full(n, -1, dtype=np.int64)
    shares_device = (rng.random(len(head)) < FAMILY_DEVICE_SHARE) & (device_count[head] > 0)
    family_device[mem[shares_device]] = device_start[head[shares_device]]
    kiosk_stores = np.flatnonzero([st.has_kiosk for st in STORES])
    kiosk_device = np.full(len(STORES), -1, dtype=np.int64)
    kiosk_device[kiosk_stores] = n_devices + np.arange(len(kiosk_stores))
    has_kiosk_home = np.isin(home_store, kiosk_stores)
    kiosk_user = has_account & has_kiosk_home & (rng.random(n) < KIOSK_USER_SHARE)
    anon_ids = uuids(s.rng("people.anonymous_ids"), n_devices + len(kiosk_stores))

    # Ids are handed out in the order accounts were opened and cards enrolled, as a shop would.
    customer_no = np.zeros(n, dtype=np.int64)
    holders = np.flatnonzero(has_account)
    customer_no[holders[np.argsort(created[holders], kind="stable")]] = np.arange(1, len(holders) + 1) + 1000
    loyalty_no = np.zeros(n, dtype=np.int64)
    members_ = np.flatnonzero(has_loyalty)
    loyalty_no[members_[np.argsort(enrolled[members_], kind="stable")]] = np.arange(1, len(members_) + 1) + 100

    return People(
        n=n,
        country=country,
        first_name=first_name,
        last_name=last_name,
        household=household,
        household_member=member,
        phone_nsn=phone_nsn,
        first_seen_us=first_seen,
        has_account=has_account,
        created_us=created,
        email_changed_us=email_changed,
        has_loyalty=has_loyalty,
        loyalty_linked=loyalty_linked,
        enrolled_us=enrolled,
        home_store=home_store,
        store_shopper=store_shopper,
        first_store_us=first_store,
        activity=activity,
        store_activity=store_activity,
        favorite=favorite,
        device_start=device_start,
        device_count=device_count,
        family_device=family_device,
        kiosk_user=kiosk_user,
        device_person=device_person,
        device_is_app=device_is_app,
        device_upper=device_upper,
        kiosk_device=kiosk_device,
        anon_ids=anon_ids,
        customer_ids=format_ids("C", customer_no, 7, has_account),
        loyalty_ids=format_ids("L", loyalty_no, 6, has_loyalty),
    )


def _local_part_sql(style: str, num: str) -> str:
    return (
        f"case {style} when 0 then f || '.' || l when 1 then f || l when 2 then f[1] || '.' || l "
        f"when 3 then f || '_' || l when 4 then f || '.' || l || {num} when 5 then f || l || {num} "
        f"when 6 then f || {num} when 7 then l || '.' || f when 8 then f[1] || l || {num} end"
    )


def _local_parts(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    style = rng.choice(len(LOCAL_STYLE_WEIGHTS), size=n, p=LOCAL_STYLE_WEIGHTS / LOCAL_STYLE_WEIGHTS.sum())
    num = np.where(style == 5, rng.integers(1960, 2006, n), np.where(style == 6, rng.integers(1, 1000, n), 0))
    num = np.where((style == 4) | (style == 8), rng.integers(1, 100, n), num)
    return style.astype(np.int8), num


def _domains(rng: np.random.Generator, country: np.ndarray, table: dict | None) -> pa.Array:
    if table is None:
        names = list(OLD_EMAIL_DOMAINS)
        w = np.array(list(OLD_EMAIL_DOMAINS.values()), dtype=np.float64)
        return pa.array(names).take(pa.array(rng.choice(len(names), size=len(country), p=w / w.sum())))
    names, blocks = [], []
    for code in COUNTRIES:
        names.extend(table[code])
        blocks.append(np.array(list(table[code].values()), dtype=np.float64))
    return pa.array(names).take(pa.array(BlockSampler(blocks).sample(rng, country)))


def load_persons(ctx: Context, con: duckdb.DuckDBPyConnection, people: People) -> None:
    """Create the temp table `persons`: true names, unique emails, phones, ids, one row per person."""
    rng = ctx.streams.rng("people.emails")
    n = people.n
    first_pool, last_pool = name_pools()
    style, num = _local_parts(rng, n)
    old_style, old_num = _local_parts(rng, n)
    changed = people.email_changed_us != NEVER
    stores = pa.array([st.store_id for st in STORES])
    src = pa.table(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "country": labels(COUNTRIES, people.country),
            "calling_code": labels(CALLING_CODES, people.country),
            "first_name": first_pool.names.take(pa.array(people.first_name)),
            "last_name": last_pool.names.take(pa.array(people.last_name)),
            "style": style,
            "num": num,
            "domain": _domains(rng, people.country, EMAIL_DOMAINS),
            "has_old": changed,
            "old_style": old_style,
            "old_num": old_num,
            "old_domain": _domains(rng, people.country, None),
            "email_changed_at": timestamps(people.email_changed_us, changed),
            "phone_nsn": pc.cast(pa.array(people.phone_nsn), pa.string()),
            "customer_id": people.customer_ids,
            "loyalty_id": people.loyalty_ids,
            "is_loyalty_linked": people.loyalty_linked,
            "household_id": pa.array(people.household, mask=people.household < 0),
            "home_store_id": stores.take(pa.array(np.maximum(people.home_store, 0), mask=people.home_store < 0)),
            "first_seen_at": timestamps(people.first_seen_us),
            "account_created_at": timestamps(people.created_us, people.has_account),
            "loyalty_enrolled_at": timestamps(people.enrolled_us, people.has_loyalty),
            "favorite_category": labels([c.name for c in CATEGORIES], people.favorite),
        }
    )
    clean = "coalesce(nullif(regexp_replace(lower(strip_accents({})), '[^a-z]', '', 'g'), ''), 'x')"
    con.register("src", src)
    con.execute(
        f"""
        create or replace temp table persons as
        with parts as (
            select *, {clean.format("first_name")} as f, {clean.format("last_name")} as l from src
        )
        select
            person_id, country, calling_code, first_name, last_name,
            {_local_part_sql("style", "num::varchar")} || '@' || domain as email,
            case when has_old then {_local_part_sql("old_style", "old_num::varchar")} || '@' || old_domain end
                as old_email,
            email_changed_at,
            phone_nsn,
            '+' || calling_code || phone_nsn as phone,
            customer_id, loyalty_id, is_loyalty_linked, household_id, home_store_id,
            first_seen_at, account_created_at, loyalty_enrolled_at, favorite_category
        from parts
        """
    )
    con.unregister("src")
    _make_emails_unique(con)


def _make_emails_unique(con: duckdb.DuckDBPyConnection) -> None:
    """Two people never share an address (old or current): append digits, as a mail provider makes you."""
    for attempt in range(20):
        dups = con.sql(
            """
            with addresses as (
                select person_id, email as e, 0 as k from persons
                union all
                select person_id, old_email, 1 from persons where old_email is not null
            )
            select person_id, k from (
                select person_id, k, row_number() over (partition by e order by k, person_id) as rn
                from addresses
            ) where rn > 1
            """
        ).to_arrow_table()
        if dups.num_rows == 0:
            return
        suffix = f"((person_id * 7919 + {attempt * 104729}) % 900 + 100)::varchar"
        if attempt >= 3:
            suffix = "person_id::varchar"
        con.register("dups", dups)
        for column, k in (("email", 0), ("old_email", 1)):
            con.execute(
                f"""
                update persons set {column} =
                    split_part({column}, '@', 1) || {suffix} || '@' || split_part({column}, '@', 2)
                where person_id in (select person_id from dups where k = {k})
                """
            )
        con.unregister("dups")
    raise RuntimeError("could not make emails unique")
