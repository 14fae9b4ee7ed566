"""Schedules by group, the raw-arrivals sensor and the alert channel, evaluated with Dagster's context builders."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import duckdb
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
)

from orchestration import alerts
from orchestration.automation import quality_and_automation, raw_arrivals_sensor
from orchestration.definitions import defs as real_defs
from tests.conftest import copy_warehouse


def _layered_graph():
    @asset(key=AssetKey(["staging", "stg_x"]), group_name="staging")
    def stg_x(): ...

    @asset(key=AssetKey(["marts", "customer_identifiers"]), group_name="identity", deps=[stg_x])
    def customer_identifiers(): ...

    @asset(key=AssetKey(["marts", "customer_profiles"]), group_name="profiles", deps=[customer_identifiers])
    def customer_profiles(): ...

    @asset(key=AssetKey(["marts", "journey_actions"]), group_name="journeys", deps=[customer_profiles, stg_x])
    def journey_actions(): ...

    @asset(key=AssetKey(["syncs", "sync_klaviyo__emails"]), group_name="syncs", deps=[journey_actions])
    def sync_klaviyo__emails(): ...

    assets = [stg_x, customer_identifiers, customer_profiles, journey_actions, sync_klaviyo__emails]
    # The raw-arrivals sensor starts segue_build, which the real definitions always have.
    return Definitions(assets=assets, jobs=[define_asset_job("segue_build", AssetSelection.all())])


def test_hourly_and_nightly_schedules_select_by_group_and_request_runs():
    base = _layered_graph()
    merged = Definitions.merge(base, quality_and_automation(base))
    graph = merged.resolve_asset_graph()
    hourly = merged.resolve_job_def("segue_hourly")
    nightly = merged.resolve_job_def("segue_nightly")
    hourly_keys = {k.to_user_string() for k in hourly.asset_layer.selected_asset_keys}
    nightly_keys = {k.to_user_string() for k in nightly.asset_layer.selected_asset_keys}
    assert hourly_keys == {"staging/stg_x", "marts/journey_actions", "syncs/sync_klaviyo__emails"}
    assert nightly_keys == {"staging/stg_x", "marts/customer_identifiers", "marts/customer_profiles"}
    assert graph is not None

    for name, cron in (("segue_hourly_schedule", "5 * * * *"), ("segue_nightly_schedule", "0 2 * * *")):
        schedule = merged.get_schedule_def(name)
        assert schedule.cron_schedule == cron and schedule.execution_timezone == "UTC"
        with DagsterInstance.ephemeral() as instance:
            context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 20, 2))
            data = schedule.evaluate_tick(context)
        assert len(data.run_requests) == 1


def test_schedules_wait_for_their_groups_in_the_real_project():
    graph = real_defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    names = {s.name for s in real_defs.schedules}
    assert ("segue_hourly_schedule" in names) == bool(groups & {"journeys", "syncs"})
    assert ("segue_nightly_schedule" in names) == bool(groups & {"identity", "profiles", "segments"})
    sensors = {s.name for s in real_defs.sensors}
    assert {"raw_arrivals_sensor", "segue_run_failure_alert", "segue_sync_blocked_alert"} <= sensors


def test_raw_arrivals_sensor_starts_a_run_only_when_raw_rows_change(small_retailer, tmp_path, monkeypatch):
    warehouse = copy_warehouse(small_retailer, tmp_path)
    monkeypatch.setenv("SEGUE_WAREHOUSE", str(warehouse))
    with DagsterInstance.ephemeral() as instance:
        first = raw_arrivals_sensor(build_sensor_context(instance=instance))
        assert isinstance(first, SkipReason) and "first look" in first.skip_message
        context = build_sensor_context(instance=instance, cursor=None)
        raw_arrivals_sensor(context)
        cursor = context.cursor
        counts = json.loads(cursor)
        assert counts["customers"] > 0 and "orders" in counts

        unchanged = raw_arrivals_sensor(build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(unchanged, SkipReason) and "no new raw rows" in unchanged.skip_message

        con = duckdb.connect(str(warehouse))
        try:
            con.execute("insert into raw.orders select * from raw.orders limit 3")
        finally:
            con.close()
        context = build_sensor_context(instance=instance, cursor=cursor)
        request = raw_arrivals_sensor(context)
        assert isinstance(request, RunRequest)
        assert "orders:" in request.tags["segue/raw_changed"]
        assert json.loads(context.cursor)["orders"] == counts["orders"] + 3

        # While the warehouse is locked by a writer (a build), the sensor waits instead of failing.
        writer = duckdb.connect(str(warehouse))
        try:
            busy = raw_arrivals_sensor(build_sensor_context(instance=instance, cursor=cursor))
        finally:
            writer.close()
        assert isinstance(busy, SkipReason) and "busy" in busy.skip_message


def test_alert_goes_to_the_log_without_a_webhook(monkeypatch, caplog):
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)

    class Run:
        job_name, run_id, tags = "segue_build", "r-1", {"segue/entrypoint": "segue run"}

    payload = alerts.build_payload("run_failed", Run(), "step failed", [], [])
    with caplog.at_level(logging.ERROR, logger="segue.alerts"):
        assert alerts.send(payload) == "log"
    assert "run_failed: job segue_build run r-1: step failed" in caplog.text


def test_alert_goes_to_the_webhook_and_survives_a_dead_one(webhook_receiver, monkeypatch, caplog):
    class Run:
        job_name, run_id, tags = "segue_build", "r-2", {}

    payload = alerts.build_payload("sync_blocked", Run(), "checks failed", [{"asset": "a", "check": "c"}], ["s"])
    where = alerts.send(payload)
    assert where.startswith("webhook 127.0.0.1:")
    (got,) = webhook_receiver.received
    assert got["json"]["kind"] == "sync_blocked" and got["json"]["blocked_assets"] == ["s"]
    assert got["headers"]["Content-Type"] == "application/json"

    monkeypatch.setenv(alerts.WEBHOOK_ENV, "http://127.0.0.1:9/never?token=zzz")
    with caplog.at_level(logging.ERROR, logger="segue.alerts"):
        assert alerts.send(payload) == "log"
    assert "zzz" not in caplog.text and "checks failed" in caplog.text
