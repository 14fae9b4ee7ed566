"""Tiny runs of the bench/ scripts, so they cannot rot, and the incremental-build check.

Each runs a script's own main() on the session's small retailer with a dbt
selection of a few models (seconds, not the benchmark's minutes) and no
results row.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SMALL_CUSTOMERS, SMALL_SEED

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_build
import bench_identity_components
import bench_profiles

# About nine dbt runs: with the end-to-end tests (`make test-e2e`), not `make test`.
pytestmark = pytest.mark.e2e

INCREMENTAL_MODELS = "stg_segment__events stg_esp__message_events"
# The two models and the base views they read (seeds come from `dbt seed`).
SMOKE_SELECTION = "+stg_segment__events +stg_esp__message_events"


def small_args(small_retailer: Path, work: Path) -> list[str]:
    return [
        "--customers",
        str(SMALL_CUSTOMERS),
        "--seed",
        str(SMALL_SEED),
        "--raw",
        str(small_retailer),
        "--work",
        str(work),
        "--no-record",
        "--threads",
        "2",
    ]


def staged_event_ids(warehouse: Path, model: str = "stg_segment__events") -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {row[0] for row in con.execute(f"select event_id from staging.{model}").fetchall()}
    finally:
        con.close()


def test_build_bench_incremental_run_equals_a_full_refresh(small_retailer, tmp_path):
    """bench_build: floor, full build, 1% appended, incremental build = --full-refresh build of the same rows."""
    summary = bench_build.main(
        [*small_args(small_retailer, tmp_path), "--select", SMOKE_SELECTION, "--incremental", "--share", "0.05"]
    )
    assert summary["floor_seconds"] > 0 and summary["full_seconds"] > 0
    assert summary["events"] > 0 and summary["peak_rss_gb"] > 0
    assert set(INCREMENTAL_MODELS.split()) <= {name for name, _ in summary["timings"]}
    assert summary["appended"]["events"] > 0 and summary["appended"]["message_events"] > 0
    assert summary["identical"], summary["differences"]
    # The incremental run added the new events (rows tagged -inc1) to the staged ones.
    staged = staged_event_ids(tmp_path / "bench_build.duckdb")
    assert sum(event_id.endswith("-inc1") for event_id in staged) > 0


def test_model_seconds_are_summed_per_layer_largest_first():
    timings = [("stg_a", 2.0), ("int_identity__edges", 3.4), ("journey_actions", 1.0), ("base_b", 1.2)]
    assert bench_build.layers_text(timings) == "identity 3 s, staging 3 s, journeys 1 s"


def test_incremental_runs_follow_as_of_back_and_forth(small_retailer, tmp_path):
    """Incremental runs at an earlier as_of, then at the first one again, stage what full builds at them stage.

    The earlier run selects only the two models, so their base views keep the first as_of (the
    case that once re-staged the pruned rows); the last one re-creates the views too.
    """
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(small_retailer, warehouse)
    work = tmp_path / "dbt"
    bench_build.run_dbt(warehouse, work, ["seed"])
    bench_build.run_dbt(warehouse, work, ["run", "--select", SMOKE_SELECTION])
    models = INCREMENTAL_MODELS.split()
    before = {model: staged_event_ids(warehouse, model) for model in models}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cutoff = con.execute("select quantile_disc(occurred_at, 0.5) from staging.stg_segment__events").fetchone()[0]
        # Past the earlier as_of plus future_tolerance_hours (24): quarantined as in the future then.
        later = {
            model: {
                r[0]
                for r in con.execute(
                    f"select event_id from staging.{model} where occurred_at > ? + interval 24 hour", [cutoff]
                ).fetchall()
            }
            for model in models
        }
    finally:
        con.close()
    assert all(later.values()) and all(later[m] < before[m] for m in models)
    bench_build.run_dbt(warehouse, work, ["run", "--select", *models], as_of=cutoff)
    for model in models:
        after = staged_event_ids(warehouse, model)
        assert not (after & later[model]), f"{model}: events after the earlier as_of (+ tolerance) stayed staged"
        assert after == before[model] - later[model], model
    bench_build.run_dbt(warehouse, work, ["run", "--select", SMOKE_SELECTION])
    for model in models:
        assert staged_event_ids(warehouse, model) == before[model], f"{model}: moving as_of forward again"


def test_compare_warehouses_names_a_changed_relation(small_retailer, tmp_path):
    """The bench's equality check can fail: one changed row in one table is reported."""
    left, right = tmp_path / "l.duckdb", tmp_path / "r.duckdb"
    shutil.copyfile(small_retailer, left)
    shutil.copyfile(small_retailer, right)
    assert bench_build.compare_warehouses(left, right, ("raw",)) == []
    con = duckdb.connect(str(right))
    try:
        con.execute(
            "update raw.customers set email = 'changed@example.com' "
            "where rowid = (select min(rowid) from raw.customers)"
        )
    finally:
        con.close()
    differences = bench_build.compare_warehouses(left, right, ("raw",))
    assert differences == ["raw.customers: 1 rows only in l.duckdb, 1 only in r.duckdb"]


def test_multiset_difference_counts_what_except_all_counts():
    """Duplicates count, nulls equal nulls: the same counts as EXCEPT ALL each way."""
    con = duckdb.connect()
    try:
        for name, rows in (
            ("l", "(1, 'a'), (1, 'a'), (2, null), (3, 'c'), (null, null)"),
            ("r", "(1, 'a'), (2, null), (2, null), (4, 'd'), (null, null)"),
        ):
            con.execute(f"create table {name} as select * from (values {rows}) as t(k, v)")
        expected = tuple(
            con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
            for a, b in (("l", "r"), ("r", "l"))
        )
        assert expected == (2, 2)
        assert con.execute(bench_build.multiset_difference_sql("l", "r")).fetchone() == expected
        assert con.execute(bench_build.multiset_difference_sql("l", "l")).fetchone() == (0, 0)
    finally:
        con.close()


def test_append_raw_rows_adds_about_the_share_under_new_keys(small_retailer, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(small_retailer, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    before = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t, _, _ in bench_build.APPENDED}
    con.close()
    appended = bench_build.append_raw_rows(warehouse, share=0.1, tag="t1")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table, id_column, _ in bench_build.APPENDED:
            assert 0.03 * before[table] < appended[table] < 0.2 * before[table], table
            # Every new key is an old key plus the tag, and no old key had it.
            orphans = con.execute(
                f"""select count(*) from raw.{table}
                    where ends_with({id_column}, '-t1')
                      and left({id_column}, length({id_column}) - 3) not in
                          (select {id_column} from raw.{table} where not ends_with({id_column}, '-t1'))"""
            ).fetchone()[0]
            assert orphans == 0, table
            total = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            assert total == before[table] + appended[table], table
        lines = con.execute("select count(*) from raw.order_lines where ends_with(order_id, '-t1')").fetchone()[0]
        assert lines == appended["order_lines"] > 0
    finally:
        con.close()


def test_identity_components_bench_smoke(small_retailer, tmp_path):
    summary = bench_identity_components.main(small_args(small_retailer, tmp_path))
    assert summary["identity_seconds"] > 0 and summary["peak_rss_gb"] > 0
    assert summary["identifiers"] > summary["components"] > 0
    assert any(name == "int_identity__components" for name, _ in summary["timings"])


def test_results_rows_go_to_the_end_of_the_main_table(tmp_path):
    """bench_build.record (every build bench) and results_table (the sync benches) write to the same table."""
    results = tmp_path / "results.md"
    results.write_text(
        "# B\n\n| date | benchmark |\n|---|---|\n| 1 | 2 |\n\n## Other\n\n| x |\n|---|\n| y |\n"
        "\n## Later\n\n| date | benchmark |\n|---|---|\n| 5 | 6 |\n"
    )
    bench_build.record("| 3 | 4 |\n", results)
    assert results.read_text() == (
        "# B\n\n| date | benchmark |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n## Other\n\n| x |\n|---|\n| y |\n"
        "\n## Later\n\n| date | benchmark |\n|---|---|\n| 5 | 6 |\n"
    )


def test_profiles_bench_smoke(small_retailer, tmp_path):
    """bench_profiles (issue 3): identity, then profiles, against the floor of the columns they read."""
    summary = bench_profiles.main(small_args(small_retailer, tmp_path))
    assert summary["floor_seconds"] > 0 and summary["identity_seconds"] > 0 and summary["profile_seconds"] > 0
    assert summary["identifiers"] > summary["customers_resolved"] >= summary["buyers"] > 0
    names = {name for name, _ in summary["timings"]}
    assert {"customer_identifiers", "customer_profiles"} <= names and summary["peak_rss_gb"] > 0
