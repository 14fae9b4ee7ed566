"""One Dagster asset per `sync_` model, downstream of it, materialized by the sync engine.

The declarations are read from the dbt manifest (`meta.sync`) and validated when
the definitions load; credentials, the warehouse and "now" are read when the
asset runs, never at import. A blocked or failed sync is a failed
materialization whose description says why; the other syncs go ahead.
"""

import os

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure, MaterializeResult, MetadataValue, asset

from destinations.base import ConfigError
from destinations.config import SyncSpec, load_destinations, load_manifest, load_specs, skip_unconfigured, sync_nodes
from orchestration import settings
from orchestration.assets.dbt import MANIFEST_PATH, TRANSLATOR

SYNC_GROUP = "syncs"


def sync_asset_key(spec: SyncSpec) -> AssetKey:
    """`destinations/<instance>/<name>`, e.g. destinations/klaviyo/customers for sync_klaviyo__customers."""
    return AssetKey(["destinations", spec.destination, spec.name.split("__", 1)[-1]])


def forced_syncs() -> set[str]:
    return {s.strip() for s in os.environ.get("SEGUE_FORCE_SYNCS", "").split(",") if s.strip()}


def _metadata(result) -> dict:
    keys = [
        "planned",
        "added",
        "changed",
        "removed",
        "unchanged",
        "sent",
        "succeeded",
        "rejected",
        "failed",
        "skipped",
        "waiting",
        "unknown",
        "requests",
    ]
    metadata = {k: MetadataValue.int(int(getattr(result, k))) for k in keys}
    metadata["rows_per_second"] = MetadataValue.float(round(result.rows_per_second, 1))
    metadata["plan_seconds"] = MetadataValue.float(round(result.plan_seconds, 3))
    metadata["deliver_seconds"] = MetadataValue.float(round(result.deliver_seconds, 3))
    metadata["status"] = MetadataValue.text(result.status)
    metadata["sync_run_id"] = MetadataValue.text(result.sync_run_id)
    return metadata


def _make_sync_asset(spec: SyncSpec, model_key: AssetKey) -> AssetsDefinition:
    @asset(
        key=sync_asset_key(spec),
        deps=[model_key],
        group_name=SYNC_GROUP,
        kinds={spec.destination},
        output_required=False,  # not materialized when skipped as not configured
        description=f"{spec.mode} sync of {spec.name} to {spec.destination} ({spec.object})",
        metadata={
            "model": spec.name,
            "mode": spec.mode,
            "destination_object": spec.object,
            "primary_key": spec.primary_key,
            "schedule": spec.schedule or "",
        },
    )
    def _sync(context: AssetExecutionContext):
        from destinations.engine import run_sync

        dry_run = os.environ.get("SEGUE_DRY_RUN") == "1"
        try:
            instance = load_destinations()[spec.destination]
            missing = instance.missing_credentials()
            if missing and not dry_run and skip_unconfigured():
                # Not materialized: the destination is not set up here (SEGUE_UNCONFIGURED_DESTINATIONS=skip).
                context.log.warning(
                    f"sync {spec.name} skipped: destination {spec.destination!r} is not configured "
                    f"(set {', '.join(missing)})"
                )
                return
            result = run_sync(
                spec,
                instance,
                settings.warehouse_path(),
                settings.as_of_or_now(),
                dry_run=dry_run,
                force=spec.name in forced_syncs(),
                dagster_run_id=context.run_id,
            )
        except ConfigError as exc:
            raise Failure(description=f"sync {spec.name} refused: {exc}", allow_retries=False) from exc
        metadata = _metadata(result)
        if result.status == "blocked":
            raise Failure(description=f"sync {spec.name} blocked: {result.blocked_reason}", metadata=metadata)
        if result.status == "failed":
            raise Failure(description=f"sync {spec.name} failed: {result.error}", metadata=metadata)
        context.log.info(f"sync {spec.name}: {result.status}, {result.succeeded} of {result.sent} rows confirmed")
        yield MaterializeResult(metadata=metadata)

    return _sync


def build_sync_assets() -> list[AssetsDefinition]:
    manifest = load_manifest(MANIFEST_PATH)
    nodes = {n["name"]: n for n in sync_nodes(manifest)}
    specs = load_specs(manifest, credentials=False)  # raises ConfigError naming model and field
    return [_make_sync_asset(spec, TRANSLATOR.get_asset_key(nodes[spec.name])) for spec in specs]


SYNC_ASSETS = build_sync_assets()
