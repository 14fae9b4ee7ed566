"""Print what an importer mapped (rich tables on the CLI's console)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orchestration.importers.online_retail import ImportSummary


def print_import_summary(console: Console, s: ImportSummary) -> None:
    sample = f" (sample: {s.sample_customers:,} customers, guest invoices left out)" if s.sample_customers else ""
    console.print(f"read {s.source_lines:,} invoice lines from {len(s.files)} file(s){sample}")
    if s.overlapping_invoices:
        console.print(
            f"  {s.overlapping_invoices:,} invoices are in more than one file: taken once from the newest "
            f"({s.overlapping_lines:,} repeated lines not imported twice)"
        )
    console.print(f"  {s.lines:,} lines imported, orders from {s.first_order_at} to {s.last_order_at} UTC")

    orders = Table(title="orders (one per invoice)", show_edge=False)
    orders.add_column("status")
    orders.add_column("orders", justify="right")
    orders.add_column("total_amount", justify="right")
    amounts = {
        "completed": s.revenue_completed,
        "cancelled": s.revenue_cancelled,
        "adjustment": s.revenue_adjustments,
    }
    for status, count in s.orders_by_status.items():
        orders.add_row(status, f"{count:,}", f"{amounts.get(status, 0.0):,.2f}")
    console.print(orders)
    console.print(
        f"  guest orders (no CustomerID): {s.guest_orders:,}; revenue net of cancellations and adjustments: "
        f"{s.revenue_completed - s.revenue_cancelled + s.revenue_adjustments:,.2f} GBP"
    )
    console.print("  status 'adjustment' (bad-debt and stock write-off invoices) is quarantined by staging")

    lines = Table(title="order lines", show_edge=False)
    lines.add_column("outcome")
    lines.add_column("lines", justify="right")
    for outcome, count in s.lines_by_outcome.items():
        lines.add_row(outcome, f"{count:,}")
    console.print(lines)

    console.print(f"customers: {s.customers:,} (identified by CustomerID only: no email, phone or name in the data)")
    console.print(
        f"products: {s.products:,} stock codes, {s.categorized_products:,} with a category derived from the name "
        f"({s.categorized_lines:,} of {s.lines:,} lines)"
    )
    if s.countries_without_code:
        shown = ", ".join(f"{name} ({n:,} lines)" for name, n in s.countries_without_code.items())
        console.print(f"country names without an ISO code (country left null): {shown}")

    raw = Table(title=f"raw schema written in {s.elapsed_s:.1f} s", show_edge=False)
    raw.add_column("raw table")
    raw.add_column("rows", justify="right")
    for name, rows in s.raw_counts.items():
        raw.add_row(name, f"{rows:,}")
    console.print(raw)
