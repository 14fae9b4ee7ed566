"""`segue run` materializes the graph in-process through Dagster on a generated retailer."""

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app


def test_run_builds_staging_and_checks(built_retailer):
    warehouse, outcome = built_retailer
    assert outcome.success, outcome.failed_steps
    assert not outcome.failed_steps
    assert any(name.endswith("stg_shop__customers") for name in outcome.materialized)
    assert outcome.checks, "dbt tests should arrive as asset checks"
    assert not [c for c in outcome.failed_checks if c.severity == "ERROR"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        assert {"raw", "truth", "staging", "reference"} <= schemas
        assert "main_staging" not in schemas
        assert con.execute("select count(*) from staging.stg_shop__customers").fetchone()[0] > 0
        assert con.execute("select count(*) from staging.stg_quarantined_rows").fetchone()[0] > 0
        # raw is never written by the build
        assert con.execute("select count(*) from raw.customers").fetchone()[0] > 0
    finally:
        con.close()


def test_run_summary_and_dagster_run_recorded(built_retailer, dagster_home):
    _warehouse, outcome = built_retailer
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        record = instance.get_run_by_id(outcome.run_id)
    assert record is not None and record.job_name == "segue_build"
    assert record.tags.get("segue/entrypoint") == "segue run"


def test_cli_run_with_select_prints_summary(built_retailer, tmp_path, monkeypatch, dagster_home):
    import shutil

    warehouse, _ = built_retailer
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, copy)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)
    result = CliRunner().invoke(
        app,
        [
            "run",
            *("--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00Z"),
            *("--select", "key:staging/stg_catalog__stores"),
        ],
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps at the terminal width
    assert "stg_catalog__stores" in output
    assert "succeeded" in output
    assert "1 assets materialized" in output


def test_materializations_carry_row_counts(built_retailer, dagster_home):
    """Row counts are read after dbt exits (DuckDB allows one writer) and match the tables."""
    warehouse, _outcome = built_retailer
    from dagster import AssetKey, DagsterInstance

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        expected = con.execute("select count(*) from staging.stg_shop__orders").fetchone()[0]
    finally:
        con.close()
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        event = instance.get_latest_materialization_event(AssetKey(["staging", "stg_shop__orders"]))
    assert event is not None
    assert event.asset_materialization.metadata["dagster/row_count"].value == expected


def test_incremental_staging_setting_stages_only_new_events(built_retailer, tmp_path, monkeypatch, dagster_home):
    """SEGUE_STAGING_INCREMENTAL=on reaches dbt: a run stages the appended event and leaves staged rows alone;
    turned off again, the next run rebuilds the table from raw."""
    import shutil

    warehouse, _ = built_retailer
    copy = tmp_path / "incremental.duckdb"
    shutil.copyfile(warehouse, copy)
    new_id = "a0000000-0000-4000-8000-000000000001"
    con = duckdb.connect(str(copy))
    try:
        staged_before = con.execute("select count(*) from staging.stg_segment__events").fetchone()[0]
        marked = con.execute("select min(event_id) from staging.stg_segment__events").fetchone()[0]
        # A mark only a run that keeps the staged rows can keep.
        con.execute("update staging.stg_segment__events set product_id = 'marked-by-test' where event_id = ?", [marked])
        con.execute(
            "insert into raw.events select ? as event_id, * exclude (event_id) from raw.events"
            " where event_id = (select min(event_id) from raw.events where event = 'Product Viewed')",
            [new_id],
        )
    finally:
        con.close()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)

    def run_staging(setting: str) -> tuple[int, int, str]:
        monkeypatch.setenv("SEGUE_STAGING_INCREMENTAL", setting)
        result = CliRunner().invoke(
            app,
            [
                "run",
                *("--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00Z"),
                *("--select", "key:staging/stg_segment__events"),
            ],
        )
        assert result.exit_code == 0, result.output
        con = duckdb.connect(str(copy), read_only=True)
        try:
            return con.execute(
                "select count(*), count(*) filter (where event_id = ?),"
                " max(product_id) filter (where event_id = ?) from staging.stg_segment__events",
                [new_id, marked],
            ).fetchone()
        finally:
            con.close()

    assert run_staging("on") == (staged_before + 1, 1, "marked-by-test")
    rebuilt = run_staging("off")
    assert rebuilt[:2] == (staged_before + 1, 1)
    assert rebuilt[2] != "marked-by-test"


def test_incremental_identity_setting_keeps_what_did_not_change(built_retailer, tmp_path, monkeypatch, dagster_home):
    """SEGUE_IDENTITY_INCREMENTAL=on reaches dbt: with nothing new, a run keeps every resolved row;
    turned off again, the next run resolves everything from scratch."""
    import shutil

    warehouse, _ = built_retailer
    copy = tmp_path / "resolution.duckdb"  # not identity.duckdb: a catalog named like a schema
    shutil.copyfile(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        marked = con.execute("select min(node_id) from identity.int_identity__components").fetchone()[0]
        # A mark only a run that keeps the resolved rows can keep.
        con.execute("update identity.int_identity__components set observation_count = -7 where node_id = ?", [marked])
    finally:
        con.close()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)

    def run_identity(setting: str) -> tuple[int, int]:
        monkeypatch.setenv("SEGUE_IDENTITY_INCREMENTAL", setting)
        result = CliRunner().invoke(
            app,
            [
                "run",
                *("--warehouse", str(copy), "--as-of", "2026-11-20T12:00:00Z"),
                *("--select", "key:identity/int_identity__graph_changes+ and group:identity"),
            ],
        )
        assert result.exit_code == 0, result.output
        con = duckdb.connect(str(copy), read_only=True)
        try:
            return con.execute(
                "select max(observation_count) filter (where node_id = ?),"
                " (select count(*) filter (where is_affected) from identity.int_identity__graph_changes)"
                " from identity.int_identity__components",
                [marked],
            ).fetchone()
        finally:
            con.close()

    assert run_identity("on") == (-7, 0)
    observation_count, affected = run_identity("off")
    assert observation_count > 0
    assert affected > 0
