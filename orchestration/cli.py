"""The `segue` command (CONTRACT.md section 1)."""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestration import raw_contract, settings

app = typer.Typer(
    name="segue",
    help="Warehouse-native customer journeys and reverse ETL for retailers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (make demo, CI logs) gets 120 columns instead of rich's 80.
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)

WarehouseOpt = Annotated[
    str | None,
    typer.Option("--warehouse", help="DuckDB file (overrides SEGUE_WAREHOUSE; default ./warehouse.duckdb)"),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="the instant that counts as now, ISO 8601 UTC (overrides SEGUE_AS_OF)"),
]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@app.command()
def generate(
    customers: Annotated[int, typer.Option("--customers", min=1, help="how many people the retailer has")] = 20000,
    seed: Annotated[int, typer.Option("--seed", help="random seed; same inputs give the same data")] = 42,
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Write a realistic, messy sample retailer into schema `raw` and its truth into `truth`."""
    from orchestration.generator import generate as generate_retailer
    from orchestration.runner import apply_settings

    try:
        apply_settings(warehouse, as_of)
    except settings.SettingsError as exc:
        _fail(str(exc))
    target = settings.warehouse_path()
    instant = settings.as_of_or_now()
    console.print(
        f"Generating {customers:,} customers (seed {seed}, as of {settings.format_as_of(instant)}) into {target}"
    )
    started = time.perf_counter()
    counts = generate_retailer(target, customers=customers, seed=seed, as_of=instant)
    elapsed = time.perf_counter() - started
    table = Table(title=f"raw schema written in {elapsed:.1f} s", show_edge=False)
    table.add_column("raw table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


import_app = typer.Typer(help="Load a real retailer's exports into schema `raw`.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("online-retail")
def import_online_retail_command(
    path: Annotated[str, typer.Argument(help="a UCI Online Retail (or II) parquet file, or a folder of them")],
    warehouse: WarehouseOpt = None,
    sample_customers: Annotated[
        int | None,
        typer.Option("--sample-customers", min=1, help="keep only N customers (chosen by a stable hash), no guests"),
    ] = None,
    source_timezone: Annotated[
        str, typer.Option("--source-timezone", help="time zone of the data's InvoiceDate (converted to UTC)")
    ] = "Europe/London",
) -> None:
    """Map the UCI Online Retail invoice logs onto the raw contract (see orchestration/importers/online_retail.py)."""
    from orchestration.importers.online_retail import OnlineRetailError, import_online_retail

    if warehouse:
        os.environ["SEGUE_WAREHOUSE"] = warehouse
    target = settings.warehouse_path()
    console.print(f"Importing Online Retail from {path} into {target}")
    try:
        summary = import_online_retail(path, target, sample_customers=sample_customers, source_timezone=source_timezone)
    except OnlineRetailError as exc:
        _fail(str(exc))
    from orchestration.importers.report import print_import_summary

    print_import_summary(console, summary)


@app.command("run")
def run_command(
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="plan every sync, send nothing")] = False,
    select: Annotated[
        str | None,
        typer.Option(
            "--select", help="Dagster asset selection, e.g. 'group:staging' or 'key:staging/stg_shop__orders+'"
        ),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar="SEGUE_LOG_LEVEL",
            help="console level of Dagster's run log (DEBUG shows every event; the UI keeps them all anyway)",
        ),
    ] = "WARNING",
    force: Annotated[
        list[str] | None,
        typer.Option("--force", help="sync model to push through its circuit breaker (repeatable)"),
    ] = None,
) -> None:
    """Materialize the asset graph in-process through Dagster and print a summary."""
    from orchestration.runner import apply_settings, run

    if log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        _fail(f"--log-level {log_level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    os.environ["SEGUE_FORCE_SYNCS"] = ",".join(force or [])

    try:
        apply_settings(warehouse, as_of, dry_run=dry_run)
    except settings.SettingsError as exc:
        _fail(str(exc))
    from orchestration import engines

    try:
        target = engines.describe_target(settings.warehouse_path())
    except engines.EngineError as exc:
        _fail(str(exc))
    shown_as_of = os.environ.get("SEGUE_AS_OF") or "the real clock"
    console.print(f"segue run: warehouse {target}, as of {shown_as_of}{' (dry run)' if dry_run else ''}")
    started = time.perf_counter()
    try:
        outcome = run(select=select, dry_run=dry_run, log_level=log_level)
    except raw_contract.RawContractError as exc:
        _fail(str(exc))
    except (ValueError, engines.EngineError) as exc:
        _fail(str(exc))
    elapsed = time.perf_counter() - started
    print_run_summary(outcome, elapsed)
    if not outcome.success:
        raise typer.Exit(1)


def print_run_summary(outcome, elapsed: float) -> None:
    from orchestration import engines
    from orchestration.summary import WarehouseSummary, read_summary

    # The counts are read from the DuckDB file; on other targets dbt's own log shows them.
    summary = read_summary(outcome.warehouse) if engines.uses_duckdb() else WarehouseSummary()
    if summary.tables:
        tables = Table(title="warehouse", show_edge=False)
        tables.add_column("table")
        tables.add_column("rows", justify="right")
        for name, rows in summary.tables.items():
            tables.add_row(name, f"{rows:,}")
        console.print(tables)
    if summary.segments:
        seg = Table(title="segments", show_edge=False)
        seg.add_column("segment")
        seg.add_column("customers", justify="right")
        for name, rows in summary.segments.items():
            seg.add_row(name, f"{rows:,}")
        console.print(seg)
    if summary.actions_by_channel:
        act = Table(title="journey actions", show_edge=False)
        act.add_column("channel")
        act.add_column("decision")
        act.add_column("actions", justify="right")
        for (channel, decision), rows in summary.actions_by_channel.items():
            act.add_row(channel, decision, f"{rows:,}")
        console.print(act)
    if summary.quarantine:
        quarantine = Table(title="quarantined raw rows (kept with their reason)", show_edge=False)
        quarantine.add_column("raw table")
        quarantine.add_column("reason")
        quarantine.add_column("rows", justify="right")
        for (table, reason), rows in summary.quarantine.items():
            quarantine.add_row(table, reason, f"{rows:,}")
        console.print(quarantine)
    checks = outcome.checks
    failed = outcome.failed_checks
    console.print(
        f"checks: {len(checks) - len(failed)} passed, {len(failed)} not passed "
        f"({sum(1 for c in failed if c.severity == 'ERROR')} errors)"
    )
    for check in failed:
        console.print(f"  [{check.severity}] {check.asset} :: {check.check} {check.description}".rstrip())
    from orchestration.syncs_cli import print_sync_summary

    if engines.uses_duckdb():
        print_sync_summary(console, outcome.warehouse, outcome.run_id, outcome.dry_run)
    else:
        console.print(f"target {engines.target()}: dbt models and tests only (the syncs and GX suites read DuckDB)")
    for step, message in outcome.failed_steps.items():
        err.print(f"[bold red]failed:[/] {step}: {message}", highlight=False)
    for sync, envs in outcome.unconfigured_syncs.items():
        console.print(
            f"[yellow]skipped:[/] sync {sync}: destination not configured (set {', '.join(envs)})", highlight=False
        )
    for sync in outcome.blocked_syncs:
        err.print(
            f"[bold red]blocked:[/] sync {sync} did not run: a step or blocking check upstream failed", highlight=False
        )
    status = "[green]succeeded[/]" if outcome.success else "[bold red]FAILED[/]"
    console.print(f"run {outcome.run_id} {status} in {elapsed:.1f} s: {len(outcome.materialized)} assets materialized")


@app.command("load-raw")
def load_raw_command(warehouse: WarehouseOpt = None) -> None:
    """Copy a DuckDB warehouse's schema `raw` into the selected dbt target (SEGUE_DBT_TARGET: postgres or spark)."""
    from orchestration import engines

    if warehouse:
        os.environ["SEGUE_WAREHOUSE"] = warehouse
    source = settings.warehouse_path()
    try:
        raw_contract.check_warehouse(source)
        destination = engines.describe_target(source)
        counts, seconds = engines.copy_raw(source)
    except (raw_contract.RawContractError, engines.EngineError) as exc:
        _fail(str(exc))
    table = Table(title=f"raw schema copied to {destination} in {seconds:.1f} s", show_edge=False)
    table.add_column("raw table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


@app.command("explain")
def explain_command(
    identifier: Annotated[str, typer.Argument(help="an email, phone, customer_id, loyalty_id or anonymous_id")],
    identifier_type: Annotated[
        str | None,
        typer.Option("--type", help="customer_id, loyalty_id, email, phone or anonymous_id (guessed when omitted)"),
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Show an identifier's customer, the observations that linked it, and the rules that stopped a link."""
    from orchestration.explain import ExplainError, explain

    if warehouse:
        os.environ["SEGUE_WAREHOUSE"] = warehouse
    try:
        result = explain(identifier, identifier_type, settings.warehouse_path())
    except ExplainError as exc:
        _fail(str(exc))
    for line in result.lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)


from orchestration.syncs_cli import app as syncs_app  # noqa: E402
from orchestration.syncs_cli import emulators_command, personalization_app  # noqa: E402

app.add_typer(syncs_app, name="syncs")
app.command("emulators")(emulators_command)
app.add_typer(personalization_app, name="personalization")


def main() -> None:
    """Console entry (`segue`): a setting Segue cannot use is a clear error, not a traceback."""
    try:
        app(sys.argv[1:])
    except settings.SettingsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
