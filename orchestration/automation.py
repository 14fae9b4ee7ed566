"""Schedules, the raw-arrivals sensor and the alert sensors (README: "Schedules, sensors, alerts").

Everything here is derived from the asset graph of the base `Definitions` (by
group), so jobs and schedules for groups that other modules add (journeys,
syncs, identity, profiles, segments) appear once those assets exist; a
schedule whose groups are not in the graph yet is not defined.

- `segue_hourly_schedule` (minute 5 of every hour, UTC): groups journeys and syncs, with
  what they read except the nightly groups;
- `segue_nightly_schedule` (02:00 UTC): groups identity, profiles, segments and what they read;
- one `<sync model>_schedule` per sync whose `meta.sync.schedule` declares a cron (UTC): job
  `<sync model>` runs that sync with what it reads, except the nightly groups;
- `raw_arrivals_sensor` (polls every 5 minutes): a `segue_build` run when the row counts
  of the `raw` tables changed;
- `segue_run_failure_alert` (any failed run) and `segue_sync_blocked_alert` (a successful
  run in which a check failed): JSON to SEGUE_ALERT_WEBHOOK_URL, else the log;
- declarative automation, `segue_sync_automation_sensor`: every asset of group `syncs`
  (the sync models, their gx_suite checks and the sync assets) follows its data
  (`AutomationCondition.eager()`, and never past a failed blocking check), so
  a run that refreshed what a sync reads (the nightly build, a UI
  materialization) is followed by the sync without waiting for the next cron.
"""

import hashlib
import json
import logging
import os

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from orchestration import alerts, engines, settings
from orchestration.assets.quality import build_quality_checks
from orchestration.runner import ALERTED_TAG

logger = logging.getLogger("segue.automation")

HOURLY_GROUPS = ("journeys", "syncs")
NIGHTLY_GROUPS = ("identity", "profiles", "segments")
HOURLY_CRON = os.environ.get("SEGUE_HOURLY_CRON", "").strip() or "5 * * * *"
NIGHTLY_CRON = os.environ.get("SEGUE_NIGHTLY_CRON", "").strip() or "0 2 * * *"
RAW_SCHEMA = "raw"
BUILD_JOB = "segue_build"
SENSOR_INTERVAL_SECONDS = 300
SYNC_GROUP = "syncs"
AUTOMATION_SENSOR = "segue_sync_automation_sensor"
AUTOMATION_INTERVAL_SECONDS = 60
ACTIVE_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def _groups_present(graph, groups) -> list[str]:
    present = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    return [g for g in groups if g in present]


def hourly_selection(graph):
    """Journeys and syncs with what they read, except the nightly groups (their last nightly build counts)."""
    groups = _groups_present(graph, HOURLY_GROUPS)
    if not groups:
        return None
    nightly = _groups_present(graph, NIGHTLY_GROUPS)
    selection = AssetSelection.groups(*groups).upstream()
    if nightly:
        selection = selection - AssetSelection.groups(*nightly)
    return selection


def nightly_selection(graph):
    groups = _groups_present(graph, NIGHTLY_GROUPS)
    return AssetSelection.groups(*groups).upstream() if groups else None


def sync_schedule_targets(graph) -> list[tuple[str, str, AssetSelection]]:
    """(sync model, cron, selection) for every sync asset whose `meta.sync.schedule` is set.

    The selection is the sync and what it reads, walking upstream but stopping at
    the nightly groups (identity, profiles, segments: their last nightly build
    counts, as for the hourly schedule) and at source assets: a sync over the
    profiles re-runs its model and sends; a sync over journey actions also
    refreshes the journeys and the staging models they read.
    """
    nightly = set(_groups_present(graph, NIGHTLY_GROUPS))
    targets = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        metadata = node.metadata or {}
        cron = str(metadata.get("schedule") or "").strip()
        model = str(metadata.get("model") or "")
        if node.group_name != SYNC_GROUP or not cron or not model:
            continue
        keys, todo = {key}, [key]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent in keys or not graph.has(parent):
                    continue
                upstream = graph.get(parent)
                if upstream.group_name in nightly or not upstream.is_materializable:
                    continue
                keys.add(parent)
                todo.append(parent)
        targets.append((model, cron, AssetSelection.assets(*keys)))
    return targets


def sync_automation_condition() -> AutomationCondition:
    """A sync model or sync asset runs when what it reads updated (not in a run that already ran it),
    never while a parent is missing or in progress, and never past a failed blocking check upstream."""
    return (AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()).with_label(
        "sync follows its data"
    )


def with_sync_automation(assets: list) -> list:
    """The same assets, with `sync_automation_condition()` on every spec of group `syncs`."""
    condition = sync_automation_condition()

    def mapped(spec):
        return spec.replace_attributes(automation_condition=condition) if spec.group_name == SYNC_GROUP else spec

    out = []
    for item in assets:
        if isinstance(item, AssetsDefinition) and any(spec.group_name == SYNC_GROUP for spec in item.specs):
            item = item.map_asset_specs(mapped)
        out.append(item)
    return out


def sync_automation_sensor() -> AutomationConditionSensorDefinition:
    return AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=AssetSelection.groups(SYNC_GROUP),
        default_status=DefaultSensorStatus.RUNNING if settings.automation_on() else DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
        run_tags={"segue/trigger": AUTOMATION_SENSOR},
        description=(
            "Declarative automation of group syncs: a sync model and its sync run after what they read "
            "updated (e.g. right after the nightly build refreshed profiles), unless a blocking check "
            "upstream failed. Runs that already ran a sync are not repeated."
        ),
    )


def raw_table_counts(warehouse: str) -> dict[str, int]:
    """Rows per table of schema `raw`, through one short read-only connection."""
    import duckdb

    con = duckdb.connect(warehouse, read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by table_name",
                [RAW_SCHEMA],
            ).fetchall()
        ]
        if not tables:
            return {}
        union = " union all ".join(
            f'select \'{t}\' as t, count(*) as n from "{RAW_SCHEMA}"."{t}"' for t in tables if '"' not in t
        )
        return {t: int(n) for t, n in con.execute(union).fetchall()}
    finally:
        con.close()


@sensor(
    name="raw_arrivals_sensor",
    job_name=BUILD_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    description=(
        "Starts a segue_build run when the row counts of the raw tables change (new rows landed). "
        "Polls through a short read-only DuckDB connection, never while a run is in progress."
    ),
    default_status=DefaultSensorStatus.RUNNING if settings.automation_on() else DefaultSensorStatus.STOPPED,
)
def raw_arrivals_sensor(context: SensorEvaluationContext):
    warehouse = settings.warehouse_path()
    if not os.path.exists(warehouse):
        return SkipReason(f"no warehouse at {warehouse}")
    # DuckDB has one writer: a reader now would make the running build fail to take its lock.
    active = context.instance.get_run_records(RunsFilter(statuses=ACTIVE_STATUSES), limit=1)
    if active:
        return SkipReason(f"run {active[0].dagster_run.run_id} is in progress; the warehouse is not read now")
    import duckdb

    try:
        counts = raw_table_counts(warehouse)
    except duckdb.Error as exc:
        return SkipReason(f"warehouse busy or unreadable ({type(exc).__name__}); trying again next tick")
    if not counts:
        return SkipReason(f"schema {RAW_SCHEMA} has no tables in {warehouse}")
    previous = json.loads(context.cursor) if context.cursor else None
    context.update_cursor(json.dumps(counts, sort_keys=True))
    if previous is None:
        return SkipReason(f"first look at {len(counts)} raw tables: counts recorded, next change starts a run")
    changed = {t: (previous.get(t, 0), n) for t, n in counts.items() if previous.get(t) != n}
    if not changed:
        return SkipReason("no new raw rows")
    digest = hashlib.sha256(json.dumps(counts, sort_keys=True).encode()).hexdigest()[:16]
    return RunRequest(
        run_key=f"raw-{digest}",
        tags={
            "segue/trigger": "raw_arrivals_sensor",
            "segue/raw_changed": ",".join(f"{t}:{a}->{b}" for t, (a, b) in sorted(changed.items()))[:1000],
        },
    )


@run_failure_sensor(
    name="segue_run_failure_alert",
    description="Alerts when a run fails: JSON to SEGUE_ALERT_WEBHOOK_URL, else the log.",
    monitor_all_code_locations=False,
    default_status=DefaultSensorStatus.RUNNING,
)
def run_failure_alert(context: RunFailureSensorContext):
    run = context.dagster_run
    if (run.tags or {}).get(ALERTED_TAG):
        return SkipReason(f"run {run.run_id} sent its own alert (segue run)")
    message = context.failure_event.message or "run failed"
    checks = alerts.failed_checks(context.instance, run.run_id)
    skipped = alerts.skipped_steps(context.instance, run.run_id)
    where = alerts.send(alerts.build_payload("run_failed", run, message, checks, skipped))
    context.log.info(f"alert for failed run {run.run_id} sent to {where}")
    return None


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="segue_sync_blocked_alert",
    description=(
        "Alerts when a run succeeded but a blocking data-quality check failed in it "
        "(what it blocked did not run): JSON to SEGUE_ALERT_WEBHOOK_URL, else the log."
    ),
    default_status=DefaultSensorStatus.RUNNING,
)
def sync_blocked_alert(context: RunStatusSensorContext):
    run = context.dagster_run
    if (run.tags or {}).get(ALERTED_TAG):
        return SkipReason(f"run {run.run_id} sent its own alert (segue run)")
    checks = [c for c in alerts.failed_checks(context.instance, run.run_id) if c["severity"] == "ERROR"]
    if not checks:
        return SkipReason("no failed check")
    skipped = alerts.skipped_steps(context.instance, run.run_id)
    names = ", ".join(f"{c['asset']}:{c['check']}" for c in checks)
    alerts.send(alerts.build_payload("sync_blocked", run, f"data-quality checks failed: {names}", checks, skipped))
    return None


def automation_sensors(graph) -> list:
    """The automation sensor, when some asset of group `syncs` carries an automation condition."""
    nodes = [graph.get(k) for k in graph.get_all_asset_keys()]
    automated = [n for n in nodes if n.group_name == SYNC_GROUP and n.automation_condition is not None]
    return [sync_automation_sensor()] if automated else []


def quality_and_automation(base: Definitions) -> Definitions:
    """Asset checks from expectations/, and the jobs, schedules and sensors for `base`'s asset graph."""
    graph = base.resolve_asset_graph()
    jobs, schedules = [], []
    status = DefaultScheduleStatus.RUNNING if settings.automation_on() else DefaultScheduleStatus.STOPPED
    for name, selection, cron, what in (
        ("segue_hourly", hourly_selection(graph), HOURLY_CRON, "journeys and syncs"),
        ("segue_nightly", nightly_selection(graph), NIGHTLY_CRON, "identity, profiles and segments"),
    ):
        if selection is None:
            continue
        job = define_asset_job(name=name, selection=selection, description=f"Refresh {what}.")
        jobs.append(job)
        schedules.append(
            ScheduleDefinition(
                name=f"{name}_schedule",
                job=job,
                cron_schedule=cron,
                execution_timezone="UTC",
                default_status=status,
                description=f"Refresh {what} ({cron}, UTC).",
            )
        )
    for model, cron, selection in sync_schedule_targets(graph):
        job = define_asset_job(
            name=model, selection=selection, description=f"Sync {model} with what it reads (meta.sync.schedule)."
        )
        jobs.append(job)
        schedules.append(
            ScheduleDefinition(
                name=f"{model}_schedule",
                job=job,
                cron_schedule=cron,
                execution_timezone="UTC",
                default_status=status,
                description=f"Sync {model} ({cron}, UTC, from its meta.sync.schedule).",
            )
        )
    # The GX suites and the raw-arrivals sensor read the DuckDB file: not on other dbt targets.
    on_duckdb = engines.uses_duckdb()
    return Definitions(
        asset_checks=build_quality_checks(base) if on_duckdb else [],
        jobs=jobs,
        schedules=schedules,
        sensors=[
            *([raw_arrivals_sensor] if on_duckdb else []),
            run_failure_alert,
            sync_blocked_alert,
            *automation_sensors(graph),
        ],
    )
