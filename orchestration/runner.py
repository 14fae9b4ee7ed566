"""`segue run`: materialize the asset graph in-process through Dagster.

Settings are placed in the environment before the definitions are loaded, so
the dbt subprocesses Dagster starts see the same warehouse and as-of.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from orchestration import engines, settings


@dataclass
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str
    description: str = ""


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    warehouse: str
    as_of: datetime | None
    dry_run: bool
    materialized: list[str] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    # Sync assets the run was asked for that never ran: a failed step or a failed
    # blocking check upstream stopped them (CONTRACT §6: blocked, reported, non-zero).
    blocked_syncs: list[str] = field(default_factory=list)
    # Syncs skipped because their destination lacks credentials (SEGUE_UNCONFIGURED_DESTINATIONS=skip):
    # sync asset key -> the unset environment variables.
    unconfigured_syncs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]


def apply_settings(warehouse: str | None, as_of: str | None, dry_run: bool = False) -> None:
    """Command-line values override the environment (CONTRACT.md section 1)."""
    if warehouse:
        os.environ["SEGUE_WAREHOUSE"] = warehouse
    os.environ["SEGUE_WAREHOUSE"] = settings.warehouse_path()
    if as_of:
        os.environ["SEGUE_AS_OF"] = settings.format_as_of(settings.parse_as_of(as_of, field="--as-of"))
    elif os.environ.get("SEGUE_AS_OF", "").strip():
        os.environ["SEGUE_AS_OF"] = settings.format_as_of(settings.as_of())  # validate early
    settings.check_flags()  # validate early
    if dry_run:
        os.environ["SEGUE_DRY_RUN"] = "1"
    else:
        os.environ.pop("SEGUE_DRY_RUN", None)


def _instance():
    from dagster import DagsterInstance

    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def run(select: str | None = None, dry_run: bool = False, log_level: str = "WARNING") -> RunOutcome:
    """Materialize everything (or `select`, Dagster's asset selection syntax) once.

    `log_level` is the console level of Dagster's run log (every event is stored in
    the instance either way, so the UI shows the full log).

    Raises RawContractError before anything is built when the raw inputs are missing.
    """
    warehouse = settings.warehouse_path()
    engines.check_raw(warehouse)  # the selected dbt target's raw schema (DuckDB file by default)
    if engines.uses_duckdb():
        from destinations.state import upgrade_views

        upgrade_views(warehouse)  # before dbt reads segue.action_deliveries

    from dagster import AssetSelection

    from orchestration.definitions import defs

    job = defs.resolve_job_def("segue_build")
    asset_keys = None
    if select:
        graph = defs.resolve_asset_graph()
        asset_keys = sorted(AssetSelection.from_string(select).resolve(graph) & graph.materializable_asset_keys)
        if not asset_keys:
            raise ValueError(f"--select {select!r} matches no asset that Segue can build")
    with _instance() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            asset_selection=asset_keys,
            run_config={"loggers": {"console": {"config": {"log_level": log_level.upper()}}}},
            tags={
                "segue/dry_run": str(dry_run).lower(),
                "segue/entrypoint": "segue run",
                # `segue run` sends its own alert (no daemon runs its sensors); the alert sensors skip it.
                ALERTED_TAG: "in-process",
            },
        )
    outcome = RunOutcome(
        success=result.success,
        run_id=result.run_id,
        warehouse=warehouse,
        as_of=settings.as_of(),
        dry_run=dry_run,
    )
    for event in result.get_asset_materialization_events():
        outcome.materialized.append(event.asset_key.to_user_string())
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        message = error.message.strip() if error else "failed"
        if error and error.cause:
            message = error.cause.message.strip()
        outcome.failed_steps[event.step_key] = message
    from orchestration.assets.syncs import SYNC_ASSETS

    wanted = set(asset_keys) if asset_keys is not None else None
    from destinations.config import unconfigured_destinations

    unconfigured = unconfigured_destinations() if not dry_run else {}
    for sync_asset in SYNC_ASSETS if engines.uses_duckdb() else []:
        if sync_asset.op.name in outcome.failed_steps:
            continue  # ran and failed (its own breaker or errors): reported as a failed step
        for key in sync_asset.keys:
            name = key.to_user_string()
            if (wanted is None or key in wanted) and name not in outcome.materialized:
                destination = key.path[1]
                if destination in unconfigured and _step_succeeded(result, sync_asset.op.name):
                    outcome.unconfigured_syncs[name] = unconfigured[destination]
                else:
                    outcome.blocked_syncs.append(name)
    for evaluation in result.get_asset_check_evaluations():
        outcome.checks.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description or "",
            )
        )
    # A failed error-severity check (a GX suite, a dbt test) fails `segue run` even
    # when Dagster let the run itself finish.
    if any(c.severity == "ERROR" for c in outcome.failed_checks) or outcome.blocked_syncs:
        outcome.success = False
    if not outcome.success:
        _alert(outcome, result)
    return outcome


ALERTED_TAG = "segue/alerted"


def _step_succeeded(result, step_key: str) -> bool:
    """The sync's step ran to the end (a skipped-as-unconfigured sync does; a blocked one never starts)."""
    return any(e.event_type_value == "STEP_SUCCESS" and e.step_key == step_key for e in result.all_events)


def _alert(outcome: RunOutcome, result) -> None:
    """A failed run or a blocked sync: the alert the sensors would send under the daemon (alerts.py)."""
    from orchestration import alerts

    checks = [
        {"asset": c.asset, "check": c.check, "severity": c.severity, "description": c.description}
        for c in outcome.failed_checks
        if c.severity == "ERROR"
    ]
    parts = []
    if outcome.blocked_syncs:
        parts.append(f"blocked syncs: {', '.join(outcome.blocked_syncs)}")
    if checks:
        parts.append(f"failed checks: {', '.join(c['asset'] + ':' + c['check'] for c in checks)}")
    if outcome.failed_steps:
        parts.append(f"failed steps: {', '.join(outcome.failed_steps)}")
    # A blocking check that fails fails its step (and so the Dagster run); what matters is the sync it stopped.
    kind = "sync_blocked" if outcome.blocked_syncs else "run_failed"
    payload = alerts.build_payload(kind, result.dagster_run, f"segue run: {'; '.join(parts)}", checks, [])
    payload["blocked_assets"] = sorted({*outcome.blocked_syncs, *_skipped(result)})
    payload["blocked_syncs"] = list(outcome.blocked_syncs)
    alerts.send(payload)


def _skipped(result) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED" and e.step_key]
