"""Each sync's `meta.sync.schedule` is a Dagster schedule running that sync and what it reads (not nightly groups)."""

from datetime import datetime

from dagster import DagsterInstance, build_schedule_context

from destinations.config import load_manifest, load_specs
from orchestration.assets.dbt import MANIFEST_PATH


def test_every_declared_schedule_is_a_dagster_schedule_targeting_its_sync():
    from orchestration.definitions import defs

    specs = [s for s in load_specs(load_manifest(MANIFEST_PATH), credentials=False) if s.schedule]
    assert specs, "the demo declares schedules on its syncs"
    names = {s.name for s in defs.schedules}
    for spec in specs:
        schedule = defs.get_schedule_def(f"{spec.name}_schedule")
        assert schedule.cron_schedule == spec.schedule and schedule.execution_timezone == "UTC"
        assert schedule.job_name == spec.name and f"{spec.name}_schedule" in names
        job = defs.resolve_job_def(spec.name)
        keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        target = f"destinations/{spec.destination}/{spec.name.split('__', 1)[1]}"
        assert target in keys and f"syncs/{spec.name}" in keys
        # the nightly groups' last build counts: a scheduled sync never rebuilds identity or profiles
        assert not any(k.startswith("marts/customer_") for k in keys), keys
        with DagsterInstance.ephemeral() as instance:
            context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 20, 12))
            assert len(schedule.evaluate_tick(context).run_requests) == 1


def test_a_sync_over_journey_actions_also_refreshes_the_journeys():
    from orchestration.definitions import defs

    def selected(job: str) -> set[str]:
        return {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.selected_asset_keys}

    keys = selected("sync_klaviyo__journey_emails")
    assert {"destinations/klaviyo/journey_emails", "syncs/sync_klaviyo__journey_emails"} <= keys
    assert "marts/journey_actions" in keys
    assert selected("sync_klaviyo__customers") == {"destinations/klaviyo/customers", "syncs/sync_klaviyo__customers"}
