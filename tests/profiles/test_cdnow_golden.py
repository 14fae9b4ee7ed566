"""Golden test: the CDNOW transaction log (lifetimes' CDNOW_sample.txt) loaded as raw orders.

Every profile fact about purchases must equal what the raw log says, computed
here independently with pandas: one customer per CDNOW customer id, orders
counted line by line (several a day included, zero-amount ones included),
revenue summed, first and last order dates.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest


def test_the_log_is_the_one_we_pinned(cdnow_orders):
    # 6,919 purchases by 2,357 customers, eight of them for 0.00.
    assert len(cdnow_orders) == 6919
    assert cdnow_orders["customer_id"].nunique() == 2357
    assert (cdnow_orders["amount"] == 0).sum() == 8
    assert cdnow_orders["ordered_at"].min() == pd.Timestamp("1997-01-01")
    assert cdnow_orders["ordered_at"].max() == pd.Timestamp("1998-06-30")


def test_build_succeeds(cdnow_build):
    cdnow_build.build.check()


@pytest.fixture(scope="module")
def profiles(cdnow_build) -> pd.DataFrame:
    cdnow_build.build.check()
    rows = cdnow_build.dbt.query(
        """
        select customer_key, customer_id, orders_count, online_orders_count, store_transactions_count,
               lifetime_revenue, average_order_value, first_order_at, last_order_at,
               recency_score, frequency_score, monetary_score, rfm_segment
        from marts.customer_profiles
        """
    )
    columns = [
        "customer_key", "customer_id", "orders_count", "online_orders_count", "store_transactions_count",
        "lifetime_revenue", "average_order_value", "first_order_at", "last_order_at",
        "recency_score", "frequency_score", "monetary_score", "rfm_segment",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def test_one_profile_per_cdnow_customer(profiles, cdnow_orders):
    assert profiles["customer_key"].is_unique
    assert profiles["customer_id"].notna().all()
    assert profiles["customer_id"].is_unique
    assert set(profiles["customer_id"]) == set(cdnow_orders["customer_id"])


def test_purchase_facts_equal_the_raw_log(profiles, cdnow_orders):
    expected = (
        cdnow_orders.groupby("customer_id")
        .agg(
            orders=("order_id", "size"),
            revenue=("amount", "sum"),
            first=("ordered_at", "min"),
            last=("ordered_at", "max"),
        )
        .reset_index()
    )
    merged = expected.merge(profiles, on="customer_id", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()

    wrong_count = merged[merged["orders"] != merged["orders_count"]]
    assert wrong_count.empty, f"{len(wrong_count)} customers with the wrong orders_count:\n{wrong_count.head()}"
    assert (merged["online_orders_count"] == merged["orders"]).all()
    assert (merged["store_transactions_count"] == 0).all()

    wrong_revenue = merged[(merged["revenue"] - merged["lifetime_revenue"].astype(float)).abs() > 0.005]
    assert wrong_revenue.empty, f"{len(wrong_revenue)} customers with the wrong revenue:\n{wrong_revenue.head()}"

    first = pd.to_datetime(merged["first_order_at"])
    last = pd.to_datetime(merged["last_order_at"])
    assert (first == merged["first"]).all(), merged[first != merged["first"]].head()
    assert (last == merged["last"]).all(), merged[last != merged["last"]].head()

    aov = merged["lifetime_revenue"].astype(float) / merged["orders_count"]
    assert ((merged["average_order_value"].astype(float) - aov).abs() < 1e-6).all()
    # The totals, for the log: 6,919 orders.
    assert merged["orders_count"].sum() == len(cdnow_orders)
    assert abs(merged["lifetime_revenue"].astype(float).sum() - cdnow_orders["amount"].sum()) < 0.01


def test_zero_amount_orders_count(profiles, cdnow_orders):
    zero_buyers = set(cdnow_orders.loc[cdnow_orders["amount"] == 0, "customer_id"])
    assert zero_buyers
    counts = cdnow_orders.groupby("customer_id").size()
    got = profiles.set_index("customer_id").loc[sorted(zero_buyers), "orders_count"]
    assert (got == counts.loc[sorted(zero_buyers)]).all()


def test_rfm_scores_are_quintiles_of_the_log(profiles, cdnow_orders):
    # Every customer bought, so every one is scored; scores follow the rank
    # rule 1 + floor(5 * (rank - 1) / n), recency reversed (latest = 5).
    assert profiles["rfm_segment"].ne("no_orders").all()
    n = len(profiles)
    for column, value in (
        ("recency_score", pd.to_datetime(profiles["last_order_at"])),
        ("frequency_score", profiles["orders_count"]),
        ("monetary_score", profiles["lifetime_revenue"].astype(float)),
    ):
        rank = value.rank(method="min")
        expected = 1 + ((5 * (rank - 1)) // n).astype(int)
        assert (profiles[column] == expected).all(), column
    latest = profiles["last_order_at"] == profiles["last_order_at"].max()
    assert (profiles.loc[latest, "recency_score"] == 5).all()


def test_profile_tests_pass(cdnow_build):
    """Every dbt test of models/profiles passes here: the data tests on CDNOW, and the unit tests
    (survivorship, consent precedence, RFM edges, zero-amount orders)."""
    result = cdnow_build.profile_tests.check()
    run_results = json.loads((cdnow_build.dbt.work_dir / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in run_results["results"]}
    expected = {
        "consent_latest_decision_holds",
        "contact_survivorship_most_recent_value_then_source",
        "purchases_count_completed_and_zero_amount",
        "order_summary_counts_zero_amount_orders",
        "rfm_quintiles_recency_reversed_ties_share",
        "rfm_single_customer_and_all_tied",
        "profile_consent_channel_home_store_and_timezone",
    }
    assert expected <= set(statuses), f"missing unit tests: {expected - set(statuses)}\n{result.stdout[-2000:]}"
    assert all(statuses[name] == "pass" for name in expected), statuses
