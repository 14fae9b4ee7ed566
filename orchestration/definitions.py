"""Segue's one Dagster `Definitions`, loaded by `workspace.yaml`, `segue run` and the tests."""

from dagster import AssetSelection, Definitions, define_asset_job
from dagster_dbt import DbtCliResource

from orchestration import engines
from orchestration.assets.dbt import RAW_SOURCE_SPECS, segue_dbt_models
from orchestration.assets.syncs import SYNC_ASSETS
from orchestration.automation import quality_and_automation, with_sync_automation
from orchestration.project import dbt_executable, dbt_project

# Everything Segue builds, in dependency order: the job `segue run` launches.
segue_build_job = define_asset_job(
    name="segue_build",
    # The checks too, with those on the raw tables (dbt source tests), which
    # AssetSelection.all() leaves out because the raw tables are external assets.
    selection=AssetSelection.all() | AssetSelection.all_asset_checks(),
    description="Build the whole warehouse side (dbt build with its tests) and, later, the syncs.",
)

# The sync engine reads the DuckDB file; on the postgres and spark dbt targets the
# graph is the dbt project alone (README, "Scaling out").
defs = Definitions(
    # Sync models and syncs carry declarative automation (automation.py).
    assets=[
        *RAW_SOURCE_SPECS,
        *with_sync_automation([segue_dbt_models, *(SYNC_ASSETS if engines.uses_duckdb() else [])]),
    ],
    jobs=[segue_build_job],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())},
)

# Data-quality checks (expectations/), schedules, sensors and alerts, derived from
# the asset graph above so that assets other modules add are picked up by themselves.
defs = Definitions.merge(defs, quality_and_automation(defs))
