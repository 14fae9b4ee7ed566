"""A generated retailer with the identity layer built on it, once per session.

1,000 people (seed 11): big enough for households, kiosks, family devices and
placeholders to occur, small enough to build in well under a minute. dbt runs
in a subprocess with its own target path (tests/dbt/dbt_runner.py), building
only the identity models and what they read.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import AS_OF, shared_once
from tests.dbt.dbt_runner import Dbt, DbtResult

IDENTITY_CUSTOMERS = 1000
IDENTITY_SEED = 11
DBT_VARS = {"as_of": AS_OF.isoformat(sep=" ")}
# The identity models, their upstream staging models and seeds; no staging tests
# (tests/dbt covers them), so the build stays fast.
BUILD_ARGS = ("build", "--select", "+identity", "--resource-type", "model", "--resource-type", "seed")


@dataclass
class IdentityWarehouse:
    path: Path
    dbt: Dbt
    build: DbtResult
    tests: DbtResult

    def copy(self, target_dir: Path) -> tuple[Path, Dbt]:
        target = target_dir / "copy.duckdb"
        shutil.copyfile(self.path, target)
        # The same target path as the fixture's build: dbt parses the project partially, not afresh.
        return target, Dbt(target, self.dbt.work_dir)


@pytest.fixture(scope="session")
def identity_warehouse(tmp_path_factory, worker_id) -> IdentityWarehouse:
    """Built once for all workers: read it (`dbt.query` opens it read-only) or `copy()` it to run dbt on it."""
    from orchestration.generator import generate

    def build(work_dir: Path) -> IdentityWarehouse:
        path = work_dir / "identity retailer.duckdb"
        generate(str(path), customers=IDENTITY_CUSTOMERS, seed=IDENTITY_SEED, as_of=AS_OF)
        dbt = Dbt(path, work_dir)
        build = dbt(*BUILD_ARGS, vars=DBT_VARS).check()
        tests = dbt("test", "--select", "identity", "--indirect-selection", "cautious", vars=DBT_VARS)
        return IdentityWarehouse(path, dbt, build, tests)

    return shared_once(tmp_path_factory, worker_id, "identity_warehouse", build)
