"""The dbt project as Dagster sees it, kept in its own module (dagster-dbt's advice).

dagster-dbt builds asset definitions from dbt's `manifest.json`. `prepare_if_dev()`
makes it only under `dagster dev`; `ensure_manifest()` makes it everywhere else
(tests, `segue run`, CI) when it is missing or older than the project's files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_TARGET = os.environ.get("SEGUE_DBT_TARGET", "duckdb")

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=DBT_TARGET,
)
dbt_project.prepare_if_dev()

_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "snapshots")


def dbt_executable() -> str:
    """The dbt of this virtualenv (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise RuntimeError("dbt is not installed in this environment; run `make test` or `make demo` first")
    return found


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in _PROJECT_INPUTS:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
    return newest


def _target_marker() -> Path:
    """Which dbt target the manifest was parsed for (SEGUE_DBT_TARGET may change between runs)."""
    return dbt_project.manifest_path.parent / ".segue-target"


def manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    marker = _target_marker()
    if not marker.exists() or marker.read_text().strip() != DBT_TARGET:
        return True
    return not manifest.exists() or manifest.stat().st_mtime < _newest_input_mtime()


def ensure_manifest() -> Path:
    """Run `dbt parse` when the manifest is missing or older than any project file.

    Several processes may start at once (pytest-xdist workers, `dagster dev` beside
    `segue run`): an exclusive file lock makes one of them parse while the others
    wait, so nobody reads a manifest that dbt is still writing.
    """
    import fcntl

    lock_path = dbt_project.manifest_path.parent / ".segue-parse.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if manifest_is_stale():
                env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
                proc = subprocess.run(
                    [dbt_executable(), "parse", "--quiet", "--target", DBT_TARGET],
                    cwd=DBT_PROJECT_DIR,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"`dbt parse` failed:\n{proc.stdout}\n{proc.stderr}")
                _target_marker().write_text(DBT_TARGET + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return dbt_project.manifest_path
