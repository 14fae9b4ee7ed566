"""Great Expectations suites (`expectations/<model>.yml`) as Dagster asset checks.

One check named `gx_suite` per suite file, on the asset of the model the file is
named after (`<schema>/<model>`). A suite whose model is not in the asset graph
registers nothing: suites for models that other branches add appear by
themselves once those models exist.

Blocking: a check is blocking (`blocking=True`: when it fails, nothing downstream
of its asset runs in that run) when any asset in group `syncs` is downstream of
its model, or when its suite says `blocking: true`. So a failing suite on a
sync's inputs stops the sync, whatever the sync is.
"""

import os
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AutomationCondition,
    Definitions,
    Failure,
    MetadataValue,
    asset_check,
)

from orchestration import settings
from orchestration.quality.suites import Suite, load_suites

CHECK_NAME = "gx_suite"
SYNC_GROUP = "syncs"
HISTORY_DEPTH = 50


def data_docs_dir() -> Path:
    """Where GX Data Docs are built: SEGUE_GX_DATA_DOCS_DIR, else $DAGSTER_HOME/gx_data_docs."""
    explicit = os.environ.get("SEGUE_GX_DATA_DOCS_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    home = os.environ.get("DAGSTER_HOME", "").strip() or "dagster_home"
    return Path(home).expanduser().resolve() / "gx_data_docs"


def previous_row_count(instance, check_key: AssetCheckKey, warehouse: str) -> int | None:
    """Row count recorded by the latest passing run of this check on this warehouse (Dagster's event log)."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=HISTORY_DEPTH, status={AssetCheckExecutionRecordStatus.SUCCEEDED}
    )
    for record in records:
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        metadata = getattr(evaluation, "metadata", None) or {}
        if metadata.get("warehouse") is None or metadata.get("row_count") is None:
            continue
        if metadata["warehouse"].value == warehouse:
            return int(metadata["row_count"].value)
    return None


def _blocking_keys(graph) -> set[AssetKey]:
    """Every asset upstream of an asset in group `syncs`."""
    syncs = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == SYNC_GROUP]
    seen: set[AssetKey] = set()
    stack = list(syncs)
    while stack:
        for parent in graph.get(stack.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _model_keys(graph) -> dict[str, AssetKey]:
    """Materializable `<schema>/<model>` asset keys by model name."""
    keys = {}
    for key in graph.materializable_asset_keys:
        if len(key.path) == 2:
            keys.setdefault(key.path[-1], key)
    return keys


def build_gx_check(suite: Suite, asset_key: AssetKey, blocking: bool, automation_condition=None):
    description = suite.description or f"Great Expectations suite {suite.path.name}"
    reason = "blocks everything downstream (a sync reads it)" if blocking else "non-blocking"
    source = f"expectations/{suite.path.name}" if suite.path.exists() else "derived from meta.sync"

    @asset_check(
        asset=asset_key,
        name=CHECK_NAME,
        blocking=blocking,
        description=f"{description} [suite: {source}; {reason}]",
        metadata={"suite_file": MetadataValue.path(str(suite.path)), "blocking": blocking},
        automation_condition=automation_condition,
    )
    def _gx_check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        from orchestration.quality.validate import ModelMissingError, run_suite

        try:
            warehouse = settings.warehouse_path()
            docs_dir = data_docs_dir() if settings.gx_data_docs() else None
        except settings.SettingsError as exc:
            raise Failure(description=str(exc), allow_retries=False) from exc
        check_key = AssetCheckKey(asset_key, CHECK_NAME)
        previous = previous_row_count(context.instance, check_key, warehouse)
        try:
            outcome = run_suite(
                suite,
                warehouse,
                schema=asset_key.path[0],
                previous_row_count=previous,
                as_of=settings.as_of_or_now(),
                docs_dir=docs_dir,
            )
        except ModelMissingError as exc:
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=str(exc),
                metadata={"warehouse": warehouse},
            )
        failures = outcome.failures
        metadata = {
            "warehouse": warehouse,
            "row_count": outcome.row_count,
            "previous_row_count": previous if previous is not None else "none (first run on this warehouse)",
            "failed_expectations": ", ".join(failures) if failures else "none",
            "evaluated": len(outcome.results),
            "batches": outcome.batches,
            "results": MetadataValue.json({name: r.as_dict() for name, r in outcome.results.items()}),
            "suite_file": MetadataValue.path(str(suite.path)),
        }
        if outcome.docs_path:
            metadata["data_docs"] = MetadataValue.url(Path(outcome.docs_path).as_uri())
        if failures:
            text = f"{suite.model}: {len(failures)} of {len(outcome.results)} failed: {', '.join(failures)}"
        else:
            text = f"{suite.model}: all {len(outcome.results)} expectations passed on {outcome.row_count} rows"
        return AssetCheckResult(
            passed=not failures,
            severity=AssetCheckSeverity.ERROR,
            description=text,
            metadata=metadata,
        )

    return _gx_check


def sync_suites() -> dict[str, Suite]:
    """The derived suite of every declared sync model, by model name."""
    from destinations.config import load_manifest, load_specs
    from orchestration.assets.dbt import MANIFEST_PATH
    from orchestration.quality.sync_suites import derived_suite

    return {spec.name: derived_suite(spec) for spec in load_specs(load_manifest(MANIFEST_PATH), credentials=False)}


def build_quality_checks(base: Definitions, suites: dict[str, Suite] | None = None) -> list:
    """One asset check per suite whose model is in `base`'s asset graph."""
    graph = base.resolve_asset_graph()
    if suites is None:
        # A sync model without a suite file gets the one its meta.sync implies (quality/sync_suites.py).
        suites = {**sync_suites(), **load_suites()}
    keys = _model_keys(graph)
    blocking_keys = _blocking_keys(graph)
    checks = []
    for model, suite in sorted(suites.items()):
        key = keys.get(model)
        if key is None:
            continue  # the model is not in this project (yet): its suite waits for it
        blocking = suite.blocking == "true" or (suite.blocking == "auto" and key in blocking_keys)
        # A check on an automated asset (group syncs) runs with it (automation.py).
        automated = graph.get(key).automation_condition is not None
        checks.append(build_gx_check(suite, key, blocking, AutomationCondition.eager() if automated else None))
    return checks
