"""What a `sync_` model's suite must check at least, derived from its `meta.sync` declaration.

Every sync model gets a blocking `gx_suite` check: its file `expectations/<model>.yml`
when there is one, else the suite derived here, so a sync added without a file
is guarded from its first run. `tests/quality/test_sync_suites.py` holds every
file to at least what its declaration implies:

- the primary key is non-null and unique;
- a column sent to an email field is a normalized email, one sent to a phone
  field an E.164 phone;
- a message sync (mode `actions`) sends only to addresses with a current opt-in
  for the row's channel (CONTRACT §4 rule 1, the consent invariant), and each
  address has the shape of its channel;
- the row count moved within bounds since the last passing run (wider for
  actions: what is due changes hour by hour).
"""

from __future__ import annotations

from orchestration.quality.suites import EXPECTATIONS_DIR, Expectation, RowCountChange, SqlCheck, Suite

EMAIL_REGEX = "^[^@ A-Z]+@[^@ .A-Z]+([.][^@ .A-Z]+)+$"
PHONE_REGEX = "^[+][1-9][0-9]{7,14}$"
ROW_COUNT = {"actions": RowCountChange(max_drop=0.9, max_growth=10.0)}
DEFAULT_ROW_COUNT = RowCountChange(max_drop=0.5, max_growth=3.0)

# The latest of the consent log and of withdrawing message events per channel and
# address (CONTRACT §2); at equal times the withdrawal wins. Same rule as journey_actions.yml.
CURRENT_CONSENT_CTE = """
with consent_events as (
    select channel, identifier_value, recorded_at as event_at, is_opted_in
    from staging.stg_consent__consents
    where recorded_at <= {as_of}
    union all
    select channel, identifier_value, occurred_at as event_at, false as is_opted_in
    from staging.stg_esp__message_events
    where event_name in ('unsubscribed', 'bounced', 'complained') and occurred_at <= {as_of}
),
current_consent as (
    select channel, identifier_value, is_opted_in
    from consent_events
    qualify row_number() over (partition by channel, identifier_value order by event_at desc, is_opted_in asc) = 1
)
"""


def _field_kind(field: str) -> str | None:
    last = field.rsplit(".", 1)[-1].lower()
    if "email" in last:
        return "email"
    if "phone" in last:
        return "phone"
    return None


def address_columns(spec) -> dict[str, str]:
    """Model columns sent to an email or phone field: {column: "email" | "phone"}."""
    out: dict[str, str] = {}
    for field, column in sorted(spec.mapping.items()):
        kind = _field_kind(field)
        if column.lower().endswith(("emails", "phones")):
            continue  # many addresses in one value (a JSON list, e.g. every email of the customer)
        if kind and not (spec.mode == "actions" and column == spec.address_column):
            out.setdefault(column, kind)  # an actions sync's address is checked per channel below
    return out


def consent_check(spec) -> SqlCheck:
    pk, channel, address = spec.primary_key, spec.channel_column, spec.address_column
    query = (
        CURRENT_CONSENT_CTE
        + f"""select s.{pk}, s.{channel}, s.{address}
from {{model}} as s
left join current_consent as c on c.channel = s.{channel} and c.identifier_value = s.{address}
where s.{channel} in ('email', 'sms') and coalesce(c.is_opted_in, false) = false"""
    )
    return SqlCheck(
        name="send_without_consent",
        description=(
            "Consent invariant (CONTRACT §4 rule 1): every row of a message sync is a send; "
            "none may go to an address without a current opt-in for its channel."
        ),
        query=query.strip(),
    )


def address_shape_check(spec) -> SqlCheck:
    pk, channel, address = spec.primary_key, spec.channel_column, spec.address_column
    return SqlCheck(
        name="address_shape",
        description="An email send goes to a normalized email, an sms send to an E.164 phone, never to null.",
        query=(
            f"select {pk}, {channel}, {address} from {{model}} "
            f"where ({channel} = 'email' and not coalesce(regexp_full_match({address}, '{EMAIL_REGEX}'), false)) "
            f"or ({channel} = 'sms' and not coalesce(regexp_full_match({address}, '{PHONE_REGEX}'), false))"
        ),
    )


def required_items(spec) -> tuple[list[Expectation], list[SqlCheck], RowCountChange]:
    """The expectations, SQL checks and row-count bounds a sync's suite must hold at least."""
    expectations = [
        Expectation("expect_column_values_to_not_be_null", {"column": spec.primary_key}),
        Expectation("expect_column_values_to_be_unique", {"column": spec.primary_key}),
    ]
    for column, kind in address_columns(spec).items():
        regex = EMAIL_REGEX if kind == "email" else PHONE_REGEX
        expectations.append(Expectation("expect_column_values_to_match_regex", {"column": column, "regex": regex}))
    sql_checks = [consent_check(spec), address_shape_check(spec)] if spec.mode == "actions" else []
    return expectations, sql_checks, ROW_COUNT.get(spec.mode, DEFAULT_ROW_COUNT)


def derived_suite(spec) -> Suite:
    """The suite of a sync model that has no file in expectations/."""
    expectations, sql_checks, row_count = required_items(spec)
    kind = "message sync: consent invariant included" if spec.mode == "actions" else f"{spec.mode} sync"
    return Suite(
        model=spec.name,
        path=EXPECTATIONS_DIR / f"{spec.name}.yml",
        description=(
            f"Derived from {spec.name}'s meta.sync ({kind}; no file expectations/{spec.name}.yml yet): "
            "key unique and non-null, addresses well formed, row count within bounds."
        ),
        blocking="true",
        expectations=expectations,
        sql_checks=sql_checks,
        row_count_change=row_count,
    )
