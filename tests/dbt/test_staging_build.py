"""The staging layer, built on a tiny hand-written raw warehouse, gives exactly the known answers.

Fixture: tests/dbt/fixtures/raw_messy.sql (every raw table of CONTRACT.md §2,
with duplicates, mixed-case emails, national and international phones,
placeholders, a VARCHAR timestamp column holding 'not a date', negative
quantities, unknown event names, ...). Each comment there says what staging
must make of the row; these tests hold it to that.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from orchestration.raw_contract import RAW_TABLES

pytestmark = pytest.mark.slow

T = datetime.fromisoformat


@pytest.fixture(scope="module")
def built(messy_build):
    messy_build.build.check()
    return messy_build


def rows(built, sql: str) -> list[tuple]:
    return built.dbt.query(sql)


def test_fixture_lands_every_raw_table_of_the_contract(built):
    found = rows(built, "select table_name, column_name from information_schema.columns where table_schema = 'raw'")
    landed: dict[str, set[str]] = {}
    for table, column in found:
        landed.setdefault(table, set()).add(column)
    assert landed == {table: set(columns) for table, columns in RAW_TABLES.items()}


def test_build_passes_every_test_and_quarantine_never_fails_it(built):
    summary = [line for line in built.build.stdout.splitlines() if "Done. PASS=" in line]
    assert summary, built.build.stdout[-3000:]
    assert "ERROR=0" in summary[-1]
    # Messy raw data shows up as warnings of the source tests, never as errors.
    assert " WARN=0 " not in summary[-1]


# fmt: off
# The expected rows below are tables: one row per line reads better than ruff's layout.


def test_customers(built):
    assert rows(
        built,
        """
        select customer_id, email, phone, country, is_email_invalid, is_phone_invalid,
               is_placeholder_email, is_placeholder_phone, created_at, updated_at
        from staging.stg_shop__customers order by customer_id
        """,
    ) == [
        # two versions: the later one wins; phones normalized in the account's country
        ("C001", "alice.new@mail.co.uk", "+447911123456", "GB", False, False, False, False,
         T("2024-01-01 10:00"), T("2025-06-01 09:00")),
        ("C002", "bob@mail.com", "+12025550143", "US", False, False, False, False,
         T("2024-02-01 10:00"), T("2024-02-01 10:00")),
        # placeholders kept and flagged; '0000000000' starts with 00, so is no number at all
        ("C003", "test@test.com", None, "GB", False, True, True, True,
         T("2024-03-01 10:00"), T("2024-03-01 10:00")),
        ("C004", None, None, "DE", True, True, False, False, T("2024-04-01 10:00"), T("2024-04-01 10:00")),
        ("C008", "erin@mail.ie", "+353851234567", "IE", False, False, False, False,
         T("2024-08-01 10:00"), T("2024-08-01 10:00")),
        ("C009", "noemail@mail.com", None, "GB", False, True, True, True,
         T("2024-09-01 10:00"), T("2024-09-01 10:00")),
        ("C010", "frank@mail.jp", "+819012345678", "JP", False, False, False, False,
         T("2024-10-01 10:00"), T("2024-10-01 10:00")),
        # blank updated_at: created_at stands in
        ("C012", "hana@mail.com.au", "+61412345678", "AU", False, False, False, False,
         T("2024-12-01 10:00"), T("2024-12-01 10:00")),
    ]


def test_orders(built):
    assert rows(
        built,
        """
        select order_id, customer_id, email, phone, status, currency, order_source, total_amount,
               is_guest_order, is_phone_invalid
        from staging.stg_shop__orders order by order_id
        """,
    ) == [
        ("O1", "C001", "alice.new@mail.co.uk", "+447911123456", "refunded", "GBP", "web", Decimal("49.9"),
         False, False),
        # a guest's national number has no country to be read in
        ("O2", None, "guest@mail.com", None, "completed", "GBP", "web", Decimal("10"), True, True),
        ("O3", None, "guest2@mail.com", "+442079460958", "completed", "GBP", "app", Decimal("29.9"), True, False),
        ("O6", "C002", "bob@mail.com", "+12025550143", "completed", "USD", "web", Decimal("0"), False, False),
        ("O7", "C999", None, None, "cancelled", "USD", "web", Decimal("12"), False, True),
    ]


# fmt: on


def test_order_lines(built):
    assert rows(
        built,
        "select order_line_id, order_id, line_number, product_id, quantity, unit_price "
        "from staging.stg_shop__order_lines order by order_line_id",
    ) == [
        ("O1-1", "O1", 1, "P1", 2, Decimal("10")),
        ("O1-2", "O1", 2, "P2", 1, Decimal("29.9")),
        ("O3-1", "O3", 1, "P2", 1, Decimal("29.9")),
        ("O6-1", "O6", 1, "P3", 1, Decimal("0")),
    ]


def test_loyalty_members(built):
    assert rows(
        built,
        "select loyalty_id, customer_id, home_store_id, email, phone, tier, points_balance, is_phone_invalid "
        "from staging.stg_loyalty__members order by loyalty_id",
    ) == [
        ("L1", "C001", "S01", "alice.new@mail.co.uk", "+447911123456", "gold", 1200, False),
        ("L2", None, "S02", "gina@mail.ie", "+353859876543", "bronze", 10, False),
        ("L3", None, "S03", None, None, "bronze", 0, True),
    ]


def test_identifies(built):
    assert rows(
        built,
        "select message_id, anonymous_id, customer_id, email, phone, is_email_invalid, is_placeholder_email, "
        "identified_at from staging.stg_segment__identifies order by message_id",
    ) == [
        ("M1", "anon-1", "C001", "alice.new@mail.co.uk", "+447911123456", False, False, T("2025-06-01 08:00")),
        ("M2", "anon-2", None, None, None, True, True, T("2025-06-02 08:00")),
        ("M4", "anon-3", "C002", None, "+12025550143", False, False, T("2025-06-04 08:00")),
    ]


def test_events(built):
    assert rows(
        built,
        "select event_id, anonymous_id, customer_id, event_name, event_source, quantity, order_id, revenue "
        "from staging.stg_segment__events order by event_id",
    ) == [
        ("E1", "anon-1", "C001", "Product Viewed", "web", None, None, None),
        ("E2", "anon-1", "C001", "Product Added", "web", 2, None, None),
        ("E5", "anon-2", None, "Order Completed", "app", None, "O3", Decimal("29.9")),
    ]


def test_pos(built):
    assert rows(
        built,
        "select transaction_id, store_id, loyalty_id, email, phone, is_placeholder_email, is_phone_invalid "
        "from staging.stg_pos__transactions order by transaction_id",
    ) == [
        ("T1", "S01", "L1", "alice.new@mail.co.uk", "+447911123456", False, False),
        ("T2", "S02", None, None, "+353859876543", False, False),
        ("T3", "S03", None, "none@none.com", "+12125550182", True, False),
        ("T5", "S99", None, None, None, False, True),
    ]
    assert rows(
        built,
        "select pos_line_id, quantity from staging.stg_pos__lines order by pos_line_id",
    ) == [("T1-1", 1), ("T3-1", 1)]


def test_catalog(built):
    assert rows(built, "select store_id, country from staging.stg_catalog__stores order by store_id") == [
        ("S01", "GB"),
        ("S02", "IE"),
        ("S03", "US"),
    ]
    assert rows(
        built, "select product_id, product_name, price from staging.stg_catalog__products order by product_id"
    ) == [
        ("P1", "Tee (organic)", Decimal("12")),
        ("P2", "Jeans", Decimal("29.9")),
        ("P3", "Socks", Decimal("5")),
    ]
    assert rows(
        built,
        "select product_id, location_id, quantity_on_hand, is_latest, recorded_at "
        "from staging.stg_catalog__inventory order by product_id, location_id, recorded_at",
    ) == [
        ("P1", "S01", 3, True, T("2025-01-01")),
        ("P1", "online", 5, False, T("2025-01-01")),
        ("P1", "online", 0, True, T("2025-02-01")),
    ]


def test_consents_and_message_events(built):
    assert rows(
        built,
        "select consent_id, channel, identifier_type, identifier_value, status, consent_source "
        "from staging.stg_consent__consents order by consent_id",
    ) == [
        ("K1", "email", "email", "alice.new@mail.co.uk", "opted_in", "checkout"),
        ("K2", "sms", "phone", "+447911123456", "opted_in", "checkout"),
        ("K7", "email", "email", "bob@mail.com", "opted_out", "web"),
    ]
    assert rows(
        built,
        "select event_id, channel, identifier_value, event_name from staging.stg_esp__message_events order by event_id",
    ) == [
        ("ME1", "email", "alice.new@mail.co.uk", "delivered"),
        ("ME2", "sms", "+447911123456", "sent"),
    ]


EXPECTED_QUARANTINE = {
    ("customers", "C005", "unparseable timestamp"),
    ("customers", "C006", "timestamp in the future"),
    ("customers", "C007", "timestamp too old"),
    ("customers", "C011", "missing timestamp"),
    ("customers", None, "missing id"),
    ("orders", "O4", "unknown status"),
    ("orders", "O5", "timestamp in the future"),
    ("order_lines", "O2:1", "negative quantity"),
    ("order_lines", "O3:null", "missing id"),
    ("order_lines", "O4:1", "orphan line"),
    ("loyalty_members", "L4", "missing timestamp"),
    ("loyalty_members", None, "missing id"),
    ("identifies", "M3", "missing identity"),
    ("events", "E3", "unknown event name"),
    ("events", "E4", "negative quantity"),
    ("events", None, "missing id"),
    ("pos_transactions", "T4", "missing timestamp"),
    ("pos_lines", "T2:1", "negative quantity"),
    ("pos_lines", "T4:1", "orphan line"),
    ("products", None, "missing id"),
    ("inventory", "P2@S01@2025-01-01 00:00:00", "negative quantity"),
    ("inventory", "P2@S01@2025-01-02 00:00:00", "missing quantity"),
    ("stores", None, "missing id"),
    ("consents", "K3", "invalid identifier"),
    ("consents", "K4", "unknown channel"),
    ("consents", "K5", "unknown identifier type"),
    ("consents", "K6", "unknown status"),
    ("message_events", "ME3", "unknown event name"),
    ("message_events", "ME4", "unknown channel"),
    ("message_events", "ME5", "invalid identifier"),
}


def test_quarantine_holds_exactly_the_bad_rows(built):
    quarantined = rows(built, "select source_table, record_id, quarantine_reason from staging.stg_quarantined_rows")
    assert len(quarantined) == len(EXPECTED_QUARANTINE)
    assert set(quarantined) == EXPECTED_QUARANTINE


def test_quarantine_keeps_the_raw_text_and_event_time(built):
    assert rows(
        built,
        "select occurred_at, record_text from staging.stg_quarantined_rows where record_id = 'C005'",
    ) == [
        (
            T("2024-05-01 10:00"),
            "customer_id=C005; email=carol@mail.de; phone=0049 30 1234567; country=DE; "
            "created_at=2024-05-01 10:00:00; updated_at=not a date",
        )
    ]


def test_quarantine_keeps_the_raw_text_of_rows_ruled_out_after_a_join(built):
    # Orphan lines (their order or transaction quarantined) and phones that need
    # the calling-codes seed: these base views build record_text after their
    # join, from the raw columns carried past it (segue.raw_row).
    assert rows(
        built,
        "select source_table, record_id, record_text from staging.stg_quarantined_rows"
        " where quarantine_reason in ('orphan line', 'invalid identifier') order by source_table",
    ) == [
        (
            "consents",
            "K3",
            "consent_id=K3; channel=sms; identifier_type=phone; identifier_value=07911 123456; status=opted_in; "
            "recorded_at=2025-01-03 10:00:00",
        ),
        (
            "message_events",
            "ME5",
            "event_id=ME5; message_id=MSG4; channel=sms; identifier_value=07911 123456; event=sent; "
            "occurred_at=2025-06-01 10:08:00",
        ),
        ("order_lines", "O4:1", "order_id=O4; line_number=1; product_id=P1; quantity=1; unit_price=5.0"),
        ("pos_lines", "T4:1", "transaction_id=T4; line_number=1; product_id=P1; quantity=1; unit_price=7.0"),
    ]


def test_typed_raw_columns_skip_the_text_round_trip(built):
    # customers.created_at landed as TIMESTAMP: absent means null, no text made of it.
    # customers.updated_at landed as VARCHAR: trimmed text, blank as null (C012's '  ').
    compiled = (
        built.dbt.work_dir / "target" / "compiled" / "segue" / "models" / "staging" / "shop" / "base"
    ) / "base_shop__customers.sql"
    sql = " ".join(compiled.read_text().split())
    assert '"created_at" as created_at_raw' in sql
    assert '"updated_at" as updated_at_raw' not in sql
    assert 'cast("updated_at" as TEXT)' in sql


def test_duplicates_are_counted_not_quarantined(built):
    counts = {
        table: (raw, quarantined, staged, duplicates)
        for table, raw, quarantined, staged, duplicates in rows(
            built,
            "select source_table, raw_rows, quarantined_rows, staged_rows, duplicate_rows "
            "from staging.stg_duplicate_counts",
        )
    }
    assert counts == {
        "customers": (14, 5, 8, 1),
        "orders": (8, 2, 5, 1),
        "order_lines": (8, 3, 4, 1),
        "loyalty_members": (6, 2, 3, 1),
        "identifies": (5, 1, 3, 1),
        "events": (7, 3, 3, 1),
        "pos_transactions": (5, 1, 4, 0),
        "pos_lines": (5, 2, 2, 1),
        "products": (5, 1, 3, 1),
        "inventory": (6, 2, 3, 1),
        "stores": (5, 1, 3, 1),
        "consents": (8, 4, 3, 1),
        "message_events": (6, 3, 2, 1),
    }


def test_staging_build_time_is_reported(built, record_property):
    # Not an assertion on speed (machines differ): recorded for the pytest report.
    record_property("dbt_build_staging_seconds", round(built.build.seconds, 1))
    print(f"dbt build --select +staging took {built.build.seconds:.1f}s")
