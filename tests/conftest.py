"""Shared fixtures: a small generated retailer, and one Dagster-built warehouse from it.

Building is the slow part, so each is made once per test session and copied
where a test needs to change it.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

import orchestration  # noqa: F401  (sets the offline-safe dbt/GX environment)

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
SMALL_CUSTOMERS = 400
SMALL_SEED = 7


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@pytest.fixture(scope="session")
def small_retailer(tmp_path_factory) -> Path:
    """A freshly generated retailer (raw + truth only). Copy it before writing to it."""
    from orchestration.generator import generate

    path = tmp_path_factory.mktemp("small_retailer") / "retailer.duckdb"
    generate(str(path), customers=SMALL_CUSTOMERS, seed=SMALL_SEED, as_of=AS_OF)
    return path


def copy_warehouse(source: Path, target_dir: Path, name: str = "warehouse.duckdb") -> Path:
    target = target_dir / name
    shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="session")
def built_retailer(small_retailer, tmp_path_factory, dagster_home):
    """The small retailer after one `segue run` (Dagster in-process): (warehouse path, RunOutcome)."""
    from destinations.emulators import EmulatorServer
    from orchestration import runner

    warehouse = copy_warehouse(small_retailer, tmp_path_factory.mktemp("built"), "built name.duckdb")
    names = ("SEGUE_WAREHOUSE", "SEGUE_AS_OF", "DAGSTER_HOME", "SEGUE_DRY_RUN", "KLAVIYO_BASE_URL", "KLAVIYO_API_KEY")
    names += ("BRAZE_BASE_URL", "BRAZE_API_KEY", "WEBHOOK_URL", "WEBHOOK_SECRET")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        # The syncs deliver to the local destination emulators (CONTRACT §5) for the run.
        with EmulatorServer() as emulators:
            os.environ["KLAVIYO_BASE_URL"] = f"{emulators.url}/klaviyo"
            os.environ["KLAVIYO_API_KEY"] = "pk_test_emulator"
            os.environ["BRAZE_BASE_URL"] = f"{emulators.url}/braze"
            os.environ["BRAZE_API_KEY"] = "braze_test_emulator"
            os.environ["WEBHOOK_URL"] = f"{emulators.url}/webhook/receive"
            os.environ["WEBHOOK_SECRET"] = "whsec_test_emulator"
            runner.apply_settings(str(warehouse), AS_OF.isoformat())
            outcome = runner.run()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return warehouse, outcome
