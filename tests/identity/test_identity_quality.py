"""The identity map against the generator's truth, and the dbt tests of the identity layer."""

from __future__ import annotations

import re

from tests.identity.conftest import DBT_VARS
from tests.identity.scoring import score


def test_identity_dbt_tests_pass(identity_warehouse):
    """Data tests, unit tests, convergence and the explosion test, on the generated retailer."""
    result = identity_warehouse.tests.check()
    summary = [line for line in result.stdout.splitlines() if "Done. PASS=" in line][-1]
    assert "ERROR=0" in summary and "WARN=0" in summary, summary
    assert "identity_labels_converged" in result.stdout
    assert "identity_component_size" in result.stdout
    assert "test_type" not in summary
    assert re.search(r"PASS.*identity_shared_device_and_priority_conflict", result.stdout)


def test_identity_map_scores_against_truth(identity_warehouse, capsys):
    result = score(identity_warehouse.path)
    with capsys.disabled():
        print(f"\n{result}")
    assert result.precision >= 0.99, result
    assert result.linkable_recall >= 0.99, result
    assert result.people_merged_by_shared == 0, result
    assert result.shared_identifiers_linking == 0, result
    # The generated retailer really has the traps the rules are for.
    [(kiosks, households, placeholders)] = identity_warehouse.dbt.query(
        """
        select count(distinct identifier_value) filter (where shared_kind = 'kiosk'),
               count(distinct identifier_value) filter (where shared_kind = 'household'),
               count(distinct identifier_value) filter (where shared_kind = 'placeholder')
        from truth.identifiers where appears_in_raw
        """
    )
    assert kiosks > 0 and households > 0 and placeholders > 0


def test_kiosks_are_reported_and_placeholders_audited(identity_warehouse):
    query = identity_warehouse.dbt.query
    # Every kiosk device seen with more than one account is shared, alone, and in the audit.
    rows = query(
        """
        select t.identifier_value, m.is_shared, m.customer_identifier_count,
               exists (select 1 from identity.identity_rule_hits h
                       where h.rule = 'shared_identifier' and h.identifier_type = 'anonymous_id'
                         and h.identifier_value = t.identifier_value)
        from (select identifier_value from truth.identifiers where shared_kind = 'kiosk'
              group by 1 having count(*) > 1) t
        join marts.customer_identifiers m
          on m.identifier_type = 'anonymous_id' and m.identifier_value = t.identifier_value
        """
    )
    assert rows
    for value, is_shared, size, audited in rows:
        assert is_shared and size == 1 and audited, value
    # Placeholders: not in the map, in the audit with their reason.
    [(in_map, audited)] = query(
        """
        select count(*) filter (where m.identifier_value is not null),
               count(*) filter (where h.identifier_value is not null)
        from (select distinct identifier_type, identifier_value from truth.identifiers
              where shared_kind = 'placeholder' and appears_in_raw and identifier_value like '%@%') t
        left join marts.customer_identifiers m using (identifier_type, identifier_value)
        left join identity.identity_rule_hits h
          on h.rule = 'blocked_value' and h.identifier_type = t.identifier_type
         and h.identifier_value = t.identifier_value
        """
    )
    assert in_map == 0 and audited > 0


def test_every_staging_identifier_joins_to_the_map(identity_warehouse):
    """The join downstream models make: every usable identifier of every staging row finds one customer."""
    [(unmatched,)] = identity_warehouse.dbt.query(
        """
        select count(*)
        from identity.int_identity__observations o
        left join marts.customer_identifiers m
          on m.identifier_type = o.identifier_type and m.identifier_value = o.identifier_value
        where o.blocked_reason is null and m.customer_key is null
        """
    )
    assert unmatched == 0
    # anonymous_id: staging lower-cases it, so raw ids in any case find their customer.
    [(upper_devices, found)] = identity_warehouse.dbt.query(
        """
        select count(distinct r.anonymous_id), count(distinct m.identifier_value)
        from raw.events r
        left join marts.customer_identifiers m
          on m.identifier_type = 'anonymous_id' and m.identifier_value = lower(trim(r.anonymous_id))
        where r.anonymous_id <> lower(r.anonymous_id)
        """
    )
    assert upper_devices > 0 and found == upper_devices


def test_identity_explosion_fails_naming_the_identifiers(identity_warehouse, tmp_path):
    _, dbt = identity_warehouse.copy(tmp_path)  # the session's warehouse is shared by all workers
    result = dbt("test", "--select", "identity_component_size", vars={**DBT_VARS, "identity_max_component_size": 3})
    assert result.returncode != 0
    message = [line for line in result.stdout.splitlines() if "identity explosion: customer cus_" in line]
    assert message, result.stdout[-3000:]
    assert re.search(r"holds \d+ identifiers \(limit 3\): \w+:", message[0])
    assert "customer_id:" in message[0] or "email:" in message[0]
