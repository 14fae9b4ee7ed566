"""A journey's asset shows its send/holdout/suppressed counts by reason, run after run."""

from __future__ import annotations

import duckdb
from dagster import AssetKey, DagsterInstance

from orchestration.assets.journey_metadata import declared_journeys, journey_metadata

ACTIONS = AssetKey(["marts", "journey_actions"])


def _values(metadata: dict) -> dict:
    return {k: v.value for k, v in metadata.items() if k != "actions_by_reason"}


def test_counts_by_journey_decision_and_reason(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts")
    con.execute(
        """create table marts.journey_actions as select * from (values
            ('welcome', 'send', null), ('welcome', 'send', null), ('welcome', 'holdout', 'holdout'),
            ('welcome', 'suppressed', 'no_consent'), ('welcome', 'suppressed', 'no_consent'),
            ('welcome', 'suppressed', 'frequency_cap'), ('win_back', 'suppressed', 'no_consent')
        ) as t(journey, decision, suppression_reason)"""
    )
    con.close()
    welcome = AssetKey(["journeys", "journey_welcome"])
    cart = AssetKey(["journeys", "journey_cart_abandonment"])
    performance = AssetKey(["marts", "journey_performance"])

    out = journey_metadata(warehouse, [ACTIONS, welcome, cart, performance, None])

    assert set(out) == {ACTIONS, welcome, cart}, "journey_performance is not a journey"
    assert _values(out[welcome]) == {
        "send": 2,
        "holdout": 1,
        "suppressed": 3,
        "suppressed/no_consent": 2,
        "suppressed/frequency_cap": 1,
    }
    # A declared journey without actions this run still gets its points (zeros).
    assert _values(out[cart]) == {"send": 0, "holdout": 0, "suppressed": 0}
    actions = _values(out[ACTIONS])
    assert actions["welcome/send"] == 2 and actions["welcome/suppressed/no_consent"] == 2
    assert actions["win_back/suppressed"] == 1 and actions["win_back/suppressed/no_consent"] == 1
    assert actions["cart_abandonment/send"] == 0
    assert len(out[ACTIONS]["actions_by_reason"].value.records) == 5
    # No journey_actions in the run: the journey models get nothing (the table would be stale).
    assert journey_metadata(warehouse, [welcome, cart]) == {}


def test_build_materializations_carry_the_counts(built_retailer, dagster_home):
    warehouse, _ = built_retailer
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        by_journey = dict(
            con.execute(
                "select journey, count(*) filter (where decision = 'send') from marts.journey_actions group by 1"
            ).fetchall()
        )
        reasons = dict(
            con.execute(
                "select suppression_reason, count(*) from marts.journey_actions "
                "where journey = 'cart_abandonment' and decision = 'suppressed' group by 1"
            ).fetchall()
        )
        total = con.execute("select count(*) from marts.journey_actions").fetchone()[0]
    finally:
        con.close()
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        actions = instance.get_latest_materialization_event(ACTIONS).asset_materialization.metadata
        cart = instance.get_latest_materialization_event(
            AssetKey(["journeys", "journey_cart_abandonment"])
        ).asset_materialization.metadata
    journeys = declared_journeys()
    assert len(journeys) >= 8
    decisions = sum(actions[f"{j}/{d}"].value for j in journeys for d in ("send", "holdout", "suppressed"))
    assert decisions == total == actions["dagster/row_count"].value
    for journey in journeys:
        assert actions[f"{journey}/send"].value == by_journey.get(journey, 0), journey
    assert cart["send"].value == by_journey.get("cart_abandonment", 0)
    assert {k.split("/", 1)[1]: v.value for k, v in cart.items() if k.startswith("suppressed/")} == reasons
