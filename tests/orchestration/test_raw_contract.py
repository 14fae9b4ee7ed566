"""`segue run` refuses a warehouse without the raw inputs, naming what is missing, before building."""

import duckdb
from typer.testing import CliRunner

from orchestration import raw_contract
from orchestration.cli import app


def _create_raw(path, drop_table=None, drop_column=None):
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    for table, columns in raw_contract.RAW_TABLES.items():
        if table == drop_table:
            continue
        cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items() if (table, name) != drop_column)
        con.execute(f"create table raw.{table} ({cols})")
    con.close()


def _schemas(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {row[0] for row in con.execute("select schema_name from information_schema.schemata").fetchall()}
    finally:
        con.close()


def test_complete_raw_schema_passes(tmp_path):
    path = tmp_path / "w.duckdb"
    _create_raw(path)
    raw_contract.check_warehouse(str(path))


def test_missing_schema_is_named(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    result = CliRunner().invoke(app, ["run", "--warehouse", str(path)])
    assert result.exit_code == 2
    assert "schema `raw` is missing" in result.output
    assert "staging" not in _schemas(path)


def test_missing_table_and_column_are_named(tmp_path):
    path = tmp_path / "w.duckdb"
    _create_raw(path, drop_table="pos_lines", drop_column=("events", "revenue"))
    result = CliRunner().invoke(app, ["run", "--warehouse", str(path), "--as-of", "2026-11-20T12:00:00Z"])
    assert result.exit_code == 2, result.output
    assert "table raw.pos_lines is missing" in result.output
    assert "column raw.events.revenue is missing" in result.output
    assert "column raw.events.event_id" not in result.output
    assert "staging" not in _schemas(path)


def test_missing_file_is_named(tmp_path):
    result = CliRunner().invoke(app, ["run", "--warehouse", str(tmp_path / "nope.duckdb")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tmp_path / "nope.duckdb").exists()


def test_bad_as_of_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["run", "--warehouse", str(tmp_path / "w.duckdb"), "--as-of", "soon"])
    assert result.exit_code == 2
    assert "--as-of='soon' is not an ISO 8601 timestamp" in result.output
