"""CONTRACT §4 as SQL and Python checks on a built warehouse.

Each check recomputes its rule from staging (not from the journey models'
own intermediate tables) and returns the violating rows: an empty list is a
pass. Used by the property test (several generator seeds) and the
feedback-loop test (several consecutive as-of builds).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb

# The defaults of the dbt vars the checks mirror (dbt_project.yml).
CAP_SENDS = 3
CAP_DAYS = 7
QUIET_START, QUIET_END = 21, 8
HOLDOUT_SHARE = 0.10


def query(warehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def has_deliveries_table(warehouse) -> bool:
    return bool(
        query(
            warehouse,
            "select 1 from information_schema.tables where table_schema = 'segue' and table_name = 'action_deliveries'",
        )
    )


def _purchases_sql() -> str:
    """Completed online orders and POS transactions with their customer, straight from staging."""
    return """
        purchase_rows as (
            select o.order_id as purchase_id, o.ordered_at as purchased_at,
                   coalesce(c1.customer_key, c2.customer_key, c3.customer_key) as customer_key
            from staging.stg_shop__orders o
            left join marts.customer_identifiers c1
                on c1.identifier_type = 'customer_id' and c1.identifier_value = o.customer_id
            left join marts.customer_identifiers c2 on c2.identifier_type = 'email' and c2.identifier_value = o.email
                and not o.is_placeholder_email
            left join marts.customer_identifiers c3 on c3.identifier_type = 'phone' and c3.identifier_value = o.phone
                and not o.is_placeholder_phone
            where o.status = 'completed'
            union all
            select t.transaction_id, t.transacted_at,
                   coalesce(c1.customer_key, c2.customer_key, c3.customer_key)
            from staging.stg_pos__transactions t
            left join marts.customer_identifiers c1
                on c1.identifier_type = 'loyalty_id' and c1.identifier_value = t.loyalty_id
            left join marts.customer_identifiers c2 on c2.identifier_type = 'email' and c2.identifier_value = t.email
                and not t.is_placeholder_email
            left join marts.customer_identifiers c3 on c3.identifier_type = 'phone' and c3.identifier_value = t.phone
                and not t.is_placeholder_phone
        )
    """


def sql_checks(warehouse, as_of: datetime) -> dict[str, str]:
    now = f"timestamp '{as_of:%Y-%m-%d %H:%M:%S}'"
    delivered = (
        f"""
        delivered as (
            select a.customer_key, d.delivered_at as t, 0 as is_planned
            from segue.action_deliveries d
            join marts.journey_actions a on a.action_id = d.action_id
            where d.status = 'delivered' and a.channel in ('email', 'sms') and not a.is_transactional
                and d.delivered_at <= {now}
        ),
        """
        if has_deliveries_table(warehouse)
        else "delivered as (select null::varchar as customer_key, null::timestamp as t, 0 as is_planned where false),"
    )
    return {
        "shape: decision, reason and address agree": """
            select action_id, decision, suppression_reason, channel, to_address from marts.journey_actions
            where decision not in ('send', 'holdout', 'suppressed')
               or (decision = 'send') <> (suppression_reason is null)
               or (decision = 'holdout') <> (suppression_reason = 'holdout')
               or (channel in ('email', 'sms') and decision = 'send' and to_address is null)
               or (channel = 'onsite' and to_address is not null)
               or is_transactional
        """,
        "action_id unique": """
            select action_id, count(*) from marts.journey_actions group by 1 having count(*) > 1
        """,
        "§4.1 consent: every email/sms send goes to an address opted in at as-of": f"""
            with decisions as (
                select channel, identifier_value, is_opted_in, recorded_at as decided_at, 1 as tie
                from staging.stg_consent__consents where recorded_at <= {now}
                union all
                select channel, identifier_value, false, occurred_at, 0
                from staging.stg_esp__message_events
                where event_name in ('unsubscribed', 'bounced', 'complained') and occurred_at <= {now}
            ),
            latest as (
                select *, row_number() over (
                    partition by channel, identifier_value order by decided_at desc, tie) as recency
                from decisions
            )
            select a.action_id, a.channel, a.to_address
            from marts.journey_actions a
            left join latest l on l.channel = a.channel and l.identifier_value = a.to_address and l.recency = 1
            where a.decision = 'send' and a.channel in ('email', 'sms') and not coalesce(l.is_opted_in, false)
        """,
        "§4.2 frequency cap: no rolling 7 days holding a planned send has more than 3": f"""
            with planned as (
                select customer_key, scheduled_for as t, 1 as is_planned from marts.journey_actions
                where decision = 'send' and channel in ('email', 'sms') and not is_transactional
            ),
            esp as (
                select ci.customer_key, me.occurred_at as t, 0 as is_planned
                from staging.stg_esp__message_events me
                join marts.customer_identifiers ci
                    on ci.identifier_value = me.identifier_value
                    and ci.identifier_type = case me.channel when 'sms' then 'phone' else 'email' end
                where me.event_name = 'sent' and me.channel in ('email', 'sms') and me.occurred_at <= {now}
            ),
            {delivered}
            sends as (
                select * from planned
                union all select * from esp
                union all select * from delivered
            ),
            windows as (
                select a.customer_key, a.t as window_start, count(*) as sends, sum(b.is_planned) as planned
                from sends a
                join sends b on a.customer_key = b.customer_key and b.t >= a.t
                    and b.t < a.t + interval {CAP_DAYS} day
                where a.customer_key in (select customer_key from planned)
                group by a.customer_key, a.t
            )
            select * from windows where planned > 0 and sends > {CAP_SENDS}
        """,
        "§4.3 one journey at a time: at most one message send per customer": """
            select customer_key, count(*) from marts.journey_actions
            where decision = 'send' and channel in ('email', 'sms')
            group by 1 having count(*) > 1
        """,
        "§4.3 every lower_priority_journey row has a higher-priority winner": """
            select l.action_id from marts.journey_actions l
            where l.suppression_reason = 'lower_priority_journey'
              and not exists (
                select 1 from marts.journey_actions w
                where w.customer_key = l.customer_key
                  and (w.channel = 'onsite') = (l.channel = 'onsite')
                  and w.journey_priority < l.journey_priority
                  and (w.decision in ('send', 'holdout') or w.suppression_reason = 'frequency_cap'))
        """,
        "§4.5 exit: no cart reminder sent after a purchase since the cart's last add": f"""
            with {_purchases_sql()}
            select a.action_id, p.purchase_id
            from marts.journey_actions a
            join purchase_rows p on p.customer_key = a.customer_key
                and p.purchased_at >= a.triggered_at and p.purchased_at <= {now}
            where a.journey = 'cart_abandonment' and a.decision = 'send'
        """,
        "§4.5 exit: a cart counts as abandoned from 1 h after its last add, for 7 days": f"""
            select action_id from marts.journey_actions
            where journey = 'cart_abandonment' and decision = 'send'
              and ({now} < triggered_at + interval 1 hour or {now} > triggered_at + interval 7 day)
        """,
        "§4.5 exit: no back-in-stock alert for a product out of stock again": f"""
            with latest as (
                select product_id, is_in_stock, row_number() over (
                    partition by product_id order by recorded_at desc, quantity_on_hand) as recency
                from staging.stg_catalog__inventory where is_online and recorded_at <= {now}
            )
            select a.action_id, a.payload_product_ids from marts.journey_actions a
            left join latest l on l.product_id = a.payload_product_ids and l.recency = 1
            where a.journey = 'back_in_stock' and a.decision = 'send' and not coalesce(l.is_in_stock, false)
        """,
        "§4.5 exit: no second welcome email after a purchase": f"""
            with {_purchases_sql()}
            select a.action_id from marts.journey_actions a
            join purchase_rows p on p.customer_key = a.customer_key
                and p.purchased_at >= a.triggered_at and p.purchased_at <= {now}
            where a.journey = 'welcome' and a.step = 'email_2d' and a.decision = 'send'
        """,
        "§4.5 exit: nothing sent after its exit event": f"""
            select action_id from marts.journey_actions
            where decision = 'send' and exit_at is not null and exit_at <= {now}
        """,
        "a delivered action is never planned again": """
            select a.action_id from marts.journey_actions a
            join segue.action_deliveries d on d.action_id = a.action_id
            where a.decision = 'send' and d.status in ('delivered', 'unknown', 'rejected')
        """
        if has_deliveries_table(warehouse)
        else "select 1 where false",
    }


def stable_fraction(journey: str, customer_key: str) -> float:
    return int(hashlib.md5(f"{journey}|{customer_key}".encode()).hexdigest()[:6], 16) / 16**6


def python_violations(warehouse, as_of: datetime) -> dict[str, list]:
    rows = query(
        warehouse,
        """
        select action_id, journey, customer_key, decision, channel, scheduled_for, timezone
        from marts.journey_actions
        """,
    )
    holdout = [
        (action_id, journey, key, decision)
        for action_id, journey, key, decision, *_ in rows
        if (stable_fraction(journey, key) < HOLDOUT_SHARE) != (decision == "holdout")
    ]
    quiet = []
    for action_id, _journey, _key, decision, _channel, scheduled_for, zone in rows:
        if decision != "send":
            continue
        local = scheduled_for.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone or "UTC"))
        if local.hour >= QUIET_START or local.hour < QUIET_END:
            quiet.append((action_id, scheduled_for, zone, local.isoformat()))
    return {
        "§4.4 holdout: exactly the entrants whose md5(journey|customer_key) < 10% (computed in Python)": holdout,
        "§4.6 quiet hours: no send scheduled 21:00-08:00 local (zoneinfo)": quiet,
    }


def contract_violations(warehouse, as_of: datetime) -> dict[str, list]:
    found = {name: query(warehouse, sql)[:5] for name, sql in sql_checks(warehouse, as_of).items()}
    found.update({name: rows[:5] for name, rows in python_violations(warehouse, as_of).items()})
    return {name: rows for name, rows in found.items() if rows}
