"""The journey_actions suite: no `send` without a current opt-in (CONTRACT §4 rule 1)."""

from __future__ import annotations

import duckdb

from orchestration.quality.suites import EXPECTATIONS_DIR, load_suite
from orchestration.quality.validate import run_suite
from tests.conftest import AS_OF


def _addresses(con):
    """An email whose latest consent event is an opt-in, and one whose latest is an opt-out."""
    latest = """
        with events as (
            select channel, identifier_value, recorded_at as event_at, is_opted_in from staging.stg_consent__consents
            union all
            select channel, identifier_value, occurred_at, false from staging.stg_esp__message_events
            where event_name in ('unsubscribed', 'bounced', 'complained')
        )
        select identifier_value, is_opted_in from events where channel = 'email' and event_at <= ?
        qualify row_number() over (partition by identifier_value order by event_at desc, is_opted_in) = 1
    """
    rows = con.execute(latest, [AS_OF]).fetchall()
    opted_in = next(v for v, ok in rows if ok)
    opted_out = next(v for v, ok in rows if not ok)
    return opted_in, opted_out


def test_send_without_consent_fails_the_suite_and_a_clean_table_passes(built_copy):
    con = duckdb.connect(str(built_copy))
    try:
        opted_in, opted_out = _addresses(con)
        con.execute("create schema if not exists marts")
        con.execute(
            """
            create or replace table marts.journey_actions as
            select * from (values
                ('a1', 'c1', 'cart_abandonment', 1, 'email', 'klaviyo', 'send', null, ?, ?, false),
                ('a2', 'c2', 'cart_abandonment', 1, 'email', 'klaviyo', 'send', null, ?, ?, false),
                ('a3', 'c3', 'cart_abandonment', 1, 'email', 'klaviyo', 'suppressed', 'no_consent', ?, ?, false),
                ('a4', 'c4', 'cart_abandonment', 1, 'email', 'klaviyo', 'send', null, ?, 'nobody@example.org', false),
                ('a5', 'c5', 'back_in_stock', 1, 'onsite', 'webhook', 'send', null, ?, null, false)
            ) as t(action_id, customer_key, journey, step, channel, destination, decision, suppression_reason,
                   scheduled_for, to_address, is_transactional)
            """,
            [AS_OF, opted_in, AS_OF, opted_out, AS_OF, opted_out, AS_OF, AS_OF],
        )
    finally:
        con.close()
    suite = load_suite(EXPECTATIONS_DIR / "journey_actions.yml")

    outcome = run_suite(suite, built_copy, "marts", previous_row_count=None, as_of=AS_OF)
    assert not outcome.passed
    assert outcome.failures == ["sql:send_without_consent"]
    violation = outcome.results["sql:send_without_consent"]
    assert violation.unexpected_count == 2  # the opted-out address and the never-consented one
    assert {row["action_id"] for row in violation.sample} == {"a2", "a4"}

    con = duckdb.connect(str(built_copy))
    try:
        con.execute("delete from marts.journey_actions where action_id in ('a2', 'a4')")
    finally:
        con.close()
    outcome = run_suite(suite, built_copy, "marts", previous_row_count=None, as_of=AS_OF)
    assert outcome.passed, outcome.failures
