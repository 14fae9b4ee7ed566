"""The staging layer on a small generated retailer: invariants that hold whatever the seed.

Uses the session fixture `small_retailer` (tests/conftest.py: the sample-data
generator's output, raw + truth). Skipped only while the generator package
does not exist yet.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import AS_OF
from tests.dbt.dbt_runner import STAGING_SELECTOR, Dbt

try:
    from orchestration.generator import generate  # noqa: F401
except ImportError:  # pragma: no cover - until orchestration/generator lands
    pytest.skip("orchestration.generator.generate is not importable yet", allow_module_level=True)

pytestmark = pytest.mark.slow

STG_KEYS = {
    "stg_shop__customers": ["customer_id"],
    "stg_shop__orders": ["order_id"],
    "stg_shop__order_lines": ["order_id", "line_number"],
    "stg_loyalty__members": ["loyalty_id"],
    "stg_segment__identifies": ["message_id"],
    "stg_segment__events": ["event_id"],
    "stg_pos__transactions": ["transaction_id"],
    "stg_pos__lines": ["transaction_id", "line_number"],
    "stg_catalog__products": ["product_id"],
    "stg_catalog__inventory": ["product_id", "location_id", "recorded_at"],
    "stg_catalog__stores": ["store_id"],
    "stg_consent__consents": ["consent_id"],
    "stg_esp__message_events": ["event_id"],
}
EMAIL_COLUMNS = [
    ("stg_shop__customers", "email"),
    ("stg_shop__orders", "email"),
    ("stg_loyalty__members", "email"),
    ("stg_segment__identifies", "email"),
    ("stg_pos__transactions", "email"),
]
PHONE_COLUMNS = [
    ("stg_shop__customers", "phone"),
    ("stg_shop__orders", "phone"),
    ("stg_loyalty__members", "phone"),
    ("stg_segment__identifies", "phone"),
    ("stg_pos__transactions", "phone"),
]


@pytest.fixture(scope="module")
def generated(small_retailer, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("dbt_generated")
    warehouse = work_dir / "generated.duckdb"
    shutil.copyfile(small_retailer, warehouse)
    dbt = Dbt(warehouse, work_dir)
    build = dbt("build", "--select", STAGING_SELECTOR, vars={"as_of": AS_OF.isoformat(sep=" ")})
    return dbt, build


def test_build_and_every_dbt_test_pass(generated):
    _, build = generated
    build.check()
    assert "ERROR=0" in [line for line in build.stdout.splitlines() if "Done. PASS=" in line][-1]


def test_every_staging_table_has_rows_and_no_null_or_repeated_keys(generated):
    dbt, build = generated
    build.check()
    for model, keys in STG_KEYS.items():
        key_list = ", ".join(keys)
        nulls = " or ".join(f"{key} is null" for key in keys)
        [(total, null_keys, distinct_keys)] = dbt.query(
            f"select count(*), count(*) filter (where {nulls}), "
            f"(select count(*) from (select distinct {key_list} from staging.{model})) "
            f"from staging.{model}"
        )
        assert total > 0, model
        assert null_keys == 0, model
        assert distinct_keys == total, model


def test_emails_are_normalized_and_phones_e164_or_null(generated):
    dbt, build = generated
    build.check()
    for model, column in EMAIL_COLUMNS:
        [(bad,)] = dbt.query(
            f"select count(*) from staging.{model} where {column} is not null and "
            f"({column} <> lower(trim({column})) or not regexp_full_match({column}, '[^@ ]+@[^@ .]+([.][^@ .]+)+'))"
        )
        assert bad == 0, (model, column)
    for model, column in PHONE_COLUMNS:
        [(bad,)] = dbt.query(
            f"select count(*) from staging.{model} "
            f"where {column} is not null and not regexp_full_match({column}, '[+][1-9][0-9]{{7,14}}')"
        )
        assert bad == 0, (model, column)


def test_messy_rows_are_quarantined_and_every_raw_row_is_accounted_for(generated):
    dbt, build = generated
    build.check()
    [(quarantined,)] = dbt.query("select count(*) from staging.stg_quarantined_rows")
    assert quarantined > 0
    for table, raw_rows, quarantined_rows, usable_rows, staged_rows in dbt.query(
        "select source_table, raw_rows, quarantined_rows, usable_rows, staged_rows from staging.stg_duplicate_counts"
    ):
        [(landed,)] = dbt.query(f"select count(*) from raw.{table}")
        assert raw_rows == landed, table
        assert quarantined_rows + usable_rows == raw_rows, table
        assert staged_rows <= usable_rows, table
