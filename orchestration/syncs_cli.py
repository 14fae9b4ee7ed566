"""`segue syncs list|validate|plan|run` and `segue emulators` (CONTRACT §1)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from destinations.base import ConfigError

app = typer.Typer(help="List, validate and preview the declared syncs.", no_args_is_help=True)
# Piped output (make demo, CI logs) gets 120 columns instead of rich's 80.
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)

WarehouseOpt = Annotated[str | None, typer.Option("--warehouse", help="DuckDB file (overrides SEGUE_WAREHOUSE)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="the instant that counts as now (ISO 8601 UTC)")]


def _specs(credentials: bool = False, skip_unconfigured: bool = False):
    from destinations.config import load_manifest, load_specs
    from orchestration.project import ensure_manifest

    return load_specs(load_manifest(ensure_manifest()), credentials=credentials, skip_unconfigured=skip_unconfigured)


def _spec(name: str):
    """A sync by model name, `<destination>/<name>` (its asset key's tail) or `<name>` when only one sync has it."""
    specs = {s.name: s for s in _specs()}
    by_asset = {s.name.removeprefix("sync_").replace("__", "/", 1): s for s in specs.values()}
    spec = specs.get(name) or by_asset.get(name)
    if spec is None:
        same = sorted(s.name for s in specs.values() if s.name.split("__", 1)[-1] == name)
        if len(same) > 1:
            _fail(f"{name!r} names {len(same)} syncs ({', '.join(same)}); give the model name or <destination>/{name}")
        spec = specs.get(same[0]) if same else None
    if spec is None:
        _fail(f"no sync named {name!r}; declared: {', '.join(sorted(specs)) or 'none'}")
    return spec


def _fail(message: str, code: int = 2):
    typer.echo(f"error: {message}", err=True)  # unwrapped: each problem stays on one line
    raise typer.Exit(code)


def _settings(warehouse: str | None, as_of: str | None):
    from orchestration import settings
    from orchestration.runner import apply_settings

    try:
        apply_settings(warehouse, as_of)
    except settings.SettingsError as exc:
        _fail(str(exc))
    return settings.warehouse_path(), settings.as_of_or_now()


@app.command("list")
def list_command() -> None:
    """Every declared sync: model, destination, mode, object, key, schedule."""
    try:
        specs = _specs()
    except ConfigError as exc:
        _fail(str(exc), 1)
    rows = [("sync model", "destination", "mode", "object", "primary key", "fields", "schedule")]
    rows += [
        (s.name, s.destination, s.mode, s.object, s.primary_key, str(len(s.mapping)), s.schedule or "") for s in specs
    ]
    _print_rows(rows)


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    """Plain aligned columns (never truncated, easy to grep)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@app.command("validate")
def validate_command() -> None:
    """Check every declaration, its columns and destination, and that credentials are set. Sends nothing."""
    from destinations.config import UNCONFIGURED_SETTING, skip_unconfigured, unconfigured_destinations

    try:
        specs = _specs(credentials=True, skip_unconfigured=skip_unconfigured())
        by_destination = unconfigured_destinations()
    except ConfigError as exc:
        _fail(str(exc), 1)
    unconfigured = {s.name: by_destination[s.destination] for s in specs if s.destination in by_destination}
    ready = [s.name for s in specs if s.name not in unconfigured]
    console.print(f"{len(ready)} syncs valid: " + ", ".join(ready), highlight=False)
    for name, envs in unconfigured.items():
        console.print(
            f"skipped: {name}: destination not configured (set {', '.join(envs)}; {UNCONFIGURED_SETTING}=skip)",
            highlight=False,
        )


@app.command("plan")
def plan_command(
    name: Annotated[str, typer.Argument(help="sync model name, e.g. sync_klaviyo__customers (or klaviyo/customers)")],
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
    show: Annotated[int, typer.Option("--show", help="example keys to print per kind")] = 5,
) -> None:
    """Compute the plan in the warehouse (what would be added, changed, removed, sent) and send nothing."""
    import duckdb

    from destinations import engine, state
    from destinations.registry import destination_class

    spec = _spec(name)
    path, now = _settings(warehouse, as_of)
    try:
        instance = _instance(spec)
        dedupes = destination_class(instance.type).capabilities.dedupes_actions
        con = duckdb.connect(path)
        try:
            counts = engine.compute_plan(con, spec, now, dedupes)
            reason = engine.breaker(con, spec, counts)
            examples = con.execute(
                f"select op, list(record_key order by record_key)[1:{int(show)}] "
                f"from {state.plan_table(spec.name)} group by 1 order by 1"
            ).fetchall()
        finally:
            con.close()
    except ConfigError as exc:
        _fail(str(exc), 1)
    typer.echo(f"plan of {spec.name} ({spec.mode} -> {spec.destination} {spec.object}), nothing sent:")
    shown = dict(examples)
    rows = [(op, f"{n:,}", ", ".join(shown.get(op) or [])) for op, n in sorted(counts.items())]
    _print_rows([("kind", "rows", "e.g. keys"), *rows])
    if reason:
        console.print(f"[bold red]blocked:[/] {reason}")


def _instance(spec):
    from destinations.config import load_destinations

    instances = load_destinations()
    if spec.destination not in instances:
        raise ConfigError(f"model {spec.name}: meta.sync.destination: unknown destination {spec.destination!r}")
    return instances[spec.destination]


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="sync model name")],
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
    force: Annotated[bool, typer.Option("--force", help="push through a plan the circuit breaker blocks")] = False,
    batch_rows: Annotated[int | None, typer.Option("--batch-rows", help="cap the rows per request")] = None,
) -> None:
    """Run one sync now, outside Dagster (the model must be built). Exits 1 unless it succeeded."""
    from destinations.engine import describe_result, run_sync

    spec = _spec(name)
    if batch_rows:
        spec = spec.model_copy(update={"batch_rows": batch_rows})
    path, now = _settings(warehouse, as_of)
    try:
        result = run_sync(spec, _instance(spec), path, now, force=force)
    except ConfigError as exc:
        _fail(str(exc), 1)
    console.print(describe_result(result))
    if result.status == "blocked":
        err.print(f"[bold red]blocked:[/] {spec.name}: {result.blocked_reason}", highlight=False)
    if result.status not in ("succeeded", "dry_run"):
        raise typer.Exit(1)


def emulators_command(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8900,
) -> None:
    """Serve local emulators of every supported destination API until stopped, each under its prefix (/klaviyo, ...)."""
    import uvicorn

    from destinations.emulators import build_app

    app = build_app()
    root = f"http://{host}:{port}"
    prefixes = ", ".join(f"{root}/{name}" for name in app.state.emulators)
    console.print(f"emulators on {prefixes} (<DESTINATION>_BASE_URL; WEBHOOK_URL={root}/webhook/receive)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


personalization_app = typer.Typer(help="The personalization API (on-site profiles).", no_args_is_help=True)


@personalization_app.command("serve")
def personalization_serve_command(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8700,
    db: Annotated[str | None, typer.Option("--db", help="SQLite store (overrides PERSONALIZATION_DB)")] = None,
    workers: Annotated[int, typer.Option("--workers", help="uvicorn worker processes")] = 1,
) -> None:
    """Serve GET /v1/profiles/{identifier_type}/{identifier_value} (and the sync's write API) until stopped."""
    import os

    import uvicorn

    from destinations.personalization.service import store_path

    read_key = os.environ.get("PERSONALIZATION_READ_KEY", "").strip()
    if not read_key:
        _fail("set PERSONALIZATION_READ_KEY: the key the website sends in the X-Api-Key header")
    if db:
        os.environ["PERSONALIZATION_DB"] = db
    writes = "on (PERSONALIZATION_API_KEY)" if os.environ.get("PERSONALIZATION_API_KEY", "").strip() else "off"
    console.print(f"personalization API on http://{host}:{port}, store {store_path()}, write API {writes}")
    uvicorn.run(
        "destinations.personalization.service:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def print_sync_summary(out: Console, warehouse: str, run_id: str, dry_run: bool) -> None:
    """Rows per destination for the syncs of Dagster run `run_id` (read from segue.sync_runs)."""
    import duckdb

    con = duckdb.connect(warehouse, read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'segue' and table_name = 'sync_runs'"
        ).fetchall()[0][0]
        rows = (
            con.execute(
                "select sync_name, destination, mode, status, planned, succeeded, rejected, failed, unknown, "
                "unchanged, waiting, coalesce(blocked_reason, error, '') from segue.sync_runs "
                "where dagster_run_id = ? order by destination, sync_name",
                [run_id],
            ).fetchall()
            if exists
            else []
        )
    finally:
        con.close()
    if not rows:
        out.print("syncs: none ran" + (" (dry run: nothing sent)" if dry_run else ""))
        return
    title = "syncs (dry run: planned, nothing sent)" if dry_run else "syncs"
    table = Table(title=title, show_edge=False)
    table.add_column("sync", no_wrap=True)
    for column in ("mode", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("planned", "synced", "rejected", "failed"):
        table.add_column(column, justify="right")
    from orchestration.summary import destination_totals

    for name, dest, mode, status, planned, ok, rejected, failed, unknown, _unchanged, _waiting, _why in rows:
        short = name.split("__", 1)[-1]
        table.add_row(
            f"{dest}/{short}", mode, status, f"{planned:,}", f"{ok:,}", f"{rejected:,}", f"{failed + unknown:,}"
        )
    out.print(table)
    for dest, total in destination_totals(rows).items():
        out.print(
            f"rows synced to {dest}: {total.rows:,}, messages {total.messages:,} "
            f"({total.rejected:,} rejected, {total.failed:,} failed)"
        )
    for name, *_rest, why in rows:
        if why:
            out.print(f"  {name}: {why}")
