"""Running dbt from the tests.

dbt runs in a subprocess (`.venv/bin/dbt`, DO_NOT_TRACK=1) with its own target
and log paths, so these tests neither read nor overwrite the manifest that
Dagster uses in dbt_project/target, and can run beside other dbt processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# "Now" for every build in these tests: the staging checks for future and
# too-old timestamps depend on it.
AS_OF = "2026-11-20 12:00:00"
DBT_VARS = {"as_of": AS_OF}

# Everything the staging layer needs: its models and what they read (seeds,
# sources), with the tests attached to them.
STAGING_SELECTOR = "+staging"


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@dataclass
class DbtResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def check(self) -> DbtResult:
        assert self.returncode == 0, (
            f"`dbt {' '.join(self.args)}` exited {self.returncode}\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}"
        )
        return self


@dataclass
class Dbt:
    """dbt against one warehouse file, with a target and log path of its own."""

    warehouse: Path
    work_dir: Path

    def __call__(self, *args: str, vars: dict | None = None) -> DbtResult:
        options = {
            "--project-dir": str(DBT_PROJECT_DIR),
            "--profiles-dir": str(DBT_PROJECT_DIR),
            "--target-path": str(self.work_dir / "target"),
            "--log-path": str(self.work_dir / "logs"),
            "--vars": json.dumps(vars if vars is not None else DBT_VARS),
        }
        if args and args[0] == "build":
            # A subset build tests only what it built (a relationships test to an
            # unselected seed or model would read a relation that is not there).
            options["--indirect-selection"] = "cautious"
        command = [*args, *(part for option in options.items() for part in option)]
        env = {
            **os.environ,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "SEGUE_WAREHOUSE": str(self.warehouse),
        }
        env.pop("SEGUE_AS_OF", None)
        started = time.perf_counter()
        proc = subprocess.run(
            [dbt_executable(), *command],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return DbtResult(list(args), proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)

    def show(self, sql: str) -> list[dict]:
        """Rows of an inline query (`dbt show --inline`), compiled in this project."""
        result = self("show", "--inline", sql, "--limit", "-1", "--output", "json", "--quiet").check()
        return json.loads(result.stdout)["show"]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Read the warehouse directly (opened read-only, closed at once)."""
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def load_raw_fixture(warehouse: Path, sql_file: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(sql_file.read_text())
    finally:
        con.close()
