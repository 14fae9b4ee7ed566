"""The last consent check, at send time: does this address hold a current opt-in for this channel?

CONTRACT §2: per address and channel, the latest of the consent rows and the
withdrawing message events (unsubscribed, bounced, complained) at or before
"now" holds; no row means no consent. Read from the staging models, which are
rebuilt from raw on every run, so a withdrawal that arrived after the journey
models decided still stops the send.
"""

from __future__ import annotations

from datetime import datetime

CONSENTS = "staging.stg_consent__consents"
MESSAGE_EVENTS = "staging.stg_esp__message_events"
WITHDRAWING_EVENTS = ("unsubscribed", "bounced", "complained")


def current_opt_ins_sql(as_of: datetime) -> str:
    """SQL of (channel, address) pairs holding a current opt-in (DuckDB dialect)."""
    now = as_of.strftime("%Y-%m-%d %H:%M:%S")
    withdrawing = ", ".join(f"'{e}'" for e in WITHDRAWING_EVENTS)
    return f"""
        select channel, address from (
            select channel, address, is_opted_in,
                   row_number() over (partition by channel, address order by occurred_at desc, priority desc) as rn
            from (
                select channel, identifier_value as address, is_opted_in, recorded_at as occurred_at, 0 as priority
                from {CONSENTS}
                where recorded_at <= timestamp '{now}'
                union all
                select channel, identifier_value, false, occurred_at, 1
                from {MESSAGE_EVENTS}
                where event_name in ({withdrawing}) and occurred_at <= timestamp '{now}'
            ) as events
        ) as ranked
        where rn = 1 and is_opted_in"""
