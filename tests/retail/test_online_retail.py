"""`segue import online-retail` on the real UCI files, and Segue built on a sample of it.

Expected figures are computed here straight from the parquet files with
DuckDB, by rules written independently of the importer (the overlap of the
two files is removed by date here, by invoice number there), and compared
with what lands in `raw` and in `marts`.

The importer's totals are checked on the full files (~1M lines, seconds).
The build (a Dagster run, over a minute even for a small retailer) runs on a
deterministic sample of SAMPLE customers; the full data's build is measured
in README.md ("Segue on a real retailer").
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from orchestration.importers.online_retail import OnlineRetailError, import_online_retail

DATA = Path(os.environ.get("SEGUE_ONLINE_RETAIL_DATA", "/work/shared/data/online_retail"))
FILE_I = DATA / "online_retail_I_full.parquet"
FILE_II = DATA / "online_retail_II_2009_2010.parquet"
AS_OF = "2011-12-09T13:00:00"  # just after the last invoice (2011-12-09 12:50)
SAMPLE = 300

pytestmark = pytest.mark.skipif(
    not (FILE_I.exists() and FILE_II.exists()), reason=f"the UCI Online Retail files are not in {DATA}"
)

# Both files as one relation with the 2010-12-01..09 overlap removed by date:
# Online Retail II's 2009-2010 sheet up to the first invoice of Online Retail.
SOURCE = f"""
    with
    first_file as (
        select InvoiceNo as inv, StockCode as sc, Quantity as q, UnitPrice as p, CustomerID as cid, InvoiceDate as ts
        from read_parquet('{FILE_I}')
    ),
    second_file as (
        select Invoice as inv, StockCode as sc, Quantity as q, Price as p, "Customer ID" as cid,
            cast(InvoiceDate as timestamp) as ts
        from read_parquet('{FILE_II}')
    )
    select * from first_file
    union all
    select * from second_file where ts < (select min(ts) from first_file)
"""


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("online_retail") / "retail.duckdb"
    summary = import_online_retail(DATA, str(warehouse))
    return warehouse, summary


def test_raw_totals_match_the_source_files(imported):
    warehouse, summary = imported
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"create temp view src as {SOURCE}")
        lines, invoices, cancellations, customers, net = _one(
            con,
            """select count(*), count(distinct inv), count(distinct inv) filter (where inv like 'C%'),
                      count(distinct cid), sum(q * p) from src""",
        )
        sales, sales_revenue = _one(
            con,
            """select count(distinct inv), sum(q * p) from src
               where regexp_matches(inv, '^[0-9]+$') and inv not in (
                   select inv from src group by inv having bool_and(q < 0))""",
        )
        raw = _one(
            con,
            """select
                 (select count(*) from raw.order_lines),
                 (select count(*) from raw.orders),
                 (select count(*) from raw.orders where status = 'cancelled'),
                 (select count(*) from raw.customers),
                 (select sum(case status when 'cancelled' then -total_amount else total_amount end) from raw.orders),
                 (select count(*) from raw.orders where status = 'completed'),
                 (select sum(total_amount) from raw.orders where status = 'completed')""",
        )
        orphan_lines = _one(
            con, "select count(*) from raw.order_lines l anti join raw.orders o on l.order_id = o.order_id"
        )[0]
    finally:
        con.close()
    assert (lines, invoices, cancellations, customers) == (1_044_847, 53_628, 8_292, 5_942)
    assert raw[:4] == (lines, invoices, cancellations, customers)
    assert raw[4] == pytest.approx(net, abs=0.01)  # revenue net of cancellations and adjustments
    assert raw[5:] == (sales, pytest.approx(sales_revenue, abs=0.01))
    assert orphan_lines == 0
    assert summary.overlapping_invoices == 1_088 and summary.overlapping_lines == 22_523
    assert summary.source_lines == lines + summary.overlapping_lines


def test_one_file_gives_the_canonical_figures(tmp_path):
    """Online Retail alone: 25,900 invoices, 4,372 customers, sum(qty*price) 9,747,747.93 (SOURCE.txt)."""
    warehouse = tmp_path / "one.duckdb"
    import_online_retail(FILE_I, str(warehouse))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orders, customers, net, lines = _one(
            con,
            """select (select count(*) from raw.orders), (select count(*) from raw.customers),
                      (select sum(case status when 'cancelled' then -total_amount else total_amount end)
                       from raw.orders),
                      (select count(*) from raw.order_lines)""",
        )
    finally:
        con.close()
    assert (orders, customers, lines) == (25_900, 4_372, 541_909)
    assert net == pytest.approx(9_747_747.93, abs=0.01)


def test_a_path_without_parquet_is_refused(tmp_path):
    with pytest.raises(OnlineRetailError, match=r"no \.parquet file"):
        import_online_retail(tmp_path, str(tmp_path / "w.duckdb"))
    bad = tmp_path / "other.parquet"
    con = duckdb.connect()
    con.execute(f"copy (select 1 as a) to '{bad}' (format parquet)")
    con.close()
    with pytest.raises(OnlineRetailError, match="no column InvoiceNo or Invoice"):
        import_online_retail(bad, str(tmp_path / "w.duckdb"))


def _segment_sizes(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(
            con.execute(
                "select coalesce(rfm_segment, '(none)'), count(*) from marts.customer_profiles group by 1"
            ).fetchall()
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def built_sample(tmp_path_factory, dagster_home):
    """A SAMPLE-customer import after one dry `segue run` (Dagster in-process)."""
    from orchestration import runner

    warehouse = tmp_path_factory.mktemp("online_retail_sample") / "sample.duckdb"
    import_online_retail(DATA, str(warehouse), sample_customers=SAMPLE)
    names = ("SEGUE_WAREHOUSE", "SEGUE_AS_OF", "DAGSTER_HOME", "SEGUE_DRY_RUN")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        runner.apply_settings(str(warehouse), AS_OF, dry_run=True)
        first = runner.run(dry_run=True)
        sizes = _segment_sizes(warehouse)
        # The second run rebuilds every profile model (RFM included) from the same data.
        second = runner.run(select="group:profiles", dry_run=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return warehouse, first, sizes, second


@pytest.mark.slow
@pytest.mark.e2e
def test_the_sample_builds_and_its_marts_match_the_source(built_sample):
    warehouse, first, _, _ = built_sample
    assert first.success, (first.failed_steps, [c.check for c in first.failed_checks if c.severity == "ERROR"])
    assert not [c for c in first.failed_checks if c.severity == "ERROR"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"create temp view src as {SOURCE}")
        con.execute(
            """create temp view sample_src as
               select * from src
               where cast(cast(cid as bigint) as varchar) in (select customer_id from raw.customers)"""
        )
        customers, orders, revenue, net = _one(
            con,
            """select count(distinct cid),
                      count(distinct inv) filter (where inv not like 'C%'),
                      sum(q * p) filter (where inv not like 'C%'),
                      sum(q * p)
               from sample_src""",
        )
        profiles, orders_count, lifetime_revenue = _one(
            con,
            "select count(*), sum(orders_count), sum(lifetime_revenue) from marts.customer_profiles",
        )
        cancelled = _one(
            con,
            """select sum(total_amount) from raw.orders o
               where status = 'cancelled' and customer_id is not null""",
        )[0]
        journeys = dict(con.execute("select journey, count(*) from marts.journey_actions group by 1").fetchall())
        email_sends = _one(
            con, "select count(*) from marts.journey_actions where channel in ('email', 'sms') and decision = 'send'"
        )[0]
    finally:
        con.close()
    assert customers == SAMPLE
    assert profiles == SAMPLE
    assert orders_count == orders
    assert float(lifetime_revenue) == pytest.approx(revenue, abs=0.01)
    # revenue net of cancellations: the profiles' revenue less what the customers' credit notes cancelled
    assert float(lifetime_revenue) - float(cancelled) == pytest.approx(net, abs=0.01)
    assert journeys.get("win_back", 0) > 0
    assert email_sends == 0  # the data holds no consent (nor any address): nothing may be sent


@pytest.mark.slow
@pytest.mark.e2e
def test_rfm_segment_sizes_are_stable_between_runs(built_sample):
    warehouse, _, sizes, second = built_sample
    assert second.success, second.failed_steps
    assert sum(sizes.values()) == SAMPLE
    assert len(sizes) > 1
    assert _segment_sizes(warehouse) == sizes
