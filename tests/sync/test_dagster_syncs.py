"""Sync assets in the Dagster graph and in `segue run`: metadata, summary, blocked syncs, dry runs."""

import re
import shutil

from typer.testing import CliRunner

from destinations.emulators import EmulatorServer, demo_env
from orchestration.cli import app
from tests.sync.conftest import API_KEY, query


def test_one_sync_asset_per_sync_model_downstream_of_it():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"destinations/klaviyo/customers", "destinations/klaviyo/loyalty_vip_list"} <= keys
    node = graph.get(
        next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "destinations/klaviyo/customers")
    )
    assert {p.to_user_string() for p in node.parent_keys} == {"syncs/sync_klaviyo__customers"}
    assert node.group_name == "syncs"


def test_segue_run_synced_every_customer_with_metadata(built_retailer):
    warehouse, outcome = built_retailer
    assert outcome.success, outcome.failed_steps
    assert "destinations/klaviyo/customers" in outcome.materialized
    runs = query(
        warehouse,
        "select sync_name, status, sent, succeeded from segue.sync_runs "
        "where dagster_run_id = ? and destination = 'klaviyo' order by 1",
        [outcome.run_id],
    )
    others = query(
        warehouse,
        "select sync_name, status from segue.sync_runs where dagster_run_id = ? and destination <> 'klaviyo'",
        [outcome.run_id],
    )
    assert {("sync_twilio__journey_sms", "succeeded"), ("sync_attentive__sms_profiles", "succeeded")} <= set(others)
    customers = query(warehouse, "select count(*) from syncs.sync_klaviyo__customers")[0][0]
    by_name = {r[0]: r[1:] for r in runs}
    assert by_name["sync_klaviyo__customers"] == ("succeeded", customers, customers)
    assert {n for n, r in by_name.items() if r[0] == "succeeded"} >= {
        "sync_klaviyo__journey_emails",
        "sync_klaviyo__loyalty_vip_list",
    }
    assert all(r[0] == "succeeded" for r in by_name.values()), by_name
    snap = query(warehouse, "select count(*) from segue.sync_snapshots where sync_name = 'sync_klaviyo__customers'")
    assert snap[0][0] == customers


def test_blocked_sync_fails_the_run_and_force_pushes_it_through(built_retailer, tmp_path, monkeypatch, dagster_home):
    import duckdb

    warehouse, _ = built_retailer
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("update segue.sync_snapshots set row_hash = 'stale' where sync_name = 'sync_klaviyo__customers'")
    con.close()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("KLAVIYO_API_KEY", API_KEY)
    select = "key:destinations/klaviyo/customers"
    args = ["run", "--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00Z", "--select", select]
    with EmulatorServer() as emulators:
        monkeypatch.setenv("KLAVIYO_BASE_URL", f"{emulators.url}/klaviyo")
        dry = CliRunner().invoke(app, [*args, "--dry-run"])
        blocked = CliRunner().invoke(app, args)
        forced = CliRunner().invoke(app, [*args, "--force", "sync_klaviyo__customers"])
        held = len(emulators.app.state.emulators["klaviyo"].profiles)
    output = " ".join(blocked.output.split())
    assert blocked.exit_code == 1, blocked.output
    assert "sync sync_klaviyo__customers blocked: plan would change 100%" in output
    assert "--force sync_klaviyo__customers" in output
    assert dry.exit_code == 1 and "dry run" in " ".join(
        dry.output.split()
    )  # a blocked plan is reported by dry runs too
    assert forced.exit_code == 0, forced.output
    assert "rows synced to klaviyo:" in " ".join(forced.output.split())
    customers = query(copy, "select count(*) from syncs.sync_klaviyo__customers")[0][0]
    assert held == customers


def test_syncs_commands(built_retailer, tmp_path, monkeypatch):
    warehouse, _ = built_retailer
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, copy)
    runner = CliRunner()
    listed = runner.invoke(app, ["syncs", "list"], terminal_width=200)
    assert listed.exit_code == 0 and "sync_klaviyo__loyalty_vip_list" in listed.output
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    invalid = runner.invoke(app, ["syncs", "validate"], terminal_width=200)
    assert invalid.exit_code == 1
    assert (
        "model sync_klaviyo__customers: destination 'klaviyo': missing credential, set KLAVIYO_API_KEY"
        in invalid.output
    )
    for name, value in demo_env("http://127.0.0.1:9").items():  # every destination's settings, as the demo sets them
        monkeypatch.setenv(name, value)
    validated = runner.invoke(app, ["syncs", "validate"])
    assert validated.exit_code == 0, validated.output
    plan = runner.invoke(
        app,
        ["syncs", "plan", "klaviyo/customers", "--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00"],
        terminal_width=200,
    )
    assert plan.exit_code == 0, plan.output
    customers = query(copy, "select count(*) from syncs.sync_klaviyo__customers")[0][0]
    assert any(line.split()[:2] == ["unchanged", f"{customers:,}"] for line in plan.output.splitlines())
    assert runner.invoke(app, ["syncs", "plan", "nope"]).exit_code == 2
    ambiguous = runner.invoke(app, ["syncs", "plan", "customers"])
    assert ambiguous.exit_code == 2 and "sync_braze__customers, sync_klaviyo__customers" in ambiguous.output


def _only_klaviyo_configured(monkeypatch):
    """Every destination's settings removed but Klaviyo's (a project that set up only Klaviyo)."""
    for name in demo_env("http://127.0.0.1:9"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KLAVIYO_API_KEY", API_KEY)


def test_validate_skips_unconfigured_destinations_only_when_asked(monkeypatch):
    _only_klaviyo_configured(monkeypatch)
    runner = CliRunner()
    refused = runner.invoke(app, ["syncs", "validate"], terminal_width=200)
    assert refused.exit_code == 1
    assert "model sync_braze__customers: destination 'braze': missing credential, set BRAZE_API_KEY" in refused.output
    monkeypatch.setenv("SEGUE_UNCONFIGURED_DESTINATIONS", "skip")
    skipped = runner.invoke(app, ["syncs", "validate"], terminal_width=200)
    assert skipped.exit_code == 0, skipped.output
    lines = skipped.output.splitlines()
    valid = next(line for line in lines if "syncs valid:" in line)
    assert "sync_klaviyo__customers" in valid and "sync_braze__customers" not in valid
    assert any(line.startswith("skipped: sync_braze__customers: destination not configured (set ") for line in lines)
    assert not any(line.startswith("skipped: sync_klaviyo__") for line in lines)
    monkeypatch.setenv("SEGUE_UNCONFIGURED_DESTINATIONS", "maybe")
    wrong = runner.invoke(app, ["syncs", "validate"], terminal_width=200)
    assert wrong.exit_code == 1 and "SEGUE_UNCONFIGURED_DESTINATIONS='maybe': expected fail or skip" in wrong.output


def test_segue_run_with_only_klaviyo_configured(built_retailer, tmp_path, monkeypatch, dagster_home):
    """Unconfigured destinations refuse their syncs by default; with skip they are reported and nothing fails."""
    warehouse, _ = built_retailer
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, copy)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    _only_klaviyo_configured(monkeypatch)
    args = ["run", "--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00Z", "--select", "group:syncs"]
    with EmulatorServer() as emulators:
        monkeypatch.setenv("KLAVIYO_BASE_URL", f"{emulators.url}/klaviyo")
        refused = CliRunner().invoke(app, args, terminal_width=200)
        monkeypatch.setenv("SEGUE_UNCONFIGURED_DESTINATIONS", "skip")
        skipped = CliRunner().invoke(app, args, terminal_width=200)
    assert refused.exit_code == 1
    assert "sync sync_braze__customers refused" in " ".join(refused.output.split())
    assert skipped.exit_code == 0, skipped.output
    output = " ".join(skipped.output.split())
    assert "skipped: sync destinations/braze/customers: destination not configured (set BRAZE_API_KEY)" in output
    assert "skipped: sync destinations/klaviyo/" not in output and "blocked:" not in output
    run_id = re.search(r"run (\S+) succeeded", output).group(1)
    runs = query(copy, "select distinct destination from segue.sync_runs where dagster_run_id = ?", [run_id])
    assert runs == [("klaviyo",)]  # a skipped sync leaves no sync run behind
