"""Fixtures for the dbt project's tests: a tiny hand-written raw warehouse, built once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.dbt.dbt_runner import FIXTURES, STAGING_SELECTOR, Dbt, DbtResult, load_raw_fixture


@dataclass
class BuiltWarehouse:
    dbt: Dbt
    build: DbtResult


@pytest.fixture(scope="session")
def messy_build(tmp_path_factory) -> BuiltWarehouse:
    """tests/dbt/fixtures/raw_messy.sql, with the staging layer built on it (not yet checked)."""
    work_dir = tmp_path_factory.mktemp("dbt_messy")
    warehouse = work_dir / "messy warehouse.duckdb"
    load_raw_fixture(warehouse, FIXTURES / "raw_messy.sql")
    dbt = Dbt(warehouse, work_dir)
    build = dbt("build", "--select", STAGING_SELECTOR)
    return BuiltWarehouse(dbt, build)
