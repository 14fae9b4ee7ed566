"""dbt models as Dagster assets, dbt tests as asset checks, dbt sources as external assets.

Groups and descriptions come from the dbt project itself (folder path and YAML),
never from a list of model names kept here.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetMaterialization, AssetSpec, Failure, MetadataValue, Output
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration import engines, raw_contract, settings
from orchestration.assets.journey_metadata import journey_metadata
from orchestration.project import dbt_project, ensure_manifest

MANIFEST_PATH = ensure_manifest()


class SegueDbtTranslator(DagsterDbtTranslator):
    """Read Dagster groups from where a model lives in the dbt project.

    `models/staging/shop/stg_shop__orders.sql` has the fqn
    `[segue, staging, shop, stg_shop__orders]` and lands in group `staging`; a
    dbt `group:` config wins where one is set. Sources land in a group named
    after their schema (`raw`); seeds (lookup tables) in `reference`.
    """

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return str(dbt_resource_props.get("schema") or "raw")
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        configured = dbt_resource_props.get("config", {}).get("group")
        if configured:
            return str(configured)
        fqn = dbt_resource_props.get("fqn", [])
        return str(fqn[1]) if len(fqn) > 2 else "default"

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        description = (dbt_resource_props.get("description") or "").strip()
        if description:
            return description
        kind, name = dbt_resource_props["resource_type"], dbt_resource_props["name"]
        return f"dbt {kind} {name} (no description in YAML)"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        """Owners from dbt YAML: `meta.owner` (an email or a team, or a list), else the dbt group's owner.

        An email stays an email; any other name becomes a Dagster team (`team:<name>`).
        """
        meta = {**(dbt_resource_props.get("config", {}).get("meta") or {}), **(dbt_resource_props.get("meta") or {})}
        declared = meta.get("owner") or (meta.get("dagster") or {}).get("owners")
        if not declared:
            # dagster-dbt passes the group's own properties (a mapping) where the node has a group.
            group = dbt_resource_props.get("group") or dbt_resource_props.get("config", {}).get("group")
            owner = group.get("owner") if isinstance(group, Mapping) else _dbt_group_owners().get(group or "")
            declared = owner and (owner.get("email") or owner.get("name"))
        if not declared:
            return None
        names = [declared] if isinstance(declared, str) else list(declared)
        return [_as_dagster_owner(str(n)) for n in names if str(n).strip()] or None


def _as_dagster_owner(name: str) -> str:
    name = name.strip()
    if "@" in name or name.startswith("team:"):
        return name
    return f"team:{name}"


_GROUP_OWNERS: dict[str, dict] | None = None


def _dbt_group_owners() -> dict[str, dict]:
    """dbt groups (`groups:` in YAML) by name, with their `owner` mapping, read once from the manifest."""
    global _GROUP_OWNERS
    if _GROUP_OWNERS is None:
        manifest = json.loads(MANIFEST_PATH.read_text())
        _GROUP_OWNERS = {g["name"]: g.get("owner") or {} for g in manifest.get("groups", {}).values()}
    return _GROUP_OWNERS


TRANSLATOR = SegueDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
)


def _raw_source_specs() -> list[AssetSpec]:
    """One external asset per dbt source, so the graph starts at the raw tables."""
    manifest = json.loads(MANIFEST_PATH.read_text())
    specs = []
    for props in manifest.get("sources", {}).values():
        specs.append(
            AssetSpec(
                key=TRANSLATOR.get_asset_key(props),
                group_name=TRANSLATOR.get_group_name(props),
                description=TRANSLATOR.get_description(props),
                metadata={
                    "relation": f"{props['schema']}.{props['name']}",
                    "loaded_by": "your EL tool, or `segue generate` for the sample retailer",
                },
                kinds={"duckdb"},
            )
        )
    return specs


RAW_SOURCE_SPECS = _raw_source_specs()


@dbt_assets(manifest=MANIFEST_PATH, project=dbt_project, dagster_dbt_translator=TRANSLATOR)
def segue_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build`: every selected model, seed and test, in dependency order."""
    warehouse = settings.warehouse_path()
    try:
        engines.check_raw(warehouse)
    except (raw_contract.RawContractError, engines.EngineError) as exc:
        raise Failure(
            description=str(exc),
            metadata={"warehouse": MetadataValue.path(warehouse)},
            allow_retries=False,
        ) from exc
    # Unit tests run in `make test` (tests/dbt), not on every production build.
    # Tests run only when all the models they touch are selected (a subset run
    # must not test relations it did not build).
    args = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"]
    try:
        dbt_vars = settings.dbt_vars()  # SEGUE_AS_OF, SEGUE_STAGING_INCREMENTAL, SEGUE_IDENTITY_INCREMENTAL
    except settings.SettingsError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    # dagster-dbt's fetch_row_counts() opens the profile's connection from a second
    # process while dbt still writes, which DuckDB's single-writer lock forbids
    # (and it cannot open our in-memory catalog). So the events are held until dbt
    # has exited, then annotated with row counts read in one short connection.
    events = list(dbt.cli(args, context=context).stream())

    def key_of(event):
        if isinstance(event, Output):
            return context.asset_key_for_output(event.output_name)
        return event.asset_key if isinstance(event, AssetMaterialization) else None

    keys = [key_of(ev) for ev in events]
    counts = _row_counts(warehouse, keys) if engines.uses_duckdb() else {}
    # Journey decisions (send/holdout/suppressed by reason), plotted per run: assets/journey_metadata.py.
    extra = journey_metadata(warehouse, keys) if engines.uses_duckdb() else {}
    for event, key in zip(events, keys, strict=True):
        if key in counts or key in extra:
            metadata = {**event.metadata, **extra.get(key, {})}
            if key in counts:
                metadata["dagster/row_count"] = counts[key]
            event = event.with_metadata(metadata)
        yield event


def _row_counts(warehouse, asset_keys) -> dict:
    """Rows of each built relation named `<schema>/<table>` by its asset key; views and missing ones skipped."""
    import duckdb

    wanted = {tuple(key.path): key for key in asset_keys if key is not None and len(key.path) == 2}
    warehouse = Path(warehouse)
    if not wanted or not warehouse.exists():
        return {}
    counts = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
            ).fetchall()
        }
        for path, key in wanted.items():
            if path in tables:
                schema, name = path
                counts[key] = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
    finally:
        con.close()
    return counts
