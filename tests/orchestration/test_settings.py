from datetime import datetime

import pytest

from orchestration import settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12)),
        ("2026-11-20T12:00:00", datetime(2026, 11, 20, 12)),
        ("2026-11-20 12:00:00.123456", datetime(2026, 11, 20, 12)),
        ("2026-11-20T13:30:00+01:30", datetime(2026, 11, 20, 12)),
        ("2026-11-20", datetime(2026, 11, 20)),
    ],
)
def test_as_of_is_naive_utc(text, expected):
    assert settings.parse_as_of(text) == expected


def test_bad_as_of_names_the_setting():
    with pytest.raises(settings.SettingsError, match=r"--as-of='yesterday' is not an ISO 8601"):
        settings.parse_as_of("yesterday", field="--as-of")


def test_warehouse_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.warehouse_path() == str(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SEGUE_WAREHOUSE", "other/w.duckdb")
    assert settings.warehouse_path() == str(tmp_path / "other" / "w.duckdb")


@pytest.mark.parametrize("name", ["raw.duckdb", "marts.duckdb", "Segue.v2.duckdb", "staging"])
def test_warehouse_named_like_a_schema_is_refused(monkeypatch, tmp_path, name):
    """DuckDB names the catalog after the file, so `raw.duckdb` makes `raw.orders` ambiguous."""
    monkeypatch.setenv("SEGUE_WAREHOUSE", str(tmp_path / name))
    with pytest.raises(settings.SettingsError, match=r"rename the file"):
        settings.warehouse_path()


@pytest.mark.parametrize("name", ["raw_warehouse.duckdb", "warehouse.raw.duckdb", "retail.db"])
def test_warehouse_names_that_do_not_collide(monkeypatch, tmp_path, name):
    monkeypatch.setenv("SEGUE_WAREHOUSE", str(tmp_path / name))
    assert settings.warehouse_path() == str(tmp_path / name)


def test_cli_refuses_a_colliding_warehouse_without_a_traceback(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from orchestration.cli import main; main()",
            "explain",
            "x",
            "--warehouse",
            str(tmp_path / "raw.duckdb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "rename the file" in " ".join(done.stderr.split())
    assert not (tmp_path / "raw.duckdb").exists()


def test_refused_names_cover_every_schema_segue_uses():
    """SEGUE_SCHEMAS must not drift from the schemas the project actually builds and reads."""
    import re
    from pathlib import Path

    import yaml

    from destinations.plan import STATE_SCHEMA
    from orchestration.generator.writer import TRUTH_SCHEMA
    from orchestration.raw_contract import RAW_SCHEMA

    project = Path(__file__).resolve().parents[2] / "dbt_project"
    used = {RAW_SCHEMA, TRUTH_SCHEMA, STATE_SCHEMA}
    used |= set(re.findall(r"\+schema:\s*(\w+)", (project / "dbt_project.yml").read_text()))
    for path in (project / "models").rglob("*.sql"):
        used |= set(re.findall(r"schema\s*=\s*['\"](\w+)['\"]", path.read_text()))
    for path in (project / "models").rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            used.add(source.get("schema", source["name"]))
    assert {"raw", "marts", "staging", "segue"} <= used
    assert used <= settings.SEGUE_SCHEMAS, sorted(used - settings.SEGUE_SCHEMAS)


@pytest.mark.parametrize(
    ("text", "expected"), [("", False), ("off", False), (" 0 ", False), ("ON", True), ("true", True)]
)
def test_staging_incremental_setting(monkeypatch, text, expected):
    monkeypatch.setenv("SEGUE_STAGING_INCREMENTAL", text)
    assert settings.staging_incremental() is expected


@pytest.mark.parametrize(("name", "default"), sorted(settings.FLAGS.items()))
def test_on_off_settings_share_one_parser(monkeypatch, name, default):
    monkeypatch.delenv(name, raising=False)
    assert settings.flag(name) is default
    for text, expected in (("  ", default), ("No", False), ("off", False), ("YES", True), ("1", True)):
        monkeypatch.setenv(name, text)
        assert settings.flag(name) is expected, text
    monkeypatch.setenv(name, "of")
    with pytest.raises(settings.SettingsError, match=f"{name}='of' is neither on nor off"):
        settings.flag(name)
    with pytest.raises(settings.SettingsError, match=name):
        settings.check_flags()


def test_automation_setting_starts_schedules_and_sensors(monkeypatch):
    from dagster import DefaultSensorStatus

    from orchestration.automation import sync_automation_sensor

    monkeypatch.setenv("SEGUE_AUTOMATION", "on")
    assert sync_automation_sensor().default_status == DefaultSensorStatus.RUNNING
    monkeypatch.setenv("SEGUE_AUTOMATION", "off")
    assert sync_automation_sensor().default_status == DefaultSensorStatus.STOPPED
    monkeypatch.setenv("SEGUE_AUTOMATION", "maybe")  # once quietly off; now refused
    with pytest.raises(settings.SettingsError, match="SEGUE_AUTOMATION='maybe'"):
        sync_automation_sensor()


def test_dbt_vars_carry_as_of_and_incremental_builds_only_when_set(monkeypatch):
    """Defaults pass no vars at all: a changed var set makes dbt parse the whole project again."""
    monkeypatch.delenv("SEGUE_AS_OF", raising=False)
    monkeypatch.delenv("SEGUE_STAGING_INCREMENTAL", raising=False)
    monkeypatch.delenv("SEGUE_IDENTITY_INCREMENTAL", raising=False)
    assert settings.dbt_vars() == {}
    monkeypatch.setenv("SEGUE_AS_OF", "2026-11-20T13:00:00+01:00")
    monkeypatch.setenv("SEGUE_STAGING_INCREMENTAL", "on")
    assert settings.dbt_vars() == {"as_of": "2026-11-20T12:00:00", "staging_incremental": True}
    monkeypatch.setenv("SEGUE_IDENTITY_INCREMENTAL", "on")
    assert settings.dbt_vars() == {
        "as_of": "2026-11-20T12:00:00",
        "staging_incremental": True,
        "identity_incremental": True,
    }


@pytest.mark.parametrize("name", sorted(settings.FLAGS))
def test_cli_refuses_a_bad_on_off_setting_before_building(tmp_path, monkeypatch, name):
    from typer.testing import CliRunner

    from orchestration.cli import app

    monkeypatch.setenv(name, "sometimes")
    result = CliRunner().invoke(app, ["run", "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2, result.output
    assert f"{name}='sometimes' is neither on nor off" in " ".join(result.output.split())
    assert not (tmp_path / "w.duckdb").exists()
