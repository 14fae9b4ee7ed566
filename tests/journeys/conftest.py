"""Fixtures for the journey tests: generated retailers built once per session.

One build per generator seed (`dbt build` of everything journey_actions,
journey_performance and segment_memberships need, which also runs the dbt
unit tests of those models); the seeds build in parallel. The feedback-loop
test works on a copy of the first.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import shared_once
from tests.dbt.dbt_runner import Dbt, DbtResult

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
CUSTOMERS = 2_500
SEEDS = (7, 11)
# Everything the published journey and segment tables need, with the dbt unit
# tests of the journey models (upstream unit tests run in their own folders'
# tests; data tests run in `segue run`, and tests/journeys/checks.py checks
# the contract here).
SELECT = ["+journey_performance", "+segment_memberships"]
EXCLUDE = [
    "test_type:data",
    "test_type:unit,path:models/staging",
    "test_type:unit,path:models/identity",
    "test_type:unit,path:models/profiles",
]


def dbt_vars(as_of: datetime) -> dict:
    return {"as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")}


@dataclass
class BuiltJourneys:
    seed: int
    dbt: Dbt
    build: DbtResult

    @property
    def warehouse(self) -> Path:
        return self.dbt.warehouse


def _generate_and_build(seed: int, root: Path) -> BuiltJourneys:
    from orchestration.generator import generate

    work_dir = root / f"seed_{seed}"
    work_dir.mkdir()
    warehouse = work_dir / "journeys_warehouse.duckdb"
    generate(str(warehouse), customers=CUSTOMERS, seed=seed, as_of=AS_OF)
    dbt = Dbt(warehouse, work_dir)
    build = dbt("build", "--select", *SELECT, "--exclude", *EXCLUDE, vars=dbt_vars(AS_OF))
    return BuiltJourneys(seed, dbt, build)


@pytest.fixture(scope="session")
def journey_builds(tmp_path_factory, worker_id) -> dict[int, BuiltJourneys]:
    """Built once for all workers: read them (`dbt.query` is read-only) or `copy_build` one to run dbt."""

    def build(root: Path) -> dict[int, BuiltJourneys]:
        with ThreadPoolExecutor(max_workers=len(SEEDS)) as pool:
            builds = list(pool.map(lambda seed: _generate_and_build(seed, root), SEEDS))
        return {built.seed: built for built in builds}

    return shared_once(tmp_path_factory, worker_id, "journey_builds", build)


def copy_build(built: BuiltJourneys, target_dir: Path) -> Dbt:
    target_dir.mkdir(parents=True, exist_ok=True)
    warehouse = target_dir / "loop.duckdb"
    shutil.copyfile(built.warehouse, warehouse)
    return Dbt(warehouse, target_dir)
