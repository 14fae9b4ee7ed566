"""Consent and messaging history: the `consents` event log and what ESP/SMS tools reported back.

Each person gets a consent timeline per channel: a first opt-in (at sign-up,
checkout or the till), for some a withdrawal later, for a few a re-opt-in after
that. Messages (newsletters, a welcome series, cart-abandonment emails, SMS
promotions) are only sent inside the opted-in stretches, to the address the
person had at the time. Some messages end in an unsubscribe, a hard bounce or a
complaint: nothing more is sent to that address, and a few people opt back in
later through the preference centre. `truth.consent_state` is computed from
exactly these rows with the rule of CONTRACT §2 (the latest of opt-ins,
opt-outs and withdrawing message events wins, per address and channel).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.messiness import (
    EMAIL_CURRENT,
    NEVER,
    PhoneStyles,
    e164_styles,
    email_kinds,
    email_sql,
    email_styles,
    email_truth_sql,
)
from orchestration.generator.online import OnlineChunk
from orchestration.generator.people import People
from orchestration.generator.sampling import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Context,
    labels,
    recent_times,
    timestamps,
    uuids,
)
from orchestration.generator.truth import Observed, write_bad_rows
from orchestration.generator.writer import insert, insert_with_duplicates

EMAIL, SMS, PUSH = 0, 1, 2
CHANNELS = ("email", "sms", "push")
SOURCES = ("web_signup", "checkout", "pos", "preference_center", "sms_keyword", "app_settings")
WEB_SIGNUP, CHECKOUT, POS, PREFERENCE_CENTER, SMS_KEYWORD, APP_SETTINGS = range(6)
JOURNEYS = ("newsletter", "welcome_series", "cart_abandonment", "sms_promo")
NEWSLETTER, WELCOME, CART_ABANDONMENT, SMS_PROMO = range(4)
MESSAGE_EVENTS = ("sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "complained", "failed")

FOREVER = np.iinfo(np.int64).max
MESSAGE_WINDOW_DAYS = 150  # how far back the ESP export goes
NEWSLETTER_EVERY_DAYS = 28
SMS_EVERY_DAYS = 30
CONSENT_DUPLICATE_RATE = 0.005
MESSAGE_DUPLICATE_RATE = 0.003


class _Rows:
    """Column lists that grow by blocks, then become arrays (one consent or message per row)."""

    def __init__(self, *names: str):
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def add(self, **columns) -> None:
        n = next(len(v) for v in columns.values() if np.ndim(v) > 0)
        for name in self.parts:
            value = columns[name]
            self.parts[name].append(np.broadcast_to(value, n) if np.ndim(value) == 0 else np.asarray(value))

    def arrays(self) -> dict[str, np.ndarray]:
        return {n: (np.concatenate(v) if v else np.zeros(0, np.int64)) for n, v in self.parts.items()}


def _timeline(rng, persons: np.ndarray, t_in: np.ndarray, now: int, withdraw: float, reoptin: float):
    """Withdrawal and re-opt-in times after a first opt-in (FOREVER where none)."""
    n = len(persons)
    has = t_in < FOREVER
    span = np.where(has, now - t_in, 0)
    out = np.where(has & (rng.random(n) < withdraw), t_in + (rng.uniform(0.1, 0.9, n) * span).astype(np.int64), FOREVER)
    back = np.where(
        (out < FOREVER) & (rng.random(n) < reoptin),
        out + (rng.uniform(0.2, 0.9, n) * np.where(out < FOREVER, now - out, 0)).astype(np.int64),
        FOREVER,
    )
    return out, back


def _active(t, t_in, t_out, t_back):
    return (t >= t_in) & ~((t >= t_out) & (t < t_back))


def build_chunk(
    ctx: Context,
    con: duckdb.DuckDBPyConnection,
    people: People,
    online: OnlineChunk,
    seen: Observed,
    lo: int,
    hi: int,
    chunk: int,
) -> None:
    rng = ctx.streams.rng("messaging.consents", chunk)
    now = ctx.as_of_us
    persons = np.arange(lo, hi)
    n = len(persons)
    consents = _Rows("person", "channel", "kind", "phone_style", "status", "source", "at")

    # --- email: sign-up, checkout and till opt-ins; the earliest starts the timeline -------------
    signup = np.where(
        people.has_account[persons] & (rng.random(n) < 0.55), people.created_us[persons] + SECOND * 30, FOREVER
    )
    first_guest = np.full(n, FOREVER)
    np.minimum.at(first_guest, online.guest_order_person - lo, online.guest_order_at)
    checkout = np.where((first_guest < FOREVER) & (rng.random(n) < 0.3), first_guest + SECOND * 5, FOREVER)
    till = np.where(people.has_loyalty[persons] & (rng.random(n) < 0.35), people.enrolled_us[persons], FOREVER)
    candidates = np.stack([signup, checkout, till])
    t_in = candidates.min(axis=0)
    t_out, t_back = _timeline(rng, persons, t_in, now, withdraw=0.15, reoptin=0.25)
    changed = people.email_changed_us[persons]
    for source, when in ((WEB_SIGNUP, signup), (CHECKOUT, checkout), (POS, till)):
        keep = (when < FOREVER) & (when < t_out)  # later opt-ins after a withdrawal are not modelled
        ph_rate = 0.01 if source == POS else 0.0
        consents.add(
            person=persons[keep], channel=EMAIL, kind=email_kinds(rng, when[keep], changed[keep], ph_rate),
            phone_style=-1, status=1, source=source, at=when[keep],
        )  # fmt: skip
    for when, status in ((t_out, 0), (t_back, 1)):
        keep = when < FOREVER
        consents.add(
            person=persons[keep], channel=EMAIL, kind=email_kinds(rng, when[keep], changed[keep], 0.0),
            phone_style=-1, status=status, source=PREFERENCE_CENTER, at=when[keep],
        )  # fmt: skip
    # A new address inherits the subscription when it is active at the change.
    moved = (changed != NEVER) & _active(changed, t_in, t_out, t_back)
    consents.add(
        person=persons[moved], channel=EMAIL, kind=EMAIL_CURRENT, phone_style=-1, status=1,
        source=PREFERENCE_CENTER, at=changed[moved],
    )  # fmt: skip

    # --- sms: fewer opt in (keyword, checkout, till); STOP withdraws ------------------------------
    sms_in = np.where(
        rng.random(n) < 0.18, recent_times(rng, people.first_seen_us[persons], now - HOUR, n, power=1.3), FOREVER
    )
    sms_out, sms_back = _timeline(rng, persons, sms_in, now, withdraw=0.2, reoptin=0.1)
    sms_source = np.where(
        people.store_shopper[persons],
        rng.choice([SMS_KEYWORD, CHECKOUT, POS], size=n, p=[0.4, 0.3, 0.3]),
        rng.choice([SMS_KEYWORD, CHECKOUT], size=n, p=[0.5, 0.5]),
    )
    styles = PhoneStyles()
    country = people.country[persons]
    for when, status, source in ((sms_in, 1, sms_source), (sms_out, 0, SMS_KEYWORD), (sms_back, 1, SMS_KEYWORD)):
        keep = when < FOREVER
        # Consent rows have no country context: numbers are written with their country code.
        consents.add(
            person=persons[keep], channel=SMS, kind=-1,
            phone_style=e164_styles(rng, styles, country[keep], e164_share=0.6), status=status,
            source=source if np.ndim(source) == 0 else source[keep], at=when[keep],
        )  # fmt: skip

    # --- push: app users with an account -----------------------------------------------------------
    app_user = np.bincount(people.device_person[people.device_is_app], minlength=people.n)[persons] > 0
    push = people.has_account[persons] & app_user & (rng.random(n) < 0.3)
    push_at = recent_times(rng, people.created_us[persons], now - HOUR, n, power=1.2)
    consents.add(
        person=persons[push], channel=PUSH, kind=email_kinds(rng, push_at[push], changed[push], 0.0),
        phone_style=-1, status=1, source=APP_SETTINGS, at=push_at[push],
    )  # fmt: skip
    push_off = push & (rng.random(n) < 0.1)
    off_at = push_at + ((now - push_at) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    consents.add(
        person=persons[push_off], channel=PUSH, kind=email_kinds(rng, off_at[push_off], changed[push_off], 0.0),
        phone_style=-1, status=0, source=APP_SETTINGS, at=off_at[push_off],
    )  # fmt: skip

    # --- messages sent inside opted-in stretches ----------------------------------------------------
    messages = _messages(ctx, people, online, persons, (t_in, t_out, t_back), (sms_in, sms_out, sms_back),
                         signup, chunk)  # fmt: skip
    reopt = _message_events(ctx, con, people, messages, seen, chunk)
    consents.add(**reopt)
    _write_consents(ctx, con, people, consents.arrays(), seen, chunk)


def _messages(ctx, people: People, online: OnlineChunk, persons, email_tl, sms_tl, signup, chunk) -> dict:
    rng = ctx.streams.rng("messaging.messages", chunk)
    now = ctx.as_of_us
    window = now - MESSAGE_WINDOW_DAYS * DAY
    rows = _Rows("person", "channel", "journey", "at")
    for channel, (t_in, t_out, t_back), every, journey in (
        (EMAIL, email_tl, NEWSLETTER_EVERY_DAYS, NEWSLETTER),
        (SMS, sms_tl, SMS_EVERY_DAYS, SMS_PROMO),
    ):
        for lo_t, hi_t in ((t_in, np.minimum(t_out, now)), (t_back, np.full(len(persons), now))):
            lo_t = np.maximum(lo_t, window)
            length = np.where((lo_t < hi_t) & (lo_t < FOREVER), hi_t - lo_t, 0)
            count = rng.poisson(length / (every * DAY))
            who = np.repeat(np.arange(len(persons)), count)
            at = lo_t[who] + (rng.random(len(who)) * length[who]).astype(np.int64)
            rows.add(person=persons[who], channel=channel, journey=journey, at=at)
    # Welcome series: three emails after a web sign-up opt-in.
    t_in, t_out, t_back = email_tl
    for delay in (5 * MINUTE, 3 * DAY, 7 * DAY):
        at = signup + delay
        ok = (signup < FOREVER) & (signup == t_in) & (signup >= window) & (at < now) & _active(at, t_in, t_out, t_back)
        rows.add(person=persons[ok], channel=EMAIL, journey=WELCOME, at=at[ok])
    # Cart-abandonment emails for half of the abandoned carts of subscribers.
    local = online.cart_person - persons[0]
    at = online.cart_last_add + (rng.uniform(1, 3, len(local)) * HOUR).astype(np.int64)
    ok = (
        online.cart_abandoned
        & (online.cart_last_add >= window)
        & (at < now)
        & _active(at, t_in[local], t_out[local], t_back[local])
        & (rng.random(len(local)) < 0.5)
    )
    rows.add(person=online.cart_person[ok], channel=EMAIL, journey=CART_ABANDONMENT, at=at[ok])
    out = rows.arrays()
    out["at"] -= out["at"] % SECOND
    return out


def _message_events(ctx, con, people: People, m: dict, seen: Observed, chunk: int) -> dict:
    """Expand messages into ESP/SMS events; stop sending to an address after it withdrew.

    Returns the consent rows of people who opted back in after an unsubscribe.
    """
    rng = ctx.streams.rng("messaging.outcomes", chunk)
    now = ctx.as_of_us
    order = np.lexsort((m["at"], m["channel"], m["person"]))
    m = {k: v[order] for k, v in m.items()}
    n = len(m["at"])
    is_email = m["channel"] == EMAIL
    r = rng.random(n)
    bounced = is_email & (r < 0.003)
    failed = ~is_email & (r < 0.02)
    delivered = ~bounced & ~failed
    opened = is_email & delivered & (rng.random(n) < 0.3)
    clicked = (opened | (~is_email & delivered)) & (rng.random(n) < np.where(is_email, 0.25, 0.04))
    u = rng.random(n)
    unsubscribed = delivered & (u < np.where(is_email, 0.005, 0.008))
    complained = is_email & delivered & ~unsubscribed & (u > 1 - 0.0005)
    terminal = bounced | unsubscribed | complained
    # Drop what would have been sent after an address's first withdrawal.
    key = m["person"] * 3 + m["channel"]
    start = np.ones(n, dtype=bool)
    start[1:] = key[1:] != key[:-1]
    before = np.cumsum(terminal) - terminal
    group_base = before[np.maximum.accumulate(np.where(start, np.arange(n), 0))]
    keep = (before - group_base) == 0
    m = {k: v[keep] for k, v in m.items()}
    flags = {
        "delivered": delivered[keep], "opened": opened[keep], "clicked": clicked[keep], "bounced": bounced[keep],
        "unsubscribed": unsubscribed[keep], "complained": complained[keep], "failed": failed[keep],
    }  # fmt: skip
    n = len(m["at"])
    sent = m["at"]
    delay = {
        "delivered": rng.uniform(1, 120, n) * SECOND,
        "bounced": rng.uniform(1, 60, n) * SECOND,
        "failed": rng.uniform(1, 300, n) * SECOND,
        "opened": np.minimum(rng.lognormal(np.log(2 * HOUR), 1.2, n), 5 * DAY),
        "unsubscribed": rng.uniform(5 * MINUTE, 2 * DAY, n),
        "complained": rng.uniform(10 * MINUTE, 2 * DAY, n),
    }
    opened_at = sent + delay["opened"].astype(np.int64)
    rows = _Rows("message", "event", "at")
    rows.add(message=np.arange(n), event=0, at=sent)
    for name in ("delivered", "bounced", "failed", "opened", "unsubscribed", "complained"):
        f = flags[name]
        rows.add(
            message=np.flatnonzero(f), event=MESSAGE_EVENTS.index(name), at=(sent + delay[name].astype(np.int64))[f]
        )
    f = flags["clicked"]
    base = np.where(m["channel"] == EMAIL, opened_at, sent + 10 * MINUTE)
    rows.add(message=np.flatnonzero(f), event=3, at=(base + rng.uniform(10, 600, n).astype(np.int64) * SECOND)[f])
    ev = rows.arrays()
    ev["at"] -= ev["at"] % SECOND
    ok = ev["at"] <= now
    ev = {k: v[ok] for k, v in ev.items()}
    msg = ev["message"]
    person = m["person"][msg]
    kinds = np.where(
        m["channel"][msg] == EMAIL, (m["at"][msg] < people.email_changed_us[person]).astype(np.int8), -1
    ).astype(np.int8)
    message_ids = uuids(ctx.streams.rng("messaging.message_ids", chunk), n)
    event_ids = uuids(ctx.streams.rng("messaging.event_ids", chunk), len(msg))
    table = pa.table(
        {
            "event_id": event_ids,
            "message_id": message_ids.take(pa.array(msg)),
            "person_id": person + 1,
            "channel": labels(["email", "sms"], m["channel"][msg]),
            "email_kind": kinds,
            "event": labels(MESSAGE_EVENTS, ev["event"]),
            "journey": labels(JOURNEYS, m["journey"][msg]),
            "occurred_at": timestamps(ev["at"]),
        }
    )
    dup = np.flatnonzero(rng.random(len(msg)) < MESSAGE_DUPLICATE_RATE)
    # The ESP stores addresses lower-case and trimmed, numbers in E.164.
    value = f"case when s.channel = 'email' then {email_truth_sql('email_kind')} else p.phone end"
    insert_with_duplicates(
        con,
        "raw.message_events",
        table,
        f"""
        select event_id, message_id, s.channel, {value} as identifier_value, event, journey, occurred_at
        from src s join persons p using (person_id)
        """,
        dup,
    )
    write_bad_rows(con, "message_events", event_ids.take(pa.array(dup)), "duplicate")
    seen.emails(person[kinds >= 0], kinds[kinds >= 0])
    seen.phone[person[kinds < 0]] = True
    withdrawing = np.isin(ev["event"], [4, 5, 6])
    insert(
        con,
        "consent_log",
        table.filter(pa.array(withdrawing)),
        f"""
        select s.channel, case when s.channel = 'email' then 'email' else 'phone' end as identifier_type,
               {value} as identifier_value, 'opted_out' as status, occurred_at as recorded_at,
               'message_events' as decided_by
        from src s join persons p using (person_id)
        """,
    )
    # Some who unsubscribed by email opt back in through the preference centre later.
    unsub = np.flatnonzero(withdrawing & (ev["event"] == 5) & (m["channel"][msg] == EMAIL))
    back = rng.random(len(unsub)) < 0.2
    unsub = unsub[back]
    at = ev["at"][unsub] + (rng.uniform(1, 30, len(unsub)) * DAY).astype(np.int64)
    ok = at < now
    unsub, at = unsub[ok], at[ok]
    return {
        "person": person[unsub], "channel": np.full(len(unsub), EMAIL), "kind": kinds[unsub],
        "phone_style": np.full(len(unsub), -1), "status": np.ones(len(unsub), np.int64),
        "source": np.full(len(unsub), PREFERENCE_CENTER), "at": at,
    }  # fmt: skip


def _write_consents(ctx, con, people: People, c: dict, seen: Observed, chunk: int) -> None:
    rng = ctx.streams.rng("messaging.consent_rows", chunk)
    n = len(c["at"])
    c["at"] = c["at"] - c["at"] % SECOND
    consent_no = 1 + ctx.take_ids("consent", n)
    is_phone = c["channel"] == SMS
    kinds = np.where(is_phone, -1, c["kind"]).astype(np.int8)
    person = c["person"]
    seen.emails(person[~is_phone], kinds[~is_phone])
    seen.phones(person, np.where(is_phone, c["phone_style"], -1).astype(np.int16))
    table = pa.table(
        {
            "consent_no": consent_no,
            "person_id": person + 1,
            "channel": labels(CHANNELS, c["channel"].astype(np.int64)),
            "is_phone": is_phone,
            "email_kind": kinds,
            "email_style": email_styles(rng, n),
            "phone_style": c["phone_style"].astype(np.int16),
            "status": labels(["opted_out", "opted_in"], c["status"].astype(np.int64)),
            "source": labels(SOURCES, c["source"].astype(np.int64)),
            "recorded_at": timestamps(c["at"]),
        }
    )
    dup = np.flatnonzero(rng.random(n) < CONSENT_DUPLICATE_RATE)
    insert_with_duplicates(
        con,
        "raw.consents",
        table,
        f"""
        select printf('CNS%09d', consent_no) as consent_id, s.channel,
               case when is_phone then 'phone' else 'email' end as identifier_type,
               case when is_phone then render_phone(p.phone_nsn, phone_style)
                    else {email_sql("email_kind", "email_style")} end as identifier_value,
               status, source, recorded_at
        from src s join persons p using (person_id)
        """,
        dup,
    )
    insert(
        con,
        "consent_log",
        table,
        f"""
        select s.channel, case when is_phone then 'phone' else 'email' end as identifier_type,
               case when is_phone then p.phone else {email_truth_sql("email_kind")} end as identifier_value,
               status, recorded_at, 'consents' as decided_by
        from src s join persons p using (person_id)
        """,
    )
    ids = pa.array([f"CNS{k:09d}" for k in consent_no[dup].tolist()], type=pa.string())
    write_bad_rows(con, "consents", ids, "duplicate")
