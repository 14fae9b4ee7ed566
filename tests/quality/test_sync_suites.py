"""Every `sync_` model has a blocking GX suite holding at least what its meta.sync declaration implies."""

from __future__ import annotations

import duckdb

from orchestration.assets.quality import CHECK_NAME, sync_suites
from orchestration.quality.suites import load_suites
from orchestration.quality.sync_suites import derived_suite, required_items
from orchestration.quality.validate import run_suite
from tests.conftest import AS_OF


def _specs():
    from destinations.config import load_manifest, load_specs
    from orchestration.assets.dbt import MANIFEST_PATH

    return load_specs(load_manifest(MANIFEST_PATH), credentials=False)


def test_every_sync_suite_file_holds_what_its_declaration_implies():
    files = load_suites()
    specs = _specs()
    assert specs
    for spec in specs:
        suite = files.get(spec.name) or derived_suite(spec)
        expectations, sql_checks, bounds = required_items(spec)
        have = [(e.type, e.kwargs) for e in suite.expectations]
        for exp in expectations:
            assert (exp.type, exp.kwargs) in have, f"{suite.path.name}: missing {exp.type} {exp.kwargs}"
        names = {c.name for c in suite.sql_checks}
        assert {c.name for c in sql_checks} <= names, f"{suite.path.name}: missing {sql_checks}"
        assert suite.row_count_change is not None, f"{suite.path.name}: no row-count bound"
        assert suite.row_count_change.max_drop <= bounds.max_drop
        assert suite.row_count_change.max_growth <= bounds.max_growth
        if spec.mode == "actions":
            assert "send_without_consent" in names, f"{spec.name} is a message sync: the consent invariant must block"


def test_every_sync_model_gets_a_blocking_check_file_or_not():
    from orchestration.definitions import defs

    specs = {s.name for s in _specs()}
    assert set(sync_suites()) == specs
    checks = {
        spec.asset_key.path[-1]: spec
        for c in defs.asset_checks
        for spec in c.check_specs
        if spec.name == CHECK_NAME and spec.asset_key.path[-1] in specs
    }
    assert set(checks) == specs
    assert all(spec.blocking for spec in checks.values())


def test_sync_suites_pass_on_the_build_and_the_derived_consent_check_catches_a_violation(built_copy):
    specs = {s.name: s for s in _specs()}
    files = load_suites()
    for name, spec in specs.items():
        for suite in (files.get(name), derived_suite(spec)):
            if suite is None:
                continue
            outcome = run_suite(suite, built_copy, "syncs", previous_row_count=None, as_of=AS_OF)
            assert outcome.passed, (suite.path.name, outcome.failures)

    # An email actions sync with rows in the sample build (Braze's is empty by default: email goes to Klaviyo).
    actions = specs["sync_klaviyo__journey_emails"]
    con = duckdb.connect(str(built_copy))
    try:
        relation = f"syncs.{actions.name}"
        con.execute(f"create table syncs.broken as select * from {relation}")
        con.execute(
            f"insert into syncs.broken select * replace ('broken-1' as {actions.primary_key}, "
            f"'never-consented@example.org' as {actions.address_column}) from {relation} limit 1"
        )
        con.execute(f"drop view {relation}")
        con.execute(f"alter table syncs.broken rename to {actions.name}")
    finally:
        con.close()
    outcome = run_suite(derived_suite(specs[actions.name]), built_copy, "syncs", previous_row_count=None, as_of=AS_OF)
    assert outcome.failures == ["sql:send_without_consent"]
    assert outcome.results["sql:send_without_consent"].sample[0][actions.primary_key] == "broken-1"
