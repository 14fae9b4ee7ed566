"""Journey decisions as materialization metadata, so Dagster plots them run after run.

After dbt has exited (DuckDB has one writer; see `assets/dbt.py`), one short
read-only connection counts `marts.journey_actions` by journey, decision and
suppression_reason:

- on `marts/journey_actions`: `<journey>/<decision>` for every journey and
  decision (0 when none, so each plot has a point every run) and
  `<journey>/suppressed/<reason>` for every reason seen, plus a table of all;
- on each journey model (`journey_<journey>`, a key of dbt var `journeys`):
  `send`, `holdout`, `suppressed` and `suppressed/<reason>` of that journey.

The counts describe the journey_actions the same run built; when a run built a
journey model but not journey_actions, the journey model gets no counts (the
table would be the previous build's).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from dagster import AssetKey, MetadataValue, TableColumn, TableRecord, TableSchema

from orchestration.project import DBT_PROJECT_DIR

ACTIONS_MODEL = "journey_actions"
DECISIONS = ("send", "holdout", "suppressed")


def declared_journeys(project_file: Path | None = None) -> list[str]:
    """The journeys of dbt var `journeys` (dbt_project.yml), in declaration order."""
    project_file = project_file or DBT_PROJECT_DIR / "dbt_project.yml"
    data = yaml.safe_load(project_file.read_text()) or {}
    journeys = (data.get("vars") or {}).get("journeys") or {}
    return list(journeys) if isinstance(journeys, dict) else []


def _metric_key(journey: str | None, decision: str, reason: str | None) -> str:
    parts = [journey] if journey else []
    parts.append(decision)
    if reason and reason != decision:  # a holdout's reason is `holdout`: said once
        parts.append(reason)
    return "/".join(parts)


def decision_counts(con, relation: str) -> list[tuple[str, str, str | None, int]]:
    """(journey, decision, suppression_reason, actions), grouped in the warehouse."""
    return [
        (str(j), str(d), None if r is None else str(r), int(n))
        for j, d, r, n in con.execute(
            f"select journey, decision, suppression_reason, count(*) from {relation} "
            "group by journey, decision, suppression_reason order by journey, decision, suppression_reason"
        ).fetchall()
    ]


def journey_metadata(warehouse: str | Path, asset_keys: Iterable[AssetKey | None]) -> dict[AssetKey, dict]:
    """Metadata to add to the materializations of journey_actions and the journey models among `asset_keys`."""
    keys = [k for k in asset_keys if k is not None and len(k.path) == 2]
    actions_key = next((k for k in keys if k.path[-1] == ACTIONS_MODEL), None)
    warehouse = Path(warehouse)
    if actions_key is None or not warehouse.exists():
        return {}
    import duckdb

    schema = actions_key.path[0]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, ACTIONS_MODEL],
        ).fetchone()[0]
        if not exists:
            return {}
        rows = decision_counts(con, f'"{schema}"."{ACTIONS_MODEL}"')
    finally:
        con.close()

    journeys = list(dict.fromkeys([*declared_journeys(), *(j for j, _, _, _ in rows)]))
    out: dict[AssetKey, dict] = {}

    actions_counts: dict[str, int] = {f"{j}/{d}": 0 for j in journeys for d in DECISIONS}
    per_journey: dict[str, dict[str, int]] = {j: dict.fromkeys(DECISIONS, 0) for j in journeys}
    for journey, decision, reason, n in rows:
        per_journey[journey][decision] = per_journey[journey].get(decision, 0) + n
        actions_counts[f"{journey}/{decision}"] = actions_counts.get(f"{journey}/{decision}", 0) + n
        if reason and reason != decision:
            per_journey[journey][_metric_key(None, decision, reason)] = n
            actions_counts[_metric_key(journey, decision, reason)] = n
    actions_meta: dict = {k: MetadataValue.int(v) for k, v in actions_counts.items()}
    actions_meta["actions_by_reason"] = MetadataValue.table(
        records=[
            TableRecord({"journey": j, "decision": d, "suppression_reason": r or "", "actions": n})
            for j, d, r, n in rows
        ],
        schema=TableSchema(
            columns=[
                TableColumn("journey", "string"),
                TableColumn("decision", "string"),
                TableColumn("suppression_reason", "string"),
                TableColumn("actions", "int"),
            ]
        ),
    )
    out[actions_key] = actions_meta

    by_name = {k.path[-1]: k for k in keys}
    for journey, counts in per_journey.items():
        key = by_name.get(f"journey_{journey}")
        if key is not None:
            out[key] = {k: MetadataValue.int(v) for k, v in counts.items()}
    return out
