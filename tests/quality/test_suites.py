"""Suite files load, name real GX expectations, pass on the sample retailer, and register only for existing models."""

from __future__ import annotations

import pytest
from dagster import AssetKey, Definitions, asset

from orchestration.assets.quality import CHECK_NAME, build_quality_checks, sync_suites
from orchestration.quality.suites import EXPECTATIONS_DIR, SuiteError, load_suite, load_suites
from orchestration.quality.validate import build_expectation

STAGING_SUITES = {p.stem for p in EXPECTATIONS_DIR.glob("stg_*.yml")}


def test_every_suite_file_loads_and_names_real_gx_expectations():
    import great_expectations as gx

    suites = load_suites()
    assert {"customer_identifiers", "customer_profiles", "journey_actions"} <= set(suites)
    assert len(STAGING_SUITES) >= 10
    for suite in suites.values():
        for exp in suite.expectations:
            build_expectation(gx, exp)  # raises on an unknown type or a bad argument
    assert any(c.name == "send_without_consent" for c in suites["journey_actions"].sql_checks)


def test_a_bad_suite_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "stg_x.yml"
    bad.write_text("expectations:\n  - expect_column_values_to_be_unique: [customer_id]\n")
    with pytest.raises(SuiteError, match=r"stg_x.yml: expectations\[0\]"):
        load_suite(bad)
    bad.write_text("sql_checks:\n  - name: x\n    query: select 1\n")
    with pytest.raises(SuiteError, match=r"\{model\}"):
        load_suite(bad)


def test_staging_and_mart_suites_ran_as_checks_in_the_build_and_passed(built_retailer):
    _, outcome = built_retailer
    gx_checks = {c.asset: c for c in outcome.checks if c.check == CHECK_NAME}
    marts = {"marts/customer_identifiers", "marts/customer_profiles", "marts/journey_actions"}
    syncs = {f"syncs/{m}" for m in sync_suites()}  # a file, or derived from meta.sync
    assert len(syncs) >= 3
    assert {f"staging/{m}" for m in STAGING_SUITES} | marts | syncs == set(gx_checks)
    failed = {a: c.description for a, c in gx_checks.items() if not c.passed}
    assert not failed, failed


def test_mart_suites_register_only_when_their_model_exists_and_block_when_a_sync_reads_them():
    suites = load_suites()
    plain = build_quality_checks(Definitions(assets=[]), suites=suites)
    assert plain == []

    @asset(key=AssetKey(["marts", "journey_actions"]), group_name="journeys")
    def journey_actions(): ...

    @asset(key=AssetKey(["marts", "customer_profiles"]), group_name="profiles")
    def customer_profiles(): ...

    @asset(key=AssetKey(["syncs", "sync_klaviyo__journey_emails"]), group_name="syncs", deps=[journey_actions])
    def sync_klaviyo__journey_emails(): ...

    base = Definitions(assets=[journey_actions, customer_profiles, sync_klaviyo__journey_emails])
    checks = build_quality_checks(base, suites=suites)
    specs = {spec.asset_key.to_user_string(): spec for c in checks for spec in c.check_specs}
    assert set(specs) == {"marts/journey_actions", "marts/customer_profiles", "syncs/sync_klaviyo__journey_emails"}
    assert specs["marts/journey_actions"].blocking, "a sync reads journey_actions: its suite must block"
    assert specs["syncs/sync_klaviyo__journey_emails"].blocking
    assert not specs["marts/customer_profiles"].blocking, "nothing syncs customer_profiles here"
