"""Segment identify calls: a device seen as an account, an address, or both.

These are what tie a person's devices to their account and addresses, so
their timing matters: one at the first signed-in session of each (device,
person), one on a share of later sessions, one at every kiosk sign-in, one at
guest checkout (with the email typed there), and one when someone without an
account signs up for the newsletter.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.messiness import PhoneStyles, email_kinds, email_sql, email_styles
from orchestration.generator.people import People
from orchestration.generator.sampling import SECOND, Context, group_rank, take_strings, timestamps, uuids
from orchestration.generator.sessions import CHECKOUT, Clickstream
from orchestration.generator.truth import Observed, write_bad_rows
from orchestration.generator.writer import insert_with_duplicates

REPEAT_SHARE = 0.12  # of later signed-in sessions that send another identify
NEWSLETTER_SHARE = 0.12  # of people without an account who leave their email
DUPLICATE_RATE = 0.01


def write(ctx: Context, con: duckdb.DuckDBPyConnection, people: People, seen: Observed, c: Clickstream, chunk: int):
    rng = ctx.streams.rng("online.identifies", chunk)
    s = c.sessions
    S = len(s.person)
    # First signed-in session per (device, person).
    signed = np.flatnonzero(s.logged_in)
    by_key = signed[np.lexsort((s.start[signed], s.person[signed], s.device[signed]))]
    new_key = np.ones(len(by_key), dtype=bool)
    new_key[1:] = (s.device[by_key][1:] != s.device[by_key][:-1]) | (s.person[by_key][1:] != s.person[by_key][:-1])
    pick = np.zeros(S, dtype=bool)
    pick[by_key[new_key]] = True
    pick |= s.logged_in & (rng.random(S) < REPEAT_SHARE)
    pick |= s.kiosk
    a = np.flatnonzero(pick)
    # Guest checkouts: sent with the Checkout Started event.
    b = np.flatnonzero(c.ordered & ~s.logged_in)
    b_at = c.at[c.event_at(b, CHECKOUT)]
    # Newsletter sign-up by someone without an account, at their first session in this chunk.
    no_account = np.flatnonzero(~people.has_account[s.person] & ~s.kiosk)
    by_person = no_account[np.lexsort((s.start[no_account], s.person[no_account]))]
    firsts = by_person[group_rank(s.person[by_person]) == 0]
    newsletter = firsts[rng.random(len(firsts)) < NEWSLETTER_SHARE]

    sess = np.concatenate([a, b, newsletter])
    when = np.concatenate([s.start[a] + (rng.random(len(a)) * 5 * SECOND).astype(np.int64), b_at, s.start[newsletter]])
    when -= when % 1000
    n = len(sess)
    person = s.person[sess]
    signed_in = np.arange(n) < len(a)
    with_email = np.where(signed_in, rng.random(n) < np.where(s.kiosk[sess], 0.5, 0.45), True)
    kinds = email_kinds(rng, when, people.email_changed_us[person], np.where(signed_in, 0.003, 0.02))
    kinds = np.where(with_email, kinds, -1).astype(np.int8)
    styles = PhoneStyles()
    phone = np.full(n, -1, dtype=np.int16)
    wants_phone = rng.random(n) < np.where(signed_in, 0.08, np.where(np.arange(n) < len(a) + len(b), 0.2, 0.0))
    known_country = wants_phone & signed_in
    anonymous = wants_phone & ~signed_in
    phone[known_country] = styles.sample(rng, people.country[person[known_country]], placeholder_rate=0.02)
    phone[anonymous] = styles.sample(rng, people.country[person[anonymous]], international_only=True)
    ws = rng.random(n)
    seen.emails(person, kinds)
    seen.phones(person, phone)
    message_ids = uuids(ctx.streams.rng("online.identify_ids", chunk), n)
    table = pa.table(
        {
            "message_id": message_ids,
            "person_id": person + 1,
            "anon": take_strings(people.anon_ids, s.device[sess]),
            "upper_anon": s.upper_case_id(people)[sess],
            "uid": take_strings(people.customer_ids, person, s.logged_in[sess]),
            "uid_style": np.where(ws < 0.01, 1, np.where(ws < 0.02, 2, 0)).astype(np.int8),
            "email_kind": kinds,
            "email_style": email_styles(rng, n),
            "phone_style": phone,
            "timestamp": timestamps(when),
        }
    )
    dup = np.flatnonzero(rng.random(n) < DUPLICATE_RATE)
    insert_with_duplicates(
        con,
        "raw.identifies",
        table,
        f"""
        select message_id,
               case when upper_anon then upper(anon) else anon end as anonymous_id,
               case uid_style when 1 then ' ' || uid when 2 then uid || ' ' else uid end as user_id,
               {email_sql("email_kind", "email_style")} as email,
               render_phone(p.phone_nsn, phone_style) as phone,
               "timestamp"
        from src s join persons p using (person_id)
        """,
        dup,
    )
    write_bad_rows(con, "identifies", message_ids.take(pa.array(dup)), "duplicate")
