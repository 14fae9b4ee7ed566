"""The DuckDB target's memory cap and spill folder (dbt_project/profiles.yml) hold for a whole build.

A 1M-customer build failed every model after the first one that spilled: the
spill folder was a per-cursor `settings` entry, which dbt-duckdb sets again on
each new cursor, and DuckDB refuses to move its temp_directory once used. These
tests render the real profile as dbt does, open dbt-duckdb's environment, make a
query spill past a small cap, then open the next handle the way dbt's next model
does.
"""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import pytest

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
# Sorting this needs several times the cap below, so DuckDB must spill.
SPILLING_QUERY = (
    "select count(*) from (select i, random() as r, repeat('x', 40) as s from range(4000000) t(i) order by r)"
)


def duckdb_credentials(raw_profiles: dict | None = None):
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)
    set_from_args(Namespace(), None)
    raw = raw_profiles or read_profile(str(DBT_PROJECT))
    return Profile.from_raw_profiles(raw, "segue", ProfileRenderer({}), target_override="duckdb").credentials


def spill_then_open_next_handle(credentials) -> None:
    from dbt.adapters.duckdb.environments import create

    environment = create(credentials)
    first = environment.handle()
    cursor = first.cursor()
    assert cursor.execute(SPILLING_QUERY).fetchall() == [(4_000_000,)]
    spilled = cursor.execute("select count(*) from duckdb_temporary_files()").fetchone()[0]
    folder = cursor.execute("select current_setting('temp_directory')").fetchone()[0]
    assert Path(folder).is_dir() or spilled, "the sort did not spill"
    second = environment.handle()  # the next model's connection
    assert second.cursor().execute("select 1").fetchall() == [(1,)]


@pytest.fixture
def capped(tmp_path, monkeypatch) -> Path:
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("SEGUE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SEGUE_DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.setenv("SEGUE_DBT_TARGET", "duckdb")
    return warehouse


def test_a_build_goes_on_after_a_query_spills(capped):
    credentials = duckdb_credentials()
    assert credentials.config_options["memory_limit"] == "64MB"
    assert credentials.config_options["temp_directory"] == f"{capped}.tmp"
    spill_then_open_next_handle(credentials)


def test_the_same_spill_folder_as_a_per_cursor_setting_fails(capped):
    """What the test above guards against (so it can fail): the folder set per cursor."""
    import duckdb
    from dbt.config.profile import read_profile

    raw = read_profile(str(DBT_PROJECT))
    output = raw["segue"]["outputs"]["duckdb"]
    output["settings"] = output.pop("config_options")
    with pytest.raises(duckdb.NotImplementedException, match="temporary directory"):
        spill_then_open_next_handle(duckdb_credentials(raw))
