"""A broken model's blocking suite stops the sync downstream, raises an alert, and a fix lets the next run through.

The graph: the real `expectations/stg_shop__customers.yml` suite, built into a
check by the same code as production (blocking because an asset of group
`syncs` is downstream), on a stand-in for the model that rewrites
staging.stg_shop__customers in a copy of the built warehouse (clean, with
duplicate keys, or with 90% of its rows gone), and a sync asset that must
not run while the check fails.
"""

from __future__ import annotations

import duckdb
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    MaterializeResult,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
)

from orchestration.assets.quality import CHECK_NAME, build_quality_checks
from orchestration.automation import run_failure_alert, sync_blocked_alert
from orchestration.quality.suites import EXPECTATIONS_DIR, load_suite
from tests.conftest import AS_OF

MODEL = AssetKey(["staging", "stg_shop__customers"])
SYNC = AssetKey(["syncs", "sync_test__customers_audience"])


def _graph(mode: dict):
    @asset(key=MODEL, group_name="staging")
    def stand_in_model(context) -> MaterializeResult:
        from orchestration import settings

        con = duckdb.connect(settings.warehouse_path())
        try:
            con.execute("create or replace table staging.stg_shop__customers as select * from quality_test.customers")
            if mode["data"] == "duplicate_keys":
                con.execute(
                    "insert into staging.stg_shop__customers select * from quality_test.customers "
                    "order by customer_id limit 7"
                )
            elif mode["data"] == "drop_90_percent":
                con.execute("delete from staging.stg_shop__customers where hash(customer_id) % 10 <> 0")
        finally:
            con.close()
        return MaterializeResult()

    @asset(key=SYNC, group_name="syncs", deps=[MODEL])
    def sync_audience(context) -> MaterializeResult:
        mode["synced"] += 1
        return MaterializeResult(metadata={"sent": 1})

    base = Definitions(assets=[stand_in_model, sync_audience])
    suite = load_suite(EXPECTATIONS_DIR / "stg_shop__customers.yml")
    checks = build_quality_checks(base, suites={"stg_shop__customers": suite})
    job = define_asset_job("quality_test_job", AssetSelection.all())
    return Definitions(assets=[stand_in_model, sync_audience], asset_checks=checks, jobs=[job]), checks


@pytest.fixture()
def broken_env(built_copy, monkeypatch, tmp_path):
    con = duckdb.connect(str(built_copy))
    try:
        con.execute("create schema quality_test")
        con.execute("create table quality_test.customers as select * from staging.stg_shop__customers")
        (kind,) = con.execute(
            "select table_type from information_schema.tables "
            "where table_schema = 'staging' and table_name = 'stg_shop__customers'"
        ).fetchone()
        con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} staging.stg_shop__customers")
    finally:
        con.close()
    monkeypatch.setenv("SEGUE_WAREHOUSE", str(built_copy))
    monkeypatch.setenv("SEGUE_AS_OF", AS_OF.isoformat())
    monkeypatch.setenv("SEGUE_GX_DATA_DOCS_DIR", str(tmp_path / "docs"))
    return built_copy


def _run(defs, instance):
    job = defs.resolve_job_def("quality_test_job")
    return job.execute_in_process(instance=instance, raise_on_error=False)


def _check_result(result):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    return evaluation


def _alert(result, instance):
    """Evaluate the alert sensor that matches how the run ended, as the daemon would."""
    run = instance.get_run_by_id(result.run_id)
    if run.status == DagsterRunStatus.FAILURE:
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        sensor = run_failure_alert
    else:
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_SUCCESS")
        sensor = sync_blocked_alert
    context = build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=event, dagster_instance=instance, dagster_run=run
    )
    return sensor(context)


def test_broken_model_blocks_sync_and_alerts_then_fix_lets_it_through(broken_env, webhook_receiver, tmp_path):
    mode = {"data": "clean", "synced": 0}
    defs, checks = _graph(mode)
    (check,) = checks
    assert check.check_specs and next(iter(check.check_specs)).blocking, "a sync's input must be blocking"

    with DagsterInstance.ephemeral() as instance:
        # 1. Clean data: the suite passes, the sync runs; the row count becomes the baseline.
        first = _run(defs, instance)
        assert _check_result(first).passed, _check_result(first).metadata
        assert mode["synced"] == 1
        baseline = _check_result(first).metadata["row_count"].value
        assert baseline > 100
        assert _check_result(first).metadata["data_docs"].value.startswith("file://")
        assert (tmp_path / "docs" / "index.html").exists()
        _alert(first, instance)
        assert webhook_receiver.received == [], "a clean run alerts nobody"

        # 2. Duplicate keys: the check fails, the sync does not run, an alert goes out.
        mode["data"] = "duplicate_keys"
        second = _run(defs, instance)
        evaluation = _check_result(second)
        assert not evaluation.passed
        assert "expect_column_values_to_be_unique(customer_id)" in evaluation.metadata["failed_expectations"].value
        assert mode["synced"] == 1, "the sync ran although its input failed its suite"
        assert SYNC not in {m.asset_key for m in second.get_asset_materialization_events()}
        _alert(second, instance)
        assert len(webhook_receiver.received) == 1
        payload = webhook_receiver.received[0]["json"]
        assert payload["run_id"] == second.run_id
        assert payload["failed_checks"][0]["asset"] == "staging/stg_shop__customers"
        assert payload["failed_checks"][0]["check"] == CHECK_NAME
        assert "s3cret" not in str(payload), "the webhook's token must not travel in the payload"

        # 3. A 90% drop in rows against the last passing run: blocked again.
        mode["data"] = "drop_90_percent"
        third = _run(defs, instance)
        evaluation = _check_result(third)
        assert not evaluation.passed
        assert evaluation.metadata["failed_expectations"].value == "row_count_change"
        assert evaluation.metadata["previous_row_count"].value == baseline
        assert mode["synced"] == 1
        _alert(third, instance)
        assert len(webhook_receiver.received) == 2

        # 4. Fixed: the next run goes through and the sync runs again.
        mode["data"] = "clean"
        fourth = _run(defs, instance)
        assert _check_result(fourth).passed
        assert mode["synced"] == 2
        assert SYNC in {m.asset_key for m in fourth.get_asset_materialization_events()}
        _alert(fourth, instance)
        assert len(webhook_receiver.received) == 2
