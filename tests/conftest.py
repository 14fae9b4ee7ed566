"""Shared fixtures: a small generated retailer, and one Dagster-built warehouse from it.

Building is the slow part, so each is made once per test session — once for all
pytest-xdist workers together (`shared_once`) — and copied where a test needs to
change it. Tests open a shared warehouse read-only or copy it first.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import orchestration  # noqa: F401  (sets the offline-safe dbt/GX environment)

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
SMALL_CUSTOMERS = 400
SMALL_SEED = 7


# Tests on the fully built warehouse are end-to-end runs: `make test-e2e` (CI runs it after `make test`).
E2E_FIXTURES = frozenset({"built_retailer"})


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


def shared_once(tmp_path_factory, worker_id: str, name: str, build: Callable[[Path], object]):
    """`build(folder)` once for the whole session, whichever xdist worker asks first; the others wait and reuse it.

    The value is pickled beside the folder (keep it to paths and plain data);
    a build that raised is tried again by the next worker that asks.
    """
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "shared"
    root.mkdir(exist_ok=True)
    done = root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if done.exists():
                return pickle.loads(done.read_bytes())
            folder = root / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            value = build(folder)
            done.write_bytes(pickle.dumps(value))
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory, worker_id) -> Path:
    def build(home: Path) -> Path:
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        return home

    return shared_once(tmp_path_factory, worker_id, "dagster_home", build)


@pytest.fixture(scope="session")
def small_retailer(tmp_path_factory, worker_id) -> Path:
    """A freshly generated retailer (raw + truth only). Copy it before writing to it."""
    from orchestration.generator import generate

    def build(folder: Path) -> Path:
        path = folder / "retailer.duckdb"
        generate(str(path), customers=SMALL_CUSTOMERS, seed=SMALL_SEED, as_of=AS_OF)
        return path

    return shared_once(tmp_path_factory, worker_id, "small_retailer", build)


def copy_warehouse(source: Path, target_dir: Path, name: str = "warehouse.duckdb") -> Path:
    target = target_dir / name
    shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="session")
def built_retailer(small_retailer, tmp_path_factory, worker_id, dagster_home):
    """The small retailer after one `segue run` (Dagster in-process): (warehouse path, RunOutcome).

    Shared by all workers: open it read-only, or copy it (`copy_warehouse`) to change it.
    """
    return shared_once(
        tmp_path_factory, worker_id, "built_retailer", lambda folder: _build(small_retailer, folder, dagster_home)
    )


def _build(small_retailer: Path, folder: Path, dagster_home: Path):
    from destinations.emulators import EmulatorServer, demo_env
    from orchestration import runner

    warehouse = copy_warehouse(small_retailer, folder, "built name.duckdb")
    saved = dict(os.environ)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        # The syncs deliver to the local destination emulators (CONTRACT §5), configured as `make demo` does.
        # The personalization store stays beside the warehouse: personalization_store(built_retailer).
        os.environ["PERSONALIZATION_DB"] = str(personalization_store((warehouse, None)))
        with EmulatorServer() as emulators:
            os.environ.update(demo_env(emulators.url))
            runner.apply_settings(str(warehouse), AS_OF.isoformat())
            outcome = runner.run()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return warehouse, outcome


def personalization_store(built) -> Path:
    """The SQLite file the personalization emulator wrote during `built_retailer`'s run."""
    return Path(built[0]).parent / "personalization.sqlite3"
