"""Declarative automation of group `syncs`: a sync follows its data, never past a failed blocking check.

Evaluated with Dagster's own tester against the real definitions and an
ephemeral instance in which materializations and check results are reported
(no run, no warehouse): fast, and the same conditions the sensor evaluates.
"""

from __future__ import annotations

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DagsterInstance,
    evaluate_automation_conditions,
)

from orchestration.automation import AUTOMATION_SENSOR, SYNC_GROUP

PROFILES = AssetKey(["marts", "customer_profiles"])
ACTIONS = AssetKey(["marts", "journey_actions"])


def _requested(result) -> set[str]:
    """Assets as `a/b`, checks as `a/b:check`, that the evaluation requested."""
    out = set()
    for r in result.results:
        if r.true_subset.size:
            key = r.key
            name = key.to_user_string() if isinstance(key, AssetKey) else f"{key.asset_key.to_user_string()}:{key.name}"
            out.add(name)
    return out


def _updated(instance, graph, key, checks_pass=True):
    instance.report_runless_asset_event(AssetMaterialization(key))
    for check in graph.get(key).check_keys:
        instance.report_runless_asset_event(
            AssetCheckEvaluation(asset_key=key, check_name=check.name, passed=checks_pass)
        )


def test_syncs_follow_their_data_and_stop_at_a_failed_blocking_check():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    sensor = defs.resolve_sensor_def(AUTOMATION_SENSOR)
    syncs = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == SYNC_GROUP]
    assert syncs and all(graph.get(k).automation_condition is not None for k in syncs)
    assert sensor.asset_selection.resolve(graph) == set(syncs)
    # Only group syncs is automated: journeys and the rest keep their schedules.
    assert all(graph.get(k).automation_condition is None for k in graph.get_all_asset_keys() if k not in syncs)

    selection = AssetSelection.groups(SYNC_GROUP)
    with DagsterInstance.ephemeral() as instance:
        # Everything built once (as after `segue run`): nothing to do.
        for key in {PROFILES, ACTIONS, *syncs}:
            _updated(instance, graph, key)
        result = evaluate_automation_conditions(defs, instance, asset_selection=selection)
        assert result.total_requested == 0, _requested(result)

        # The nightly build refreshed the profiles: their two syncs follow at once, with their suites;
        # the journey-email sync, which reads journey_actions, does not.
        _updated(instance, graph, PROFILES)
        result = evaluate_automation_conditions(defs, instance, asset_selection=selection, cursor=result.cursor)
        requested = _requested(result)
        assert {
            "syncs/sync_klaviyo__customers",
            "syncs/sync_klaviyo__customers:gx_suite",
            "destinations/klaviyo/customers",
            "syncs/sync_klaviyo__loyalty_vip_list",
            "syncs/sync_klaviyo__loyalty_vip_list:gx_suite",
            "destinations/klaviyo/loyalty_vip_list",
        } <= requested
        assert not [k for k in requested if "journey_emails" in k]

        # journey_actions was rebuilt but its blocking suite failed: its sync stays put.
        _updated(instance, graph, ACTIONS, checks_pass=False)
        result = evaluate_automation_conditions(defs, instance, asset_selection=selection, cursor=result.cursor)
        assert not [k for k in _requested(result) if "journey_emails" in k], _requested(result)

        # Rebuilt and passing: now it goes.
        _updated(instance, graph, ACTIONS)
        result = evaluate_automation_conditions(defs, instance, asset_selection=selection, cursor=result.cursor)
        assert {"syncs/sync_klaviyo__journey_emails", "destinations/klaviyo/journey_emails"} <= _requested(result)
