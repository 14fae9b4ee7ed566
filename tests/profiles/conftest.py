"""Fixtures for the profile tests: the CDNOW transaction log (from the `lifetimes` wheel) as a warehouse."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.raw_contract import RAW_SCHEMA, RAW_TABLES
from tests.conftest import shared_once
from tests.dbt.dbt_runner import Dbt, DbtResult

# lifetimes (MIT) ships the CDNOW sample inside its wheel. Its dependencies
# clash with ours, so the wheel is downloaded once (no install) and the file
# read from the zip. Pinned by content so the golden test knows what it reads.
LIFETIMES_WHEEL = "lifetimes==0.11.3"
CDNOW_MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
CDNOW_SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"

# CDNOW covers 1997-01-01 .. 1998-06-30: "now" is just after it, and staging's
# too-old cut-off (2000-01-01 by default) must not quarantine the whole log.
CDNOW_VARS = {"as_of": "1998-07-01 00:00:00", "earliest_valid_timestamp": "1990-01-01"}


def _download_wheel(cache_dir: Path) -> Path:
    wheels = sorted(cache_dir.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if wheels:
        return wheels[0]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", LIFETIMES_WHEEL, "--no-deps", "--only-binary", ":all:",
         "--dest", str(cache_dir), "--quiet", "--disable-pip-version-check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wheels = sorted(cache_dir.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if proc.returncode != 0 or not wheels:
        message = f"could not download the {LIFETIMES_WHEEL} wheel (CDNOW sample):\n{proc.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return wheels[0]


def read_cdnow(text: str) -> pd.DataFrame:
    """CDNOW_sample.txt: whitespace-separated customer id, sample id, date YYYYMMDD, quantity, amount.

    One line per purchase; a customer may buy several times a day. Ids keep
    their leading zeros.
    """
    frame = pd.read_csv(
        io.StringIO(text),
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "quantity", "amount"],
        dtype={"customer_id": str, "sample_id": str, "date": str, "quantity": "int64", "amount": "float64"},
    )
    frame["ordered_at"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["order_id"] = [f"CDNOW{line:05d}" for line in range(1, len(frame) + 1)]
    return frame


@pytest.fixture(scope="session")
def cdnow_orders(request) -> pd.DataFrame:
    cache_dir = Path(request.config.cache.mkdir("lifetimes-wheel"))
    wheel = _download_wheel(cache_dir)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(CDNOW_MEMBER)
    assert hashlib.sha256(data).hexdigest() == CDNOW_SHA256, f"{CDNOW_MEMBER} in {wheel.name} is not the pinned file"
    return read_cdnow(data.decode("ascii"))


def load_raw_orders(warehouse: Path, orders: pd.DataFrame) -> None:
    """Every raw table of CONTRACT §2, empty, and the log as completed online orders."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table, columns in RAW_TABLES.items():
            cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            con.execute(f"create or replace table {RAW_SCHEMA}.{table} ({cols})")
        con.register("cdnow", orders)
        con.execute(
            f"""
            insert into {RAW_SCHEMA}.orders by name
            select order_id, customer_id, 'completed' as status, amount as total_amount,
                   'USD' as currency, 'web' as source, ordered_at
            from cdnow
            """
        )
        con.unregister("cdnow")
    finally:
        con.close()


@dataclass
class CdnowBuild:
    dbt: Dbt
    build: DbtResult
    profile_tests: DbtResult


@pytest.fixture(scope="session")
def cdnow_build(cdnow_orders, tmp_path_factory, worker_id) -> CdnowBuild:
    """The CDNOW log loaded as raw.orders, built through staging, identity and profiles.

    Then the profile unit tests run against the same warehouse (dbt unit tests
    read the column types of their inputs from the built relations).
    """

    def build(work_dir: Path) -> CdnowBuild:
        warehouse = work_dir / "cdnow.duckdb"
        load_raw_orders(warehouse, cdnow_orders)
        dbt = Dbt(warehouse, work_dir)
        # Models only (staging and identity are tested elsewhere), then every
        # test of the profile models: data tests on this odd retailer, and the
        # unit tests.
        models_only = ("--exclude", "test_type:unit", "test_type:data")
        build = dbt("build", "--select", "+customer_profiles", *models_only, vars=CDNOW_VARS)
        profile_tests = dbt("test", "--select", "profiles", vars=CDNOW_VARS)
        return CdnowBuild(dbt, build, profile_tests)

    return shared_once(tmp_path_factory, worker_id, "cdnow_build", build)
