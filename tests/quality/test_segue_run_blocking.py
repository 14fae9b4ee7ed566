"""`segue run` (a real Dagster run): broken data blocks the sync downstream, alerts, exits 1; a fix lets it through.

On a copy of the session's built warehouse, `marts.journey_actions` is broken
while one new, legitimate email action waits to go out. The full cycle runs
`segue run` twice, selecting only the Klaviyo journey-email sync and its model
(`1+key:destinations/klaviyo/journey_emails`): dbt rebuilds the sync view over
the broken table and the view's blocking checks (dbt tests; the GX suite with
the consent invariant and the row-count bound) run before the sync. Broken (a
send to an opted-out address): exit 1 naming the blocked sync, an alert on a
local webhook, no sync run recorded, nothing at the emulator. Fixed: exit 0 and
the waiting action delivered. Duplicate keys and a 90% drop fail the same
blocking suite, checked without a run (a `segue run` costs a dbt parse; the
Dagster blocking itself is proven for them by test_blocking.py).
"""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import AS_OF, copy_warehouse

SYNC = "destinations/klaviyo/journey_emails"
SELECT = f"1+key:{SYNC}"
NEW_ACTION = "quality-test-new-action"


def _sql(warehouse, *statements, params=None):
    con = duckdb.connect(str(warehouse))
    try:
        for statement in statements:
            con.execute(statement, params or [])
        return con
    except Exception:
        con.close()
        raise


def _query(warehouse, sql, params=None):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture()
def run_env(built_retailer, tmp_path, monkeypatch, webhook_receiver):
    """A private copy of the built warehouse, its own Dagster instance, the emulators, and the alert receiver."""
    from destinations.emulators import EmulatorServer

    warehouse, _ = built_retailer
    copy = copy_warehouse(warehouse, tmp_path, "blocking.duckdb")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SEGUE_GX_DATA_DOCS", "0")
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)
    # Keep a pristine journey_actions, and one new email action (a delivered one's twin, due now) that
    # the sync would send: it must wait while the data is broken and go out once fixed.
    con = _sql(
        copy,
        "create schema quality_test",
        "create table quality_test.journey_actions as select * from marts.journey_actions",
        f"""insert into marts.journey_actions
            select * replace ('{NEW_ACTION}' as action_id) from marts.journey_actions
            where decision = 'send' and channel = 'email' and destination = 'klaviyo'
              and action_id in (select action_id from segue.action_deliveries where status = 'delivered')
            order by action_id limit 1""",
    )
    con.close()
    assert _query(copy, "select count(*) from marts.journey_actions where action_id = ?", [NEW_ACTION]) == [(1,)]
    with EmulatorServer() as emulators:
        monkeypatch.setenv("KLAVIYO_BASE_URL", f"{emulators.url}/klaviyo")
        monkeypatch.setenv("KLAVIYO_API_KEY", "pk_test_emulator")
        yield copy, emulators, webhook_receiver


def _segue_run(warehouse):
    result = CliRunner().invoke(
        app, ["run", "--warehouse", str(warehouse), "--as-of", AS_OF.isoformat(), "--select", SELECT]
    )
    return result, " ".join(result.output.split())


def _run_id(output) -> str:
    return output.rsplit("run ", 1)[-1].split()[0]


def _sensor_skips(run_id) -> bool:
    """The alert sensor matching how the run ended skips it: `segue run` sent the alert itself."""
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, SkipReason, build_run_status_sensor_context

    from orchestration.automation import run_failure_alert, sync_blocked_alert

    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        failed = run.status == DagsterRunStatus.FAILURE
        kind = DagsterEventType.RUN_FAILURE if failed else DagsterEventType.RUN_SUCCESS
        (record,) = instance.get_records_for_run(run_id, of_type=kind).records
        sensor = run_failure_alert if failed else sync_blocked_alert
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
        )
        return isinstance(sensor(context), SkipReason)


def _sync_ran(warehouse, output) -> bool:
    """Whether the journey-email sync recorded a run for the Dagster run `segue run` just printed."""
    run_id = _run_id(output)
    rows = _query(
        warehouse,
        "select count(*) from segue.sync_runs where sync_name = 'sync_klaviyo__journey_emails' and dagster_run_id = ?",
        [run_id],
    )
    return rows[0][0] == 1


def _delivered(emulators) -> list[str]:
    import requests

    state = requests.get(f"{emulators.url}/klaviyo/__emulator__/state", timeout=10).json()
    return [m["action_id"] for m in state["messages"]]


def _opted_out_email(warehouse) -> str:
    (row,) = _query(
        warehouse,
        """
        with events as (
            select identifier_value, recorded_at as event_at, is_opted_in from staging.stg_consent__consents
            where channel = 'email'
            union all
            select identifier_value, occurred_at, false from staging.stg_esp__message_events
            where channel = 'email' and event_name in ('unsubscribed', 'bounced', 'complained')
        )
        select identifier_value from events where event_at <= ?
        qualify row_number() over (partition by identifier_value order by event_at desc, is_opted_in) = 1
            and not is_opted_in
        order by identifier_value limit 1
        """,
        [AS_OF],
    )
    return row[0]


SEND_ROWS = "decision = 'send' and channel = 'email' and destination = 'klaviyo'"
SYNC_MODEL = "sync_klaviyo__journey_emails"


def test_consent_violation_blocks_the_sync_alerts_and_exits_1_then_the_fix_lets_it_through(run_env):
    warehouse, emulators, receiver = run_env
    before = _delivered(emulators)
    assert NEW_ACTION not in before

    # Break: the waiting action's twin, addressed to someone whose latest consent event is an opt-out.
    _sql(
        warehouse,
        f"""insert into marts.journey_actions
            select * replace ('quality-test-no-consent' as action_id, '{_opted_out_email(warehouse)}' as to_address)
            from marts.journey_actions where action_id = '{NEW_ACTION}'""",
    ).close()
    result, output = _segue_run(warehouse)

    assert result.exit_code == 1, output
    assert f"blocked: sync {SYNC} did not run" in output
    assert f"syncs/{SYNC_MODEL} :: gx_suite" in output and "send_without_consent" in output, output
    assert not _sync_ran(warehouse, output), "the sync ran although its data is broken"
    assert _delivered(emulators) == before, "something was sent while the data was broken"
    (alert,) = [r["json"] for r in receiver.received]
    assert alert["source"] == "segue" and alert["kind"] == "sync_blocked"
    assert alert["blocked_syncs"] == [SYNC]
    assert SYNC in alert["message"]
    (failed,) = alert["failed_checks"]
    assert failed["asset"] == f"syncs/{SYNC_MODEL}" and failed["check"] == "gx_suite"
    assert "send_without_consent" in failed["description"]
    assert "s3cret" not in str(alert), "the webhook's token must not travel in the payload"
    assert _sensor_skips(_run_id(output)), "under the daemon the alert sensors would alert a second time"

    # The fix: journey_actions as built, plus the action that has been waiting.
    _sql(
        warehouse,
        f"delete from marts.journey_actions where action_id <> '{NEW_ACTION}'",
        "insert into marts.journey_actions select * from quality_test.journey_actions",
    ).close()
    result, output = _segue_run(warehouse)

    assert result.exit_code == 0, output
    assert "blocked" not in output
    assert _sync_ran(warehouse, output)
    assert _delivered(emulators) == [*before, NEW_ACTION], "the waiting action did not go out after the fix"
    assert len(receiver.received) == 1, "a clean run alerts nobody"


@pytest.mark.parametrize("breakage", ["duplicate_keys", "drop_90_percent"])
def test_duplicate_keys_and_a_90_percent_drop_fail_the_blocking_sync_suite(built_copy, breakage):
    from orchestration.definitions import defs
    from orchestration.quality.suites import EXPECTATIONS_DIR, load_suite
    from orchestration.quality.validate import run_suite

    graph = defs.resolve_asset_graph()
    (spec,) = [s for c in defs.asset_checks for s in c.check_specs if s.asset_key.path == ["syncs", SYNC_MODEL]]
    assert spec.blocking and graph.get(spec.asset_key).group_name == "syncs"
    suite = load_suite(EXPECTATIONS_DIR / f"{SYNC_MODEL}.yml")
    (rows,) = _query(built_copy, f"select count(*) from syncs.{SYNC_MODEL}")[0]
    assert rows >= 10, "the sample needs a few email sends for a 90% drop to mean something"
    clean = run_suite(suite, built_copy, "syncs", previous_row_count=rows, as_of=AS_OF)
    assert clean.passed, clean.failures

    if breakage == "duplicate_keys":
        statement = (
            f"insert into marts.journey_actions select * from marts.journey_actions where {SEND_ROWS} "
            "order by action_id limit 2"
        )
        expected = ["expect_column_values_to_be_unique(action_id)"]
    else:
        statement = (
            f"delete from marts.journey_actions where {SEND_ROWS} "
            f"and action_id not in (select action_id from syncs.{SYNC_MODEL} order by action_id "
            f"limit {max(rows // 10 - 1, 0)})"
        )
        expected = ["row_count_change"]
    _sql(built_copy, statement).close()
    broken = run_suite(suite, built_copy, "syncs", previous_row_count=rows, as_of=AS_OF)
    assert broken.failures == expected
