"""The truth schema: who is who, what really happened, and which rows were broken on purpose.

Models never read `truth`; tests do, to score staging (bad_rows), identity
resolution (persons, identifiers) and journeys (carts, stock_episodes,
stock_interest, consent_state, purchases). Identifier values are normalized
exactly as CONTRACT §2 says staging must: emails trimmed and lower-cased,
phones in E.164, anonymous ids lower-case.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.catalog import LOCATIONS, Catalog
from orchestration.generator.geography import EMAIL_PLACEHOLDERS, PHONE_PLACEHOLDERS
from orchestration.generator.messiness import EMAIL_CURRENT, EMAIL_OLD, EMAIL_PLACEHOLDER0, PHONE_PLACEHOLDER0
from orchestration.generator.people import People
from orchestration.generator.sampling import labels, timestamps
from orchestration.generator.writer import insert


class Observed:
    """Which of a person's identifiers some raw row actually shows (truth.identifiers.appears_in_raw).

    A person's true phone may never be typed anywhere; identity resolution
    cannot be blamed for missing it, so tests need to know.
    """

    def __init__(self, people: People):
        self.email = np.zeros(people.n, dtype=bool)
        self.old_email = np.zeros(people.n, dtype=bool)
        self.phone = np.zeros(people.n, dtype=bool)
        self.device = np.zeros(len(people.anon_ids), dtype=bool)
        self.family_device = np.zeros(people.n, dtype=bool)  # a household member used the shared device
        self.placeholders: list[tuple[np.ndarray, str, np.ndarray]] = []  # (person, type, value index)

    def emails(self, person: np.ndarray, kind: np.ndarray) -> None:
        self.email[person[kind == EMAIL_CURRENT]] = True
        self.old_email[person[kind == EMAIL_OLD]] = True
        ph = kind >= EMAIL_PLACEHOLDER0
        if ph.any():
            self.placeholders.append((person[ph], "email", kind[ph] - EMAIL_PLACEHOLDER0))

    def phones(self, person: np.ndarray, style: np.ndarray) -> None:
        self.phone[person[(style >= 0) & (style < PHONE_PLACEHOLDER0)]] = True
        ph = style >= PHONE_PLACEHOLDER0
        if ph.any():
            self.placeholders.append((person[ph], "phone", style[ph] - PHONE_PLACEHOLDER0))


def write_bad_rows(con: duckdb.DuckDBPyConnection, table: str, row_ids: pa.Array, kinds: pa.Array | str) -> None:
    if len(row_ids) == 0:
        return
    kinds = pa.array([kinds] * len(row_ids)) if isinstance(kinds, str) else kinds
    insert(
        con,
        "truth.bad_rows",
        pa.table({"row_id": row_ids, "kind": kinds}),
        f"select '{table}' as table_name, row_id, kind from src",
    )


def write_stock_truth(con: duckdb.DuckDBPyConnection, catalog: Catalog, interest: dict[str, np.ndarray]) -> None:
    ep = catalog.episodes
    insert(
        con,
        "truth.stock_episodes",
        pa.table(
            {
                "product_id": catalog.product_ids.take(pa.array(ep["product"])),
                "location_id": labels(LOCATIONS, ep["location"]),
                "out_at": timestamps(ep["out_us"]),
                "back_in_at": timestamps(ep["back_us"], ep["back_us"] > 0),
            }
        ),
        "select * from src",
    )
    insert(
        con,
        "truth.stock_interest",
        pa.table(
            {
                "person_id": interest["person"] + 1,
                "product_id": catalog.product_ids.take(pa.array(interest["product"])),
                "kind": pa.array(["wishlisted", "removed_from_cart", "viewed_while_out"]).take(
                    pa.array(interest["kind"])
                ),
                "occurred_at": timestamps(interest["at_us"]),
            }
        ),
        "select * from src",
    )


def write_persons_and_identifiers(con: duckdb.DuckDBPyConnection, people: People, seen: Observed) -> None:
    con.execute(
        """
        insert into truth.persons by name
        select person_id, first_name, last_name, country, email, old_email, email_changed_at, phone,
               customer_id, loyalty_id, is_loyalty_linked, household_id, home_store_id, first_seen_at,
               account_created_at, loyalty_enrolled_at, favorite_category
        from persons
        """
    )
    person = np.arange(1, people.n + 1, dtype=np.int64)
    con.register(
        "seen",
        pa.table(
            {
                "person_id": person,
                "email": seen.email,
                "old_email": seen.old_email,
                "phone": seen.phone,
                "family_device": seen.family_device,
            }
        ),
    )
    # Own devices, and the device a household member shares with the first person of the household.
    device_rows = pa.table(
        {
            "person_id": people.device_person + 1,
            "anonymous_id": people.anon_ids.slice(0, len(people.device_person)),
            "seen": seen.device[: len(people.device_person)],
        }
    )
    con.register("devices", device_rows)
    member = np.flatnonzero(people.family_device >= 0)
    family = pa.table(
        {
            "owner": people.device_person[people.family_device[member]] + 1,
            "member": member + 1,
            "anonymous_id": people.anon_ids.take(pa.array(people.family_device[member])),
            "seen": seen.family_device[member],
        }
    )
    con.register("family", family)
    users = np.flatnonzero(people.kiosk_user)
    kiosk = pa.table(
        {
            "person_id": users + 1,
            "anonymous_id": people.anon_ids.take(pa.array(people.kiosk_device[people.home_store[users]])),
        }
    )
    con.register("kiosk", kiosk)
    if seen.placeholders:
        ph_person = np.concatenate([p for p, _, _ in seen.placeholders]) + 1
        ph_type = np.concatenate([np.full(len(p), t) for p, t, _ in seen.placeholders])
        ph_value = np.concatenate(
            [np.array(EMAIL_PLACEHOLDERS if t == "email" else PHONE_PLACEHOLDERS)[v] for _, t, v in seen.placeholders]
        )
    else:
        ph_person, ph_type, ph_value = np.zeros(0, np.int64), np.zeros(0, str), np.zeros(0, str)
    con.register(
        "placeholders",
        pa.table({"person_id": ph_person, "identifier_type": ph_type, "identifier_value": ph_value}),
    )
    con.execute(
        """
        insert into truth.identifiers by name
        with households as (
            select phone from persons where household_id is not null group by phone having count(*) > 1
        ),
        shared_devices as (
            select anonymous_id from family
        )
        select 'email' as identifier_type, p.email as identifier_value, p.person_id,
               null as shared_kind, s.email as appears_in_raw
        from persons p join seen s using (person_id)
        union all
        select 'email', p.old_email, p.person_id, null, s.old_email
        from persons p join seen s using (person_id) where p.old_email is not null
        union all
        select 'phone', p.phone, p.person_id,
               case when h.phone is not null then 'household' end, s.phone
        from persons p join seen s using (person_id) left join households h on h.phone = p.phone
        union all
        select 'customer_id', customer_id, person_id, null, true from persons where customer_id is not null
        union all
        select 'loyalty_id', loyalty_id, person_id, null, true from persons where loyalty_id is not null
        union all
        select 'anonymous_id', d.anonymous_id, d.person_id,
               case when f.anonymous_id is not null then 'family_device' end, d.seen
        from devices d left join shared_devices f on f.anonymous_id = d.anonymous_id
        union all
        select 'anonymous_id', anonymous_id, member, 'family_device', seen from family
        union all
        select 'anonymous_id', anonymous_id, person_id, 'kiosk', true from kiosk
        union all
        select distinct identifier_type, identifier_value, person_id, 'placeholder', true from placeholders
        """
    )
    for name in ("seen", "devices", "family", "kiosk", "placeholders"):
        con.unregister(name)


def write_consent_state(con: duckdb.DuckDBPyConnection) -> None:
    """Per address and channel, the latest opt-in, opt-out, unsubscribe, bounce or complaint wins."""
    con.execute(
        f"""
        insert into truth.consent_state by name
        select channel, identifier_type, identifier_value, status, recorded_at as decided_at, decided_by
        from consent_log
        where identifier_value not in ({", ".join(f"'{v}'" for v in (*EMAIL_PLACEHOLDERS, *PHONE_PLACEHOLDERS))})
        qualify row_number() over (
            partition by channel, identifier_value order by recorded_at desc, decided_by desc
        ) = 1
        """
    )


def write_generation(
    con: duckdb.DuckDBPyConnection,
    customers: int,
    seed: int,
    as_of: dt.datetime,
    version: str,
    chunk: int,
    products: int,
) -> None:
    con.execute(
        "insert into truth.generation values (?, ?, ?, ?, ?, ?)", [customers, seed, as_of, version, chunk, products]
    )
