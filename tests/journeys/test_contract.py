"""CONTRACT §4 on generated retailers: zero violations, a 10% holdout, checks that can fail."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from tests.journeys.checks import HOLDOUT_SHARE, contract_violations, query, stable_fraction
from tests.journeys.conftest import AS_OF, SEEDS


def test_builds_pass_with_the_journey_unit_tests(journey_builds):
    """Each seed's build succeeds, and it ran (and passed) the dbt unit tests of every journey rule."""
    for built in journey_builds.values():
        built.build.check()
        results = json.loads((built.dbt.work_dir / "target" / "run_results.json").read_text())["results"]
        unit = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
        journey_unit = {name: status for name, status in unit.items() if name.startswith("journey_")}
        assert len(journey_unit) >= 11, sorted(unit)
        assert set(journey_unit.values()) == {"pass"}, journey_unit
        for rule in ("consent", "frequency_cap", "one_journey", "holdout", "quiet_hours", "exits"):
            assert any(rule in name for name in journey_unit), rule


@pytest.mark.parametrize("seed", SEEDS)
def test_zero_contract_violations(journey_builds, seed):
    built = journey_builds[seed]
    built.build.check()
    assert contract_violations(built.warehouse, AS_OF) == {}
    decisions = dict(query(built.warehouse, "select decision, count(*) from marts.journey_actions group by 1"))
    assert decisions.get("send", 0) > 20 and decisions.get("holdout", 0) > 20 and decisions.get("suppressed", 0) > 20
    journeys = {j for (j,) in query(built.warehouse, "select distinct journey from marts.journey_actions")}
    assert {"cart_abandonment", "browse_abandonment", "welcome", "cross_sell", "replenishment"} <= journeys


def test_holdout_share_is_ten_percent(journey_builds):
    """Entrants are (journey, customer) pairs across all seeds: 10% ± 2 points held out."""
    entrants = held = 0
    for built in journey_builds.values():
        rows = query(
            built.warehouse,
            "select journey, customer_key, bool_or(decision = 'holdout') from marts.journey_actions group by 1, 2",
        )
        entrants += len(rows)
        held += sum(1 for _, _, is_held in rows if is_held)
        assert all((stable_fraction(j, k) < HOLDOUT_SHARE) == is_held for j, k, is_held in rows)
    assert entrants >= 5_000, entrants
    assert abs(held / entrants - HOLDOUT_SHARE) <= 0.02, (held, entrants)


def test_segments_are_populated(journey_builds):
    built = journey_builds[SEEDS[0]]
    counts = dict(query(built.warehouse, "select segment, count(*) from marts.segment_memberships group by 1"))
    assert set(counts) == {
        "vip",
        "at_risk_high_value",
        "lapsed",
        "new_customers",
        "loyalty_without_account",
        "email_engaged",
        "sms_reachable",
    }, counts
    performance = query(
        built.warehouse, "select count(*), sum(treated_entrants + holdout_entrants) from marts.journey_performance"
    )
    assert performance[0][0] >= 5 and performance[0][1] > 100


def test_checks_catch_violations(journey_builds, tmp_path):
    """Break each rule in a copy of a built warehouse: the matching check must say so."""
    built = journey_builds[SEEDS[0]]
    warehouse = tmp_path / "broken.duckdb"
    shutil.copyfile(built.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        sends = "decision = 'send', suppression_reason = null"
        # consent: a no_consent email row sent anyway
        con.execute(f"""update marts.journey_actions set {sends} where action_id = (
            select min(action_id) from marts.journey_actions
            where suppression_reason = 'no_consent' and channel = 'email' and to_address is not null)""")
        # holdout: a held-out entrant sent
        con.execute(f"""update marts.journey_actions set {sends} where action_id = (
            select min(action_id) from marts.journey_actions where decision = 'holdout')""")
        # exit: a cart reminder after the purchase
        con.execute(f"""update marts.journey_actions set {sends} where action_id = (
            select min(action_id) from marts.journey_actions
            where journey = 'cart_abandonment' and suppression_reason = 'exited')""")
        # quiet hours: a send at 23:00 London time
        con.execute("""update marts.journey_actions set scheduled_for = timestamp '2026-11-20 23:00:00',
            timezone = 'Europe/London' where action_id = (
            select min(action_id) from marts.journey_actions where decision = 'send' and channel = 'email')""")
        # cap and priority: three more email sends for one customer
        con.execute("""insert into marts.journey_actions by name
            select a.* replace (a.action_id || '-copy-' || copies.n as action_id)
            from marts.journey_actions as a, range(3) as copies(n)
            where a.action_id = (select max(action_id) from marts.journey_actions
                                 where decision = 'send' and channel = 'email')""")
    finally:
        con.close()
    found = contract_violations(warehouse, AS_OF)
    for rule in ("§4.1", "§4.2", "§4.3 one journey", "§4.4", "§4.5 exit: no cart", "§4.6"):
        assert any(name.startswith(rule) for name in found), (rule, sorted(found))
