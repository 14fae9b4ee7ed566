"""`segue explain`: the customer, its identifiers, the chain of observations, the rules; exit 2 when unknown."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app

runner = CliRunner()


def _explain(warehouse, *args):
    return runner.invoke(app, ["explain", *args, "--warehouse", str(warehouse)])


def _text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _one(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def test_explain_an_email_typed_loosely_shows_customer_and_chain(identity_warehouse):
    path = identity_warehouse.path
    # A customer with an account, a device and an email: the chain from the device must reach the email.
    key, device, email, customer_id = _one(
        path,
        """
        select customer_key,
               min(identifier_value) filter (where identifier_type = 'anonymous_id'),
               min(identifier_value) filter (where identifier_type = 'email'),
               min(identifier_value) filter (where identifier_type = 'customer_id')
        from marts.customer_identifiers group by customer_key
        having count(*) filter (where identifier_type = 'anonymous_id') > 0
           and count(*) filter (where identifier_type = 'email') > 0
           and count(*) filter (where identifier_type = 'customer_id') = 1
        order by customer_key limit 1
        """,
    )
    result = _explain(path, f"  {email.upper()} ")
    assert result.exit_code == 0, result.output
    assert f"customer_key {key}" in result.output
    assert device in result.output and customer_id in result.output
    assert "how they link" in result.output
    # Each hop names a staging table, a row id and a time.
    assert f"email:{email} -> anonymous_id:{device}" in result.output
    assert "stg_" in result.output and " @ 20" in result.output

    # The device, in upper case, resolves to the same customer.
    by_device = _explain(path, device.upper(), "--type", "anonymous_id")
    assert by_device.exit_code == 0, by_device.output
    assert f"customer_key {key}" in by_device.output


def test_explain_a_national_phone_number(identity_warehouse):
    path = identity_warehouse.path
    key, phone = _one(
        path,
        "select customer_key, identifier_value from marts.customer_identifiers "
        "where identifier_type = 'phone' and identifier_value like '+447%' and not is_shared "
        "order by identifier_value limit 1",
    )
    national = "0" + phone[3:7] + " " + phone[7:]  # +447700900123 -> 07700 900123
    result = _explain(path, national, "--type", "phone")
    assert result.exit_code == 0, result.output
    assert f"phone {phone}" in result.output and f"customer_key {key}" in result.output


def test_explain_a_kiosk_names_the_rule_that_stopped_it(identity_warehouse):
    path = identity_warehouse.path
    (device,) = _one(
        path,
        "select identifier_value from identity.identity_rule_hits "
        "where rule = 'shared_identifier' and identifier_type = 'anonymous_id' "
        "group by 1 order by count(*) desc limit 1",
    )
    result = _explain(path, device)
    assert result.exit_code == 0, result.output
    assert "shared identifier" in result.output
    assert "[shared_identifier]" in result.output and "seen with more than 1 account" in result.output


def test_explain_a_placeholder_and_an_unknown_identifier(identity_warehouse):
    path = identity_warehouse.path
    placeholder = _explain(path, "Test@Test.com")
    assert placeholder.exit_code == 0, placeholder.output
    assert "resolves to no customer: blocked value" in placeholder.output

    unknown = _explain(path, "nobody@nowhere.example")
    assert unknown.exit_code == 2
    assert "unknown identifier 'nobody@nowhere.example'" in _text(unknown)

    bad_type = _explain(path, "x", "--type", "fax")
    assert bad_type.exit_code == 2 and "--type must be one of" in _text(bad_type)


def test_explain_without_an_identity_map(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = _explain(empty, "a@b.com")
    assert result.exit_code == 2
    assert "has no identity map" in _text(result)
